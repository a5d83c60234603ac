#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FuelModel
import FuelWire
import Logging
import NIOConcurrencyHelpers

/// A device key as stored: in force, or pending (offered with CN 1014, not confirmed yet).
public struct HJ212StoredKey: Sendable, Equatable {
    public var mn: String
    public var key: [UInt8]
    public var since: Date
    public var origin: String
    public var pending: Bool

    public init(mn: String, key: [UInt8], since: Date, origin: String, pending: Bool) {
        self.mn = mn
        self.key = key
        self.since = since
        self.origin = origin
        self.pending = pending
    }
}

/// Where device keys are kept across restarts: PostgreSQL in the cloud, the spool at the station.
public protocol HJ212KeyStorage: Sendable {
    /// Every stored key.
    func keys() async throws -> [HJ212StoredKey]
    /// A configured key's first sighting (its age counts from then); answers that time.
    func noteConfigured(mn: String, key: [UInt8], origin: String) async throws -> Date
    /// Stores a key (before the device is answered, so a restart keeps it).
    func store(mn: String, key: [UInt8], since: Date, origin: String, pending: Bool) async throws
    /// An error as the operator should read it.
    func describe(_ error: any Error) -> String
}

/// The SM4 keys of HJ 212-2025 devices over time: configured keys (the feeds file's `sm4_key`, a
/// key file), keys a device announced with CN 1014, keys the platform gave it with CN 1014 once
/// its key was `key_rotate_after` old. Packets read it under a lock without a storage round trip;
/// every change is stored first. Shared by the cloud's listener and the station agent's.
public final class HJ212KeyBook: Sendable {
    struct State {
        var rings: [String: HJ212KeyRing] = [:]
        /// Keys offered with CN 1014: QN → (MN, key), until the device answers.
        var offers: [String: (mn: String, key: [UInt8])] = [:]
    }

    let devices: Set<String>
    let overlap: Duration
    let rotateAfter: Duration
    let storage: any HJ212KeyStorage
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    public init(devices: [FeedsFile.HJ212Device], keyFile: [String: [HJ212KeyRing.Key]], overlap: Duration, rotateAfter: Duration,
                storage: any HJ212KeyStorage, logger: Logger) {
        self.devices = Set(devices.map(\.mn))
        self.overlap = overlap
        self.rotateAfter = rotateAfter
        self.storage = storage
        self.logger = logger
        var rings: [String: HJ212KeyRing] = [:]
        for d in devices {
            var ring = HJ212KeyRing()
            if let k = d.sm4Key { ring.adopt(.init(bytes: k, since: nil, origin: .feedsFile)) }
            for k in keyFile[d.mn] ?? [] { ring.adopt(k) }
            rings[d.mn] = ring
        }
        state.withLockedValue { $0.rings = rings }
    }

    /// Every device's keys as they stand.
    public var rings: [String: HJ212KeyRing] { state.withLockedValue { $0.rings } }

    /// Reads the keys stored by earlier CN 1014 exchanges and dates the configured keys (their age
    /// counts from when they were first seen, unless the key file gives `since`).
    public func load() async throws {
        let stored = try await storage.keys()
        var dated: [(String, HJ212KeyRing.Key)] = []
        for (mn, ring) in rings {
            for k in ring.keys where k.since == nil {
                let since = try await storage.noteConfigured(mn: mn, key: k.bytes, origin: k.origin.rawValue)
                dated.append((mn, HJ212KeyRing.Key(bytes: k.bytes, since: Timestamp(since), origin: k.origin)))
            }
        }
        state.withLockedValue { s in
            for (mn, k) in dated { s.rings[mn]?.adopt(k) }
            for k in stored where devices.contains(k.mn) {
                let key = HJ212KeyRing.Key(bytes: k.key, since: Timestamp(k.since), origin: HJ212KeyRing.Origin(rawValue: k.origin) ?? .device)
                if k.pending { s.rings[k.mn, default: HJ212KeyRing()].pending = key } else { s.rings[k.mn, default: HJ212KeyRing()].adopt(key) }
            }
        }
    }

    /// The keys a packet from `mn` may be encrypted with now, most likely first.
    public func usableKeys(_ mn: String) -> [[UInt8]] {
        let now = Timestamp(Date())
        return state.withLockedValue { $0.rings[mn]?.usable(now: now, overlapSeconds: overlap.inSeconds).map(\.bytes) ?? [] }
    }

    /// The key in force for `mn` (what the platform's own encrypted packets to it use).
    public func currentKey(_ mn: String) -> [UInt8]? { state.withLockedValue { $0.rings[mn]?.current?.bytes } }

    /// A key decrypted a packet: a pending key that works is in force from now on.
    public func used(_ key: [UInt8], by mn: String) async {
        let pending = state.withLockedValue { $0.rings[mn]?.pending }
        guard let pending, pending.bytes == key else { return }
        await adopt(key, for: mn, origin: .platform, reason: "the device encrypted with the key it was given")
    }

    /// Puts `key` in force for `mn` (stored first, so a restart keeps it).
    @discardableResult
    public func adopt(_ key: [UInt8], for mn: String, origin: HJ212KeyRing.Origin, reason: String) async -> Bool {
        let now = Date()
        do {
            try await storage.store(mn: mn, key: key, since: now, origin: origin.rawValue, pending: false)
        } catch {
            logger.warning("HJ 212 key change not stored", metadata: ["mn": "\(mn)", "error": "\(storage.describe(error))"])
            return false
        }
        state.withLockedValue { s in
            s.rings[mn, default: HJ212KeyRing()].adopt(.init(bytes: key, since: Timestamp(now), origin: origin))
            s.offers = s.offers.filter { $0.value.mn != mn }
        }
        logger.notice("HJ 212 device key changed", metadata: ["mn": "\(mn)", "origin": "\(origin.rawValue)", "why": "\(reason)"])
        return true
    }

    /// A new key to give `mn` now with CN 1014, if its key is due (`rotateAfter`) and none is on
    /// offer; stored as pending before it is sent. Answers the QN and the key.
    public func offerIfDue(_ mn: String) async -> (qn: String, key: [UInt8])? {
        guard rotateAfter > .zero else { return nil }
        let now = Date()
        let due = state.withLockedValue { s -> Bool in
            guard let ring = s.rings[mn], ring.pending == nil, let age = ring.age(now: Timestamp(now)) else { return false }
            return age >= rotateAfter.inSeconds && !s.offers.values.contains { $0.mn == mn }
        }
        guard due else { return nil }
        var key = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()  // the OS's CSPRNG (getrandom)
        for i in key.indices { key[i] = UInt8.random(in: 0...255, using: &rng) }
        do {
            try await storage.store(mn: mn, key: key, since: now, origin: HJ212KeyRing.Origin.platform.rawValue, pending: true)
        } catch {
            return nil
        }
        let qn = Self.qn(now)
        state.withLockedValue { s in
            s.rings[mn, default: HJ212KeyRing()].pending = .init(bytes: key, since: Timestamp(now), origin: .platform)
            s.offers[qn] = (mn, key)
        }
        return (qn, key)
    }

    /// The device answered a command: 9012 with ExeRtn=1 to our CN 1014 puts the offered key in force.
    public func answered(_ packet: HJ212.Packet) async {
        guard packet.cn == "9012", let qn = packet.qn, let mn = packet.mn else { return }
        let offer = state.withLockedValue { $0.offers[qn] }
        guard let offer, offer.mn == mn else { return }
        if packet.item("ExeRtn") == "1" {
            await adopt(offer.key, for: mn, origin: .platform, reason: "the device confirmed CN 1014 (ExeRtn=1)")
        } else {
            state.withLockedValue { s in
                s.offers[qn] = nil
                s.rings[mn]?.pending = nil
            }
            logger.warning("HJ 212 device refused a new key", metadata: ["mn": "\(mn)", "exe_rtn": "\(packet.item("ExeRtn") ?? "-")"])
        }
    }

    /// A QN (request number) for a command sent at `d`: China Standard Time to the millisecond.
    public static func qn(_ d: Date) -> String {
        // China Standard Time is UTC+8 all year (no daylight saving since 1991): a fixed offset, which
        // needs no zone database (the agent runs without ICU).
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: d)
        func p(_ n: Int, _ width: Int) -> String { PlainFormat.padded(n, width: width) }
        return p(c.year!, 4) + p(c.month!, 2) + p(c.day!, 2) + p(c.hour!, 2) + p(c.minute!, 2) + p(c.second!, 2)
            + p((c.nanosecond ?? 0) / 1_000_000, 3)
    }
}

/// The key book alone keeps a device: the station agent has no device state of its own to keep
/// (the cloud follows each device's data from the records the agent uploads).
extension HJ212KeyBook: HJ212DeviceKeeping {
    public func connected(_ mn: String) async {}
    public func heard(_ mn: String, station: String, edition: HJ212.Version, upload: (cn: String, at: Timestamp, resent: Bool)?) {}
}
