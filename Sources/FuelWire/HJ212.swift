#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// HJ 212 (污染物自动监测监控系统数据传输技术要求) packets, editions 2017 and 2025: framing, CRC,
/// key/value parsing and replies.
///
/// Wire form: `##` + 4-digit decimal length of the data segment + data segment + 4 hex CRC + CRLF.
/// The data segment is `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&` with the header
/// fields in any order. Flag's bits 7–2 name the edition (1: 2017, Flag 4/5; 2: 2025, Flag 8–11),
/// bit 1 says the packet carries PNUM/PNO, bit 0 that an answer is required — the two editions
/// letter these bits differently, the bits mean the same. Answers go in the sender's edition.
public enum HJ212 {
    /// The edition of HJ 212 a packet is written in.
    public enum Version: String, Sendable, Hashable, CaseIterable {
        case v2017 = "HJ212-2017"
        case v2025 = "HJ212-2025"

        /// The edition number in Flag's bits 7–2.
        public var flagBits: Int {
            switch self {
            case .v2017: 1
            case .v2025: 2
            }
        }

        /// The edition a Flag names. A packet without Flag, or with edition bits 0 (devices built
        /// before the bits existed send Flag=0…3), is read as 2017, whose fields they share.
        public static func of(flag: Int?) -> Version? {
            guard let flag else { return .v2017 }
            let bits = (flag >> 2) & 0x3F
            return bits == 0 ? .v2017 : allCases.first { $0.flagBits == bits }
        }

        /// The Flag of the platform's answers in this edition (no answer wanted, no parts).
        public var answerFlag: Int { flagBits << 2 }
    }

    /// Largest data segment the length field can announce.
    public static let maxDataLength = 9999

    /// CRC16 of appendix A ("CRC16_Checkout"): start 0xFFFF; per byte `crc = (crc >> 8) ^ byte`,
    /// then eight shifts with polynomial 0xA001. Not CRC-16/MODBUS.
    public static func crc(_ data: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for b in data {
            crc = (crc >> 8) ^ UInt16(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }

    /// Why a frame is not a valid packet; `code` follows the standard's reply codes where one fits.
    public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        /// What a packet is, from its command number (CN).
        public enum Kind: Hashable, Sendable {
            case header, length, crc, truncated, field
        }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    /// A decoded packet.
    public struct Packet: Hashable, Sendable {
        public var version: Version = .v2017
        /// Header fields in the order received (QN, ST, CN, PW, MN, Flag, PNUM, PNO, …).
        public var header: [(String, String)]
        /// CP: groups (`;`) of items (`,`), each `key=value`, in the order received.
        public var data: [[(String, String)]]

        public static func == (a: Packet, b: Packet) -> Bool {
            a.version == b.version && a.header.elementsEqual(b.header, by: ==) && a.data.count == b.data.count
                && zip(a.data, b.data).allSatisfy { $0.elementsEqual($1, by: ==) }
        }
        public func hash(into h: inout Hasher) {
            for (k, v) in header { h.combine(k); h.combine(v) }
        }

        /// The value of header field `name` (QN, ST, CN, PW, MN, Flag, …), if present.
        public func field(_ name: String) -> String? { header.first { $0.0 == name }?.1 }
        public var qn: String? { field("QN") }
        public var st: String? { field("ST") }
        public var cn: String? { field("CN") }
        public var password: String? { field("PW") }
        public var mn: String? { field("MN") }
        public var flag: Int? { field("Flag").flatMap { Int($0) } }
        /// Flag bit 0: the sender wants an answer.
        public var wantsReply: Bool { (flag ?? 0) & 1 == 1 }
        /// Flag bit 1: the packet is one part of several (PNUM/PNO).
        public var isPart: Bool { (flag ?? 0) & 2 == 2 }
        public var packetCount: Int? { field("PNUM").flatMap { Int($0) } }
        public var packetNumber: Int? { field("PNO").flatMap { Int($0) } }

        /// The data segment that parses to this packet: header fields, then `CP=&&…&&`.
        public var dataSegment: String {
            header.map { "\($0.0)=\($0.1);" }.joined() + "CP=&&" + data.map { $0.map { "\($0.0)=\($0.1)" }.joined(separator: ",") }.joined(separator: ";") + "&&"
        }

        /// Every CP item in order.
        public var items: [(String, String)] { data.flatMap { $0 } }
        /// The value of CP item `key` (e.g. `DataTime`, `q01-Rtd`), if present.
        public func item(_ key: String) -> String? { items.first { $0.0 == key }?.1 }
        /// `DataTime` (yyyyMMddHHmmss, optionally with milliseconds).
        public var dataTime: String? { item("DataTime") }

        /// Factor readings: code → suffix (`Rtd`, `Avg`, `Min`, `Max`, `Flag`, …) → value.
        public var factors: [String: [String: String]] {
            var out: [String: [String: String]] = [:]
            for (k, v) in items {
                guard let dash = k.lastIndex(of: "-"), dash != k.startIndex else { continue }
                out[String(k[..<dash]), default: [:]][String(k[k.index(after: dash)...])] = v
            }
            return out
        }
    }

    /// Decodes one frame (with or without its trailing CRLF). Lower-case CRC hex is accepted.
    public static func decode(_ frame: some Collection<UInt8>) throws(DecodeError) -> Packet {
        var b = Array(frame)
        if b.count >= 2, b[b.count - 2] == 0x0D, b[b.count - 1] == 0x0A { b.removeLast(2) }
        guard b.count >= 2, b[0] == UInt8(ascii: "#"), b[1] == UInt8(ascii: "#") else {
            throw DecodeError(kind: .header, message: "frame does not start with ##")
        }
        guard b.count >= 6, let length = decimal(b[2..<6]) else {
            throw DecodeError(kind: .length, message: "length field is not 4 decimal digits")
        }
        guard b.count == 6 + length + 4 else {
            throw DecodeError(kind: b.count < 6 + length + 4 ? .truncated : .length,
                              message: "length field says \(length) data bytes, frame carries \(max(0, b.count - 10))")
        }
        let data = b[6..<(6 + length)]
        guard let sent = Hex.uint16(b[(6 + length)...]) else { throw DecodeError(kind: .crc, message: "CRC field is not 4 hex digits") }
        let computed = crc(data)
        guard sent == computed else {
            throw DecodeError(kind: .crc, message: "CRC \(Hex.text(sent)) does not match the data (computed \(Hex.text(computed)))")
        }
        return try parseDataSegment(bytes: data)
    }

    /// Parses a data segment (the part the CRC covers).
    public static func parseDataSegment(_ text: String) throws(DecodeError) -> Packet {
        try parseDataSegment(bytes: Array(text.utf8)[...])
    }

    /// Parses a data segment's bytes. Byte by byte rather than with `String` searches: every
    /// delimiter is ASCII, and the listener parses each packet of every device (this is its
    /// hottest path).
    static func parseDataSegment(bytes d: ArraySlice<UInt8>) throws(DecodeError) -> Packet {
        let semicolon = UInt8(ascii: ";"), equals = UInt8(ascii: "="), comma = UInt8(ascii: ","), amp = UInt8(ascii: "&")
        func text(_ r: Range<Int>) -> String { String(decoding: d[r], as: UTF8.self) }
        /// The non-empty pieces of `r` between separators.
        func pieces(_ r: Range<Int>, by sep: UInt8) -> [Range<Int>] {
            var out: [Range<Int>] = []
            var from = r.lowerBound
            for i in r where d[i] == sep {
                if i > from { out.append(from..<i) }
                from = i + 1
            }
            if r.upperBound > from { out.append(from..<r.upperBound) }
            return out
        }
        func pair(_ r: Range<Int>) -> (String, String)? {
            guard let eq = d[r].firstIndex(of: equals) else { return nil }
            return (text(r.lowerBound..<eq), text((eq + 1)..<r.upperBound))
        }
        // The first "CP=&&".
        var cpStart: Int?
        var i = d.startIndex
        while i + 5 <= d.endIndex {
            if d[i] == UInt8(ascii: "C"), d[i + 1] == UInt8(ascii: "P"), d[i + 2] == equals, d[i + 3] == amp, d[i + 4] == amp { cpStart = i; break }
            i += 1
        }
        guard let cpStart else { throw DecodeError(kind: .field, message: "no CP=&& field") }
        var header: [(String, String)] = []
        for r in pieces(d.startIndex..<cpStart, by: semicolon) {
            guard let p = pair(r) else { throw DecodeError(kind: .field, message: "header field \"\(text(r))\" has no =") }
            header.append(p)
        }
        let cpFrom = cpStart + 5
        // The last "&&" after CP=&& closes it.
        var close: Int?
        var j = d.endIndex - 2
        while j >= cpFrom {
            if d[j] == amp, d[j + 1] == amp { close = j; break }
            j -= 1
        }
        guard let close else { throw DecodeError(kind: .field, message: "CP is not closed with &&") }
        // Anything after the closing && (some devices put header fields there) is header too.
        for r in pieces((close + 2)..<d.endIndex, by: semicolon) {
            if let p = pair(r) { header.append(p) }
        }
        // A field given twice is ambiguous (which MN was authenticated, which key decrypts?): refused.
        var seen = Set<String>()
        for (name, _) in header where !seen.insert(name).inserted {
            throw DecodeError(kind: .field, message: "header field \(name) appears twice")
        }
        for required in ["ST", "CN", "MN"] where !seen.contains(required) {
            throw DecodeError(kind: .field, message: "header field \(required) is missing")
        }
        let flagText = header.first { $0.0 == "Flag" }?.1
        let flag = flagText.flatMap { Int($0) }
        if flagText != nil && flag == nil { throw DecodeError(kind: .field, message: "Flag=\(flagText!) is not a number") }
        guard let version = Version.of(flag: flag) else {
            throw DecodeError(kind: .field, message: "Flag=\(flag!) names edition \((flag! >> 2) & 0x3F) in bits 7–2: neither 2017 (1) nor 2025 (2)")
        }
        var groups: [[(String, String)]] = []
        for g in pieces(cpFrom..<close, by: semicolon) {
            var items: [(String, String)] = []
            for r in pieces(g, by: comma) {
                guard let p = pair(r) else { throw DecodeError(kind: .field, message: "CP item \"\(text(r))\" has no =") }
                items.append(p)
            }
            groups.append(items)
        }
        return Packet(version: version, header: header, data: groups)
    }

    /// Frames a data segment: `##LLLL…CCCC\r\n`.
    public static func frame(dataSegment: String) -> [UInt8] {
        let data = Array(dataSegment.utf8)
        var out = Array("##".utf8) + Array(String(format4(data.count)).utf8) + data
        out += Array(Hex.text(crc(data)).utf8) + [0x0D, 0x0A]
        return out
    }

    /// The platform's answer to an accepted packet whose Flag asks for one: 9014 (data answer)
    /// for uploads, 9011 with QnRtn=1 (ready) for requests. Refusals: ``refusal(qn:mn:password:answer:)``.
    public static func reply(to p: Packet) -> [UInt8] {
        let cn = Int(p.cn ?? "") ?? 0
        guard (2000..<4000).contains(cn) else { return refusal(qn: p.qn, mn: p.mn, password: p.password, answer: .ready, version: p.version) }
        let fields = ["QN=\(p.qn ?? "")", "ST=91", "CN=9014", "PW=\(p.password ?? "")", "MN=\(p.mn ?? "")", "Flag=\(p.version.answerFlag)", "CP=&&&&"]
        return frame(dataSegment: fields.joined(separator: ";"))
    }

    static func decimal(_ s: ArraySlice<UInt8>) -> Int? {
        var v = 0
        for c in s {
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v
    }

    static func format4(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
