/// HJ 212-2025 §6.4: the CP content of data uploads (CN 2000–2999), key changes (1014) and 3020 is
/// encrypted with SM4 in ECB mode under the device's 16-byte key, without padding — every whole
/// 16-byte block encrypted, a shorter tail left plain — and the length field and CRC are those of
/// the plaintext. The standard's example prints the ciphertext as text (`{0xE4,0x3E,…}` followed by
/// the plain tail); devices also send the raw bytes. Both are read here. The cipher itself comes from
/// the caller (`decryptBlocks`), so this codec stays free of any crypto library.
extension HJ212 {
    /// Whether a packet with this CN carries an encrypted CP in the 2025 edition.
    public static func carriesEncryptedCP(cn: Int) -> Bool { (2000...2999).contains(cn) || cn == 1014 || cn == 3020 }

    /// The plaintext of an encrypted CP content (the bytes between `CP=&&` and the closing `&&`).
    public static func decryptCP(_ content: [UInt8], decryptBlocks: ([UInt8]) throws -> [UInt8]) throws(DecodeError) -> [UInt8] {
        var cipher: [UInt8], tail: ArraySlice<UInt8>
        if let (bytes, close) = try textForm(content) {
            cipher = bytes
            tail = content[(close + 1)...]
        } else {
            let whole = content.count / 16 * 16
            cipher = Array(content[..<whole])
            tail = content[whole...]
        }
        guard cipher.count % 16 == 0 else {
            throw DecodeError(kind: .field, message: "encrypted CP: \(cipher.count) cipher bytes are not whole 16-byte blocks")
        }
        let plain: [UInt8]
        do {
            plain = try decryptBlocks(cipher)
        } catch {
            throw DecodeError(kind: .field, message: "encrypted CP does not decrypt: \(error)")
        }
        return plain + tail
    }

    /// The ciphertext written as text (`{0xE4,0x3E,…}`) and the index of its `}`, or nil when the
    /// content is raw bytes. Raw ciphertext begins with `{` once in 256 packets, so the text form is
    /// taken only when it begins `{0x`; one that does and is not well formed is refused with its fault.
    static func textForm(_ content: [UInt8]) throws(DecodeError) -> ([UInt8], Int)? {
        guard content.count >= 3, content[0] == UInt8(ascii: "{"), content[1] == UInt8(ascii: "0"),
              content[2] | 0x20 == UInt8(ascii: "x") else { return nil }
        guard let close = content.firstIndex(of: UInt8(ascii: "}")) else {
            throw DecodeError(kind: .field, message: "encrypted CP: { without }")
        }
        var cipher: [UInt8] = []
        for item in content[1..<close].split(separator: UInt8(ascii: ",")) {
            let text = String(decoding: item, as: UTF8.self).trimmingBlanks()
            guard text.lowercased().hasPrefix("0x"), text.count <= 4, let byte = UInt8(text.dropFirst(2), radix: 16) else {
                throw DecodeError(kind: .field, message: "encrypted CP: \"\(text.prefix(12))\" is not a byte written 0xHH")
            }
            cipher.append(byte)
        }
        return (cipher, close)
    }

    /// Decodes a frame whose CP may be encrypted: `decryptBlocks(mn)` gives the device's cipher when
    /// it has a key. The length field and CRC are checked against the plaintext, so a wrong key is
    /// refused as a CRC mismatch; a 2017 packet, another CN or a device without a key is read as
    /// `decode` reads it.
    public static func decode(_ frame: some Collection<UInt8>,
                              decryptBlocksFor: (String) -> (([UInt8]) throws -> [UInt8])?) throws(DecodeError) -> Packet {
        var b = Array(frame)
        if b.count >= 2, b[b.count - 2] == 0x0D, b[b.count - 1] == 0x0A { b.removeLast(2) }
        guard b.count >= 10, b[0] == UInt8(ascii: "#"), b[1] == UInt8(ascii: "#") else { return try decode(b) }
        let wire = Array(b[6..<(b.count - 4)])
        // MN and Flag from the header before CP only: the CP (ciphertext, or a device's own items)
        // must not choose the key.
        let head = Self.headerBeforeCP(wire)
        let flag = head.fields["Flag"].flatMap { Int($0) }
        guard Version.of(flag: flag) == .v2025, let mn = head.fields["MN"], let cpStart = head.cpStart,
              let cn = head.fields["CN"].flatMap({ Int($0) }), carriesEncryptedCP(cn: cn),
              let decrypt = decryptBlocksFor(mn) else { return try decode(b) }
        let contentStart = cpStart + 5
        guard let close = Self.findLast(Array("&&".utf8), in: wire), close >= contentStart else {
            throw DecodeError(kind: .field, message: "CP is not closed with &&")
        }
        let plain = try decryptCP(Array(wire[contentStart..<close]), decryptBlocks: decrypt)
        let segment = Array(wire[..<contentStart]) + plain + Array(wire[close...])
        // The frame's own length field and CRC, now over the plaintext they were computed on.
        return try decode(Array(b.prefix(6)) + segment + Array(b.suffix(4)))
    }

    /// How a device writes an encrypted CP on the wire.
    public enum CipherText: Sendable {
        /// The ciphertext bytes themselves.
        case raw
        /// The standard's example form: `{0xE4,0x3E,…}`.
        case text
    }

    /// Frames a 2025 data segment as a device with a key sends it: the CP content's whole 16-byte
    /// blocks encrypted by `encryptBlocks` (SM4-ECB under the device's key), the tail plain, the
    /// length field and the CRC those of the plaintext. A segment whose CN carries no encrypted CP
    /// is framed plain.
    public static func frame(dataSegment: String, encryptBlocks: ([UInt8]) throws -> [UInt8], as form: CipherText = .raw) rethrows -> [UInt8] {
        let plain = Array(dataSegment.utf8)
        guard let cpStart = find(Array("CP=&&".utf8), in: plain), let cn = field("CN", in: plain).flatMap({ Int($0) }), carriesEncryptedCP(cn: cn),
              let close = findLast(Array("&&".utf8), in: plain), close >= cpStart + 5 else { return frame(dataSegment: dataSegment) }
        let content = Array(plain[(cpStart + 5)..<close])
        let whole = content.count / 16 * 16
        let cipher = try encryptBlocks(Array(content[..<whole]))
        let written: [UInt8] = switch form {
        case .raw: cipher
        case .text: Array(("{" + cipher.map { "0x" + Hex.text(UInt16($0)).suffix(2) }.joined(separator: ",") + "}").utf8)
        }
        let wire = Array(plain[..<(cpStart + 5)]) + written + Array(content[whole...]) + Array(plain[close...])
        return Array("##".utf8) + Array(format4(plain.count).utf8) + wire + Array(Hex.text(crc(plain)).utf8) + [0x0D, 0x0A]
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        return (0...(hay.count - needle.count)).first { hay[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    static func findLast(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        return (0...(hay.count - needle.count)).reversed().first { hay[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// A header field read from the bytes before CP (the ciphertext after it may be anything).
    static func field(_ name: String, in wire: [UInt8]) -> String? {
        headerBeforeCP(wire).fields[name]
    }

    /// The header fields before `CP=&&` (the first of a name given twice) and where CP starts, in
    /// one pass (the listener reads these for every encrypted packet).
    static func headerBeforeCP(_ wire: [UInt8]) -> (fields: [String: String], cpStart: Int?) {
        let cpStart = find(Array("CP=&&".utf8), in: wire)
        var fields: [String: String] = [:]
        for part in wire[..<(cpStart ?? wire.count)].split(separator: UInt8(ascii: ";")) {
            guard let eq = part.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: part[part.startIndex..<eq], as: UTF8.self)
            if fields[name] == nil { fields[name] = String(decoding: part[(eq + 1)...], as: UTF8.self) }
        }
        return (fields, cpStart)
    }
}
