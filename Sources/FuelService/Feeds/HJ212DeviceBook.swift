import FuelDetect
import FuelFeeds
import FuelModel
import FuelStore
import FuelWire
import AsyncAlgorithms
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// What the listener knows of each HJ 212 device beyond its registration: its SM4 keys over time
/// (feeds file, key file, CN 1014 exchanges) and its feed state (last heard, data it still owes).
/// Packets read and update it under a lock, without a database round trip; a background loop
/// writes the state to PostgreSQL and raises or resolves the devices' alerts:
/// - `telemetry_gap` on subject `device <MN>`: silent longer than `offline_after`, kept open while
///   the device owes data after it came back, resolved once its resent (RF=1) packets filled the gap;
/// - `feed_key` on the same subject: the key in force is older than `key_max_age` (a warning).
public final class HJ212DeviceBook: HJ212DeviceKeeping {
    struct State {
        var feeds: [String: DeviceFeedState] = [:]
        var dirty: Set<String> = []
        /// Devices whose stored state was read (the first packet of a connection reads it again).
        var loaded: Set<String> = []
    }

    let devices: [String: FeedsFile.HJ212Device]
    let settings: HJ212ListenerSettings
    let store: HJ212DeviceStore
    let logger: Logger
    /// The devices' SM4 keys (shared with the station agent's listener), stored in PostgreSQL.
    let keys: HJ212KeyBook
    private let state = NIOLockedValueBox(State())

    public init(devices: [FeedsFile.HJ212Device], keyFile: [String: [HJ212KeyRing.Key]], settings: HJ212ListenerSettings,
                store: HJ212DeviceStore, logger: Logger) {
        self.devices = Dictionary(devices.map { ($0.mn, $0) }, uniquingKeysWith: { a, _ in a })
        self.settings = settings
        self.store = store
        self.logger = logger
        keys = HJ212KeyBook(devices: devices, keyFile: keyFile, overlap: settings.keyOverlap, rotateAfter: settings.keyRotateAfter,
                            storage: PostgresHJ212KeyStorage(store: store), logger: logger)
    }

    /// Reads the keys stored by earlier CN 1014 exchanges and dates the configured keys.
    public func load() async throws { try await keys.load() }

    // MARK: keys (HJ212KeyBook)

    public func usableKeys(_ mn: String) -> [[UInt8]] { keys.usableKeys(mn) }
    public func currentKey(_ mn: String) -> [UInt8]? { keys.currentKey(mn) }
    public func used(_ key: [UInt8], by mn: String) async { await keys.used(key, by: mn) }
    public func adopt(_ key: [UInt8], for mn: String, origin: HJ212KeyRing.Origin, reason: String) async -> Bool {
        await keys.adopt(key, for: mn, origin: origin, reason: reason)
    }
    public func offerIfDue(_ mn: String) async -> (qn: String, key: [UInt8])? { await keys.offerIfDue(mn) }
    public func answered(_ packet: HJ212.Packet) async { await keys.answered(packet) }

    // MARK: feed state

    /// The first packet of a connection: the device's stored state is read again (it may have been
    /// connected to another daemon meanwhile).
    public func connected(_ mn: String) async {
        guard let rows = try? await store.rows(mns: [mn]) else { return }
        state.withLockedValue { s in
            if let row = rows.first, let feed = Self.feed(row), !s.dirty.contains(mn) { s.feeds[mn] = feed }
            s.loaded.insert(mn)
        }
    }

    func isLoaded(_ mn: String) -> Bool { state.withLockedValue { $0.loaded.contains(mn) } }

    /// A packet from an authenticated device; `upload` is its CN and data time for a data upload.
    public func heard(_ mn: String, station: String, edition: HJ212.Version, upload: (cn: String, at: Timestamp, resent: Bool)?) {
        let now = Date()
        let hole = settings.offlineAfter.inSeconds
        state.withLockedValue { s in
            var feed = s.feeds[mn] ?? DeviceFeedState(mn: mn, station: station, edition: edition.rawValue, seenAt: Timestamp(now))
            feed.station = station
            feed.heard(at: Timestamp(now), edition: edition.rawValue)
            if let u = upload { feed.upload(cn: u.cn, at: u.at, resent: u.resent, holeAfterSeconds: hole) }
            s.feeds[mn] = feed
            s.dirty.insert(mn)
        }
    }

    func feed(_ mn: String) -> DeviceFeedState? { state.withLockedValue { $0.feeds[mn] } }

    static func feed(_ r: HJ212DeviceStore.Row) -> DeviceFeedState? {
        var f = DeviceFeedState(mn: r.mn, station: r.station, edition: r.edition, seenAt: Timestamp(r.firstSeenAt))
        f.lastSeenAt = Timestamp(r.lastSeenAt)
        f.packets = r.packets
        f.resent = r.resent
        f.series = (try? JSONDecoder().decode([String: DeviceFeedState.Series].self, from: Data(r.series.utf8))) ?? [:]
        return f
    }

    static func row(_ f: DeviceFeedState) -> HJ212DeviceStore.Row {
        let series = (try? JSONEncoder().encode(f.series)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return HJ212DeviceStore.Row(mn: f.mn, station: f.station, edition: f.edition, firstSeenAt: f.firstSeenAt.date, lastSeenAt: f.lastSeenAt.date,
                                    lastDataAt: f.lastDataAt?.date, packets: f.packets, resent: f.resent, series: series)
    }

    /// Writes the state of the devices heard from since the last flush.
    public func flush() async throws {
        let rows = state.withLockedValue { s -> [HJ212DeviceStore.Row] in
            let out = s.dirty.compactMap { s.feeds[$0].map(Self.row) }
            s.dirty.removeAll()
            return out
        }
        do {
            try await store.save(rows)
        } catch {
            state.withLockedValue { s in for r in rows { s.dirty.insert(r.mn) } }
            throw error
        }
    }

    /// Writes state, then raises and resolves the devices' alerts from what is stored (every
    /// daemon's view of its devices), and the key-age warnings from the keys.
    public func sweep(now: Date = Date()) async throws {
        try await flush()
        let rows = try await store.rows(mns: Array(devices.keys))
        let open = try await store.openDeviceAlerts()
        var raise: [AlertSignal] = []
        var resolve: [(fingerprint: String, reason: String)] = []
        let t = Timestamp(now)
        for row in rows {
            guard let feed = Self.feed(row), let device = devices[row.mn] else { continue }
            let subject = "device \(row.mn)"
            let fp = AlertSignal.fingerprint(rule: .telemetryGap, station: device.station, subject: subject)
            let evidence = open[fp]
            var base: [String: EvidenceValue] = [
                "device": .text(row.mn), "last_seen_at": .text(feed.lastSeenAt.rfc3339),
            ]
            if let d = feed.lastDataAt { base["last_data_at"] = .text(d.rfc3339) }
            switch feed.verdict(now: t, offlineAfterSeconds: settings.offlineAfter.inSeconds, openAlert: evidence != nil) {
            case .offline(let silent):
                guard evidence == nil else { continue }
                base["finding"] = .text("HJ 212 device silent: no packet for \(Int(silent / 60)) min (offline)")
                base["silent_minutes"] = .number((silent / 60).rounded())
                raise.append(AlertSignal(rule: .telemetryGap, station: device.station, subject: subject, severity: .warning,
                                         openedAt: feed.lastSeenAt, evidence: base, seqFrom: 0, seqTo: 0))
            case .owes(let from, let to):
                // Raised (or its evidence brought up to date) once per change of what is owed.
                guard !(evidence?.contains("\"missing_to\":\"\(to.rfc3339)\"") ?? false) else { continue }
                base["finding"] = .text("HJ 212 device back, but its data from \(from.rfc3339) to \(to.rfc3339) is missing until it is resent (补传)")
                base["missing_from"] = .text(from.rfc3339)
                base["missing_to"] = .text(to.rfc3339)
                raise.append(AlertSignal(rule: .telemetryGap, station: device.station, subject: subject, severity: .warning,
                                         openedAt: from, evidence: base, seqFrom: 0, seqTo: 0))
            case .resolve(let filled):
                resolve.append((fp, filled ? "the device is back and its resent (补传, RF=1) data filled the gap" : "the device is back online"))
            case .none:
                break
            }
        }
        // Key age: only keys whose time in force is known (every configured key is dated by load()).
        let rings = keys.rings
        for (mn, device) in devices {
            let fp = AlertSignal.fingerprint(rule: .feedKey, station: device.station, subject: "device \(mn)")
            guard let ring = rings[mn], let current = ring.current, let age = ring.age(now: t) else { continue }
            if age > settings.keyMaxAge.inSeconds {
                guard open[fp] == nil else { continue }
                raise.append(AlertSignal(
                    rule: .feedKey, station: device.station, subject: "device \(mn)", severity: .warning, openedAt: t,
                    evidence: ["device": .text(mn), "key_since": .text(current.since?.rfc3339 ?? "-"), "key_origin": .text(current.origin.rawValue),
                               "key_age_days": .number((age / 86_400).rounded()), "limit_days": .number(settings.keyMaxAge.inSeconds / 86_400),
                               "finding": .text("the device's SM4 key has been in force for \(Int(age / 86_400)) days; HJ 212-2025 keys are rotated (CN 1014) every 90 days")],
                    seqFrom: 0, seqTo: 0))
            } else if open[fp] != nil {
                resolve.append((fp, "the device's key was rotated"))
            }
        }
        try await store.apply(raise: raise, resolve: resolve)
    }
}

/// The device keys' storage in the cloud: `hj212_device_keys` in PostgreSQL.
struct PostgresHJ212KeyStorage: HJ212KeyStorage {
    let store: HJ212DeviceStore

    func keys() async throws -> [HJ212StoredKey] {
        try await store.keys().map { HJ212StoredKey(mn: $0.mn, key: $0.key, since: $0.since, origin: $0.origin, pending: $0.pending) }
    }
    func noteConfigured(mn: String, key: [UInt8], origin: String) async throws -> Date {
        try await store.noteConfigured(mn: mn, key: key, origin: origin)
    }
    func store(mn: String, key: [UInt8], since: Date, origin: String, pending: Bool) async throws {
        try await store.store(mn: mn, key: key, since: since, origin: origin, pending: pending)
    }
    func describe(_ error: any Error) -> String { describeDatabaseError(error) }
}

/// Runs the device book: loads keys, then writes device state and checks device alerts every
/// `device_sweep` until shutdown (a last write on the way out).
struct HJ212DeviceBookService: Service {
    let book: HJ212DeviceBook
    let every: Duration
    let logger: Logger

    func run() async throws {
        // Keys are read before the first packet could need them; a database not there yet is retried.
        for await _ in AsyncTimerSequence(interval: .seconds(2), clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await book.load()
                break
            } catch {
                logger.warning("HJ 212 device keys not loaded yet", metadata: ["error": "\(describeDatabaseError(error))"])
            }
        }
        for await _ in AsyncTimerSequence(interval: every, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await book.sweep()
            } catch {
                logger.warning("HJ 212 device sweep failed", metadata: ["error": "\(describeDatabaseError(error))"])
            }
        }
        try? await book.flush()
    }
}
