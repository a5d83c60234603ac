/// Number and text formatting without Foundation's `String(format:)` and `trimmingCharacters`.
///
/// Hand-written on purpose: the station agent is built on FoundationEssentials alone, and those two
/// live in the full Foundation, which loads ICU (≈ 8 MB of the agent's resident memory, issue 16).
/// These cover the few fixed layouts the agent and the feeds print.
public enum PlainFormat {
    /// `x` with exactly `decimals` digits after the point (`%.Nf`), with a `+` on positive values
    /// when `plusSign` (`%+.Nf`). Rounds half away from zero; "nan", "inf" and "-inf" as printf writes them.
    public static func fixed(_ x: Double, decimals: Int, plusSign: Bool = false) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : (plusSign ? "+inf" : "inf")) }
        let d = max(0, min(decimals, 9))
        var scale: Double = 1
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        // Beyond 2^63 the integer arithmetic below would trap; such magnitudes print as Swift does.
        guard scaled < 9.2e18 else { return (x < 0 ? "" : (plusSign ? "+" : "")) + String(x) }
        let n = UInt64(scaled), unit = UInt64(scale)
        var text = String(n / unit)
        if d > 0 { text += "." + padded(n % unit, width: d) }
        let negative = x < 0 && n != 0
        return (negative ? "-" : (plusSign ? "+" : "")) + text
    }

    /// `n` in decimal, left-padded with zeros to `width` digits (`%0Nd` for n ≥ 0).
    public static func padded(_ n: some BinaryInteger, width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// The bytes as lowercase hex digits, two a byte (`%02x` each).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `n` in octal (`%o`).
    public static func octal(_ n: some BinaryInteger) -> String { String(n, radix: 8) }
}

extension StringProtocol {
    /// The text without leading and trailing blanks (spaces, tabs; not line ends) (`trimmingCharacters(in: .whitespaces)`).
    public func trimmingBlanks() -> String {
        let blank: (Character) -> Bool = { $0.isWhitespace && !$0.isNewline }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }

    /// The text without leading and trailing white space, line ends included
    /// (`trimmingCharacters(in: .whitespacesAndNewlines)`).
    public func trimmingWhiteSpace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
