/// Hex digits as the device protocols write them (either case), shared by the HJ 212 and TLS codecs.
enum Hex {
    /// The value of 1…8 hex digits, or nil.
    static func value(_ s: some Collection<UInt8>) -> UInt32? {
        guard !s.isEmpty, s.count <= 8 else { return nil }
        var v: UInt32 = 0
        for c in s {
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// Exactly four hex digits.
    static func uint16(_ s: some Collection<UInt8>) -> UInt16? {
        guard s.count == 4 else { return nil }
        return value(s).map { UInt16($0) }
    }

    /// The bytes of an even number of hex digits (either case), or nil.
    static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let v = value(digits[i..<(i + 2)]) else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    /// Four upper-case hex digits.
    static func text(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}
