#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc  // the C library's zone (localtime_r) where ICU is absent
#endif

/// Converts instants to a station's local calendar (days and minute-of-day) for opening hours
/// and daily reconciliation.
public struct LocalClock: Hashable, Sendable {
    public let identifier: String
    private let zone: TimeZone?

    /// Unknown identifiers fall back to China Standard Time, the default of the registry.
    ///
    /// A process without ICU (the station agent, built on FoundationEssentials) knows no zone by
    /// name; there the C library's zone is used when the process's `TZ` names this zone (the agent
    /// sets it from its configuration at start, see ``LocalClock/useAsProcessZone(_:)``).
    public init(timezone identifier: String) {
        self.identifier = identifier
        if let z = TimeZone(identifier: identifier) {
            zone = z
        } else if Self.processZone == identifier {
            zone = nil
        } else {
            zone = TimeZone(secondsFromGMT: 8 * 3600)!
        }
    }

    /// The zone `TZ` names, as the C library reads it (a leading `:` dropped).
    private static var processZone: String? {
        guard let p = getenv("TZ") else { return nil }
        let tz = String(cString: p)
        return tz.hasPrefix(":") ? String(tz.dropFirst()) : tz
    }

    /// Makes `identifier` the process's zone for the C library (`TZ`, then `tzset`), after checking
    /// the system's zone database has it (`/usr/share/zoneinfo`, or `TZDIR`): the C library would
    /// read an unknown name as UTC without a word. For processes without ICU; call once at start,
    /// before any thread reads the clock.
    public static func useAsProcessZone(_ identifier: String) -> Bool {
        guard LocalClockZoneFile.exists(identifier) else { return false }
        setenv("TZ", identifier, 1)
        tzset()
        return true
    }

    /// The C library's offset of the process zone at `seconds` since the epoch.
    private static func processOffset(_ seconds: Int64) -> Int {
        var t = time_t(seconds)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return 8 * 3600 }
        return Int(parts.tm_gmtoff)
    }

    public static func == (a: LocalClock, b: LocalClock) -> Bool { a.identifier == b.identifier }
    public func hash(into h: inout Hasher) { h.combine(identifier) }

    /// The zone's offset from UTC at `t`, in seconds (daylight saving included where the zone has it).
    public func offsetSeconds(at t: Timestamp) -> Int {
        guard let zone else { return Self.processOffset(t.microseconds.floorDivided(by: 1_000_000).0) }
        return zone.secondsFromGMT(for: t.date)
    }

    /// The local date of an instant.
    public func day(of t: Timestamp) -> CivilDate {
        let local = t.microseconds / 1_000_000 + Int64(offsetSeconds(at: t))
        return CivilDate(daysSinceEpoch: local.floorDivided(by: 86_400).0)
    }

    /// The instant a local wall-clock time names (the earlier one when a clock change repeats it).
    public func instant(_ date: CivilDate, hour: Int, minute: Int, second: Int = 0, microsecond: Int64 = 0) -> Timestamp {
        let local = date.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        let guess = Timestamp(seconds: local - Int64(offsetSeconds(at: Timestamp(seconds: local))))
        let secs = local - Int64(offsetSeconds(at: guess))
        return Timestamp(microseconds: secs * 1_000_000 + microsecond)
    }

    /// Minutes after local midnight.
    public func minuteOfDay(_ t: Timestamp) -> Int {
        let local = t.microseconds / 1_000_000 + Int64(offsetSeconds(at: t))
        return Int(local.floorDivided(by: 86_400).1 / 60)
    }
}

/// Whether the system knows an IANA time zone identifier.
public func knownZone(_ identifier: String) -> Bool {
    TimeZone(identifier: identifier) != nil || LocalClockZoneFile.exists(identifier)
}

/// Whether the system's zone database (`/usr/share/zoneinfo`, or `TZDIR`) has a zone file by this name.
enum LocalClockZoneFile {
    static func exists(_ identifier: String) -> Bool {
        let directory = getenv("TZDIR").map { String(cString: $0) } ?? "/usr/share/zoneinfo"
        return !identifier.isEmpty && identifier.utf8.count < 256 && !identifier.contains("..") && !identifier.hasPrefix("/")
            && access(directory + "/" + identifier, R_OK) == 0
    }
}
