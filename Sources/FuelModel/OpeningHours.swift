/// A station's licensed opening hours in its local time: `24h` or `HH:MM-HH:MM` (may cross midnight).
public enum OpeningHours: Hashable, Sendable, Codable, CustomStringConvertible {
    case allDay
    /// Minutes after local midnight; `close` < `open` means the window crosses midnight.
    case window(open: Int, close: Int)

    public init?(_ text: String) {
        let t = text.trimmingWhitespace()
        if t.lowercased() == "24h" || t == "00:00-24:00" {
            self = .allDay
            return
        }
        let parts = t.split(separator: "-")
        guard parts.count == 2, let o = Self.minutes(parts[0]), let c = Self.minutes(parts[1]), o != c else { return nil }
        self = .window(open: o, close: c)
    }

    private static func minutes(_ s: Substring) -> Int? {
        let hm = s.split(separator: ":")
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
              (0...24).contains(h), (0..<60).contains(m), h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    /// Whether a local minute-of-day (0..<1440) is inside the window.
    public func isOpen(minuteOfDay m: Int) -> Bool {
        switch self {
        case .allDay: return true
        case .window(let open, let close):
            return open < close ? (m >= open && m < close) : (m >= open || m < close)
        }
    }

    public var description: String {
        switch self {
        case .allDay: return "24h"
        case .window(let o, let c): return "\(pad(o / 60, 2)):\(pad(o % 60, 2))-\(pad(c / 60, 2)):\(pad(c % 60, 2))"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let h = OpeningHours(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "hours must be 24h or HH:MM-HH:MM: \(s)")
        }
        self = h
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
