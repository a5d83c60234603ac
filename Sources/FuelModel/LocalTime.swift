import Foundation

/// Converts instants to a station's local calendar (days and minute-of-day) for opening hours
/// and daily reconciliation.
public struct LocalClock: Hashable, Sendable {
    public let identifier: String
    private let zone: TimeZone

    /// Unknown identifiers fall back to China Standard Time, the default of the registry.
    public init(timezone identifier: String) {
        self.identifier = identifier
        self.zone = TimeZone(identifier: identifier) ?? TimeZone(secondsFromGMT: 8 * 3600)!
    }

    public static func == (a: LocalClock, b: LocalClock) -> Bool { a.identifier == b.identifier }
    public func hash(into h: inout Hasher) { h.combine(identifier) }

    /// The zone's offset from UTC at `t`, in seconds (daylight saving included where the zone has it).
    public func offsetSeconds(at t: Timestamp) -> Int { zone.secondsFromGMT(for: t.date) }

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
public func knownZone(_ identifier: String) -> Bool { TimeZone(identifier: identifier) != nil }
