/// JSON text primitives shared by the wire codec and the ledger's canonical encoding, so both
/// spell strings and numbers the same way. The byte forms are the ones the ledger uses (every
/// record's canonical body is written through them); the `String` forms spell the same text.
public enum JSONText {
    /// Appends `s` as a JSON string literal (RFC 8259 escaping).
    public static func appendString(_ s: String, to out: inout String) {
        // Most strings need no escaping: append them whole.
        if !s.utf8.contains(where: needsEscape) {
            out += "\""
            out += s
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        appendString(s, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal in UTF-8: `"`, `\` and control characters escaped
    /// (`\n`, `\r`, `\t`, else `\u00xx`), every other byte as it is.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &out) }
        if done == nil { appendEscaped(Array(s.utf8), to: &out) }
        out.append(0x22)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func needsEscape(_ c: UInt8) -> Bool { c < 0x20 || c == 0x22 || c == 0x5C }

    private static func appendEscaped(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        guard bytes.contains(where: needsEscape) else {
            out.append(contentsOf: bytes)
            return
        }
        for c in bytes {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case ..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 48, 48, hexDigits[Int(c >> 4)], hexDigits[Int(c & 15)]])
            default: out.append(c)
            }
        }
    }

    /// Integral values without a fraction (`20000`); others in Swift's shortest round-trip form.
    public static func number(_ d: Double) -> String {
        if isIntegral(d) { return String(Int64(d)) }
        return "\(d)"
    }

    /// ``number(_:)``'s text appended as bytes.
    public static func appendNumber(_ d: Double, to out: inout [UInt8]) {
        if isIntegral(d) { return appendInteger(Int64(d), to: &out) }
        out.append(contentsOf: d.description.utf8)
    }

    /// An integer's decimal digits (`-` first when negative) appended as bytes.
    public static func appendInteger(_ i: Int64, to out: inout [UInt8]) {
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var m = i.magnitude
        var digits = 1
        var rest = m
        while rest >= 10 { rest /= 10; digits += 1 }
        let start = out.count
        out.append(contentsOf: repeatElement(48, count: digits))
        var k = start + digits - 1
        repeat {
            out[k] = UInt8(48 + m % 10)
            m /= 10
            k -= 1
        } while m > 0
    }

    /// Appends a static text's bytes (field names, punctuation).
    public static func append(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    private static func isIntegral(_ d: Double) -> Bool { d == d.rounded() && abs(d) < 1e15 }
}
