#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An instant with microsecond resolution, stored as microseconds since the Unix epoch.
///
/// Records carry RFC 3339 times; keeping them as an integer makes canonical encoding and
/// comparisons exact (a `Double` of seconds would round at the microsecond).
public struct Timestamp: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }
    public init(seconds: Int64) { self.microseconds = seconds * 1_000_000 }
    public init(_ date: Date) {
        self.microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public var date: Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
    public var secondsSinceEpoch: Double { Double(microseconds) / 1_000_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }
    /// This time moved by `seconds` (negative: earlier), to the microsecond.
    public func adding(seconds: Double) -> Timestamp {
        Timestamp(microseconds: microseconds + Int64((seconds * 1_000_000).rounded()))
    }
    /// Seconds from `self` to `other` (positive when `other` is later).
    public func seconds(to other: Timestamp) -> Double { Double(other.microseconds - microseconds) / 1_000_000 }

    /// RFC 3339 in UTC: `2026-11-01T08:00:00Z`, with a fraction only when there is one.
    public var rfc3339: String {
        var b: [UInt8] = []
        b.reserveCapacity(27)
        appendRFC3339(to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// Appends ``rfc3339``'s bytes to `out`: the canonical encoding writes every record's times this way
    /// (digit by digit, no intermediate string).
    public func appendRFC3339(to out: inout [UInt8]) {
        let (secs, micros) = microseconds.floorDivided(by: 1_000_000)
        let (days, secOfDay) = secs.floorDivided(by: 86_400)
        let civil = CivilDate(daysSinceEpoch: days)
        guard (0...9999).contains(civil.year) else {
            out.append(contentsOf: slowRFC3339(civil, secOfDay, micros).utf8)
            return
        }
        func put(_ v: Int, _ width: Int) {
            var d = 1
            for _ in 1..<width { d *= 10 }
            var v = v
            while d > 0 {
                out.append(UInt8(48 + v / d))
                v %= d
                d /= 10
            }
        }
        put(civil.year, 4); out.append(45); put(civil.month, 2); out.append(45); put(civil.day, 2); out.append(84)
        put(Int(secOfDay / 3600), 2); out.append(58); put(Int(secOfDay % 3600 / 60), 2); out.append(58)
        put(Int(secOfDay % 60), 2)
        if micros != 0 {
            out.append(46)
            var m = Int(micros)
            var digits = 6
            while m % 10 == 0 { m /= 10; digits -= 1 }
            put(m, digits)
        }
        out.append(90)
    }

    private func slowRFC3339(_ civil: CivilDate, _ secOfDay: Int64, _ micros: Int64) -> String {
        let h = secOfDay / 3600, m = (secOfDay % 3600) / 60, s = secOfDay % 60
        var out = "\(pad(civil.year, 4))-\(pad(civil.month, 2))-\(pad(civil.day, 2))T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2))"
        if micros != 0 {
            var frac = pad(micros, 6)
            while frac.hasSuffix("0") { frac.removeLast() }
            out += "." + frac
        }
        return out + "Z"
    }

    public var description: String { rfc3339 }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let t = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 timestamp: \(text)")
        }
        self = t
    }

    /// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`); a space may stand for `T`.
    public init?(rfc3339 text: some StringProtocol) {
        // Read in place where the text is contiguous (every push line's times are): no copy per time.
        let parsed = text.utf8.withContiguousStorageIfAvailable { Self.parseRFC3339($0) }
        guard let micros = parsed ?? Array(text.utf8).withUnsafeBufferPointer({ Self.parseRFC3339($0) }) else { return nil }
        self.microseconds = micros
    }

    private static func parseRFC3339(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard b.count >= 20 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            var v = 0
            for i in from..<(from + len) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45, let day = num(8, 2),
              b[10] == 84 || b[10] == 116 || b[10] == 32,
              let hour = num(11, 2), b[13] == 58, let minute = num(14, 2), b[16] == 58, let second = num(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var micros: Int64 = 0
        if b[i] == 46 {  // '.'
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 6)..<6 { micros *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == 90 || b[i] == 122 {  // Z
            i += 1
        } else if b[i] == 43 || b[i] == 45 {  // + -
            guard i + 6 == b.count, b[i + 3] == 58, let oh = num(i + 1, 2), let om = num(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        return secs * 1_000_000 + micros
    }
}

/// A proleptic Gregorian calendar date, converted without Foundation's calendars (exact and fast).
public struct CivilDate: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), d >= 1, d <= CivilDate.daysIn(month: m, year: y) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch z0: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), month: Int(m), day: Int(d))
    }

    /// Days in `month` of `year` (Gregorian, leap years included).
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }
    public var description: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }
    /// The date `days` later (negative: earlier).
    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + Int64(days)) }

    /// Midnight UTC of this date.
    public var startUTC: Timestamp { Timestamp(seconds: daysSinceEpoch * 86_400) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let d = CivilDate(iso: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a YYYY-MM-DD date: \(text)")
        }
        self = d
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a non-negative remainder.
    func floorDivided(by d: Int64) -> (Int64, Int64) {
        var q = self / d
        var r = self % d
        if r < 0 { q -= 1; r += d }
        return (q, r)
    }
}

func pad(_ v: some BinaryInteger, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
