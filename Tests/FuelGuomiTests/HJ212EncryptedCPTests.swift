import FuelGuomi
import FuelWire
import Testing

/// HJ 212-2025 §6.4 on exact packets: CP encrypted with the device's SM4 key, as raw bytes and as
/// the standard's `{0x..}` text, length and CRC over the plaintext.
@Suite struct HJ212EncryptedCPTests {
    static let key: [UInt8] = Array("0123456789abcdef".utf8)
    static let mn = "4A7F00C3B2E14D9A0F6C2B18"
    static let head = "QN=20260301101500123;ST=31;CN=2011;PW=123456;MN=\(mn);Flag=9;CP=&&"
    static let content = "DataTime=20260301101500;q01-Rtd=1.05,q01-Flag=N;p01-Rtd=-120.5"  // 63 bytes: 3 blocks and a 15-byte tail

    /// The frame a device sends: `text` writes the ciphertext as `{0x..}` text.
    static func frame(key: [UInt8] = key, text: Bool) throws -> [UInt8] {
        let plainSegment = Array((head + content + "&&").utf8)
        let p = Array(content.utf8)
        let whole = p.count / 16 * 16
        let cipher = try SM4(key: key).encryptBlocks(Array(p[..<whole]))
        let written: [UInt8] = text
            ? Array(("{" + cipher.map { "0x" + String($0, radix: 16, uppercase: true).leftPadded() }.joined(separator: ",") + "}").utf8)
            : cipher
        let wire = Array(head.utf8) + written + Array(p[whole...]) + Array("&&".utf8)
        let length = String(plainSegment.count)
        return Array("##".utf8) + Array((String(repeating: "0", count: 4 - length.count) + length).utf8) + wire
            + Array(String(HJ212.crc(plainSegment), radix: 16, uppercase: true).leftPadded(to: 4).utf8) + [0x0D, 0x0A]
    }

    static func cipher(for mn: String) -> (([UInt8]) throws -> [UInt8])? {
        guard mn == Self.mn, let sm4 = try? SM4(key: key) else { return nil }
        return { try sm4.decryptBlocks($0) }
    }

    @Test(arguments: [false, true]) func anEncryptedUploadDecodes(text: Bool) throws {
        let p = try HJ212.decode(try Self.frame(text: text), decryptBlocksFor: Self.cipher)
        #expect(p.version == .v2025 && p.cn == "2011" && p.dataTime == "20260301101500")
        #expect(p.factors["q01"]?["Rtd"] == "1.05" && p.factors["p01"]?["Rtd"] == "-120.5")
    }

    /// The codec's own framing (what the demo device and the benchmark send) is byte for byte the
    /// frame built here by hand, and decodes back.
    @Test(arguments: [false, true]) func theCodecFramesAsADeviceDoes(text: Bool) throws {
        let sm4 = try SM4(key: Self.key)
        let framed = try HJ212.frame(dataSegment: Self.head + Self.content + "&&", encryptBlocks: sm4.encryptBlocks, as: text ? .text : .raw)
        #expect(framed == (try Self.frame(text: text)))
        #expect(try HJ212.decode(framed, decryptBlocksFor: Self.cipher).dataTime == "20260301101500")
        // A CN without encrypted CP (a heartbeat) is framed plain.
        let beat = Self.head.replacingOccurrences(of: "CN=2011", with: "CN=9015") + "&&"
        #expect(try HJ212.frame(dataSegment: beat, encryptBlocks: sm4.encryptBlocks) == HJ212.frame(dataSegment: beat))
    }

    @Test(arguments: [false, true]) func aWrongKeyOrNoKeyIsRefused(text: Bool) throws {
        let other = try Self.frame(key: Array("fedcba9876543210".utf8), text: text)
        #expect(throws: HJ212.DecodeError.self) { try HJ212.decode(other, decryptBlocksFor: Self.cipher) }
        #expect(throws: HJ212.DecodeError.self) { try HJ212.decode(try Self.frame(text: text), decryptBlocksFor: { _ in nil }) }
    }

    @Test func plainPacketsPassThrough() throws {
        let plain = HJ212.frame(dataSegment: Self.head.replacingOccurrences(of: "Flag=9", with: "Flag=5") + Self.content + "&&")
        #expect(try HJ212.decode(plain, decryptBlocksFor: Self.cipher).version == .v2017)
        let heartbeat = HJ212.frame(dataSegment: Self.head.replacingOccurrences(of: "CN=2011", with: "CN=9015") + "&&")
        #expect(try HJ212.decode(heartbeat, decryptBlocksFor: Self.cipher).cn == "9015")  // not an encrypted CN
    }

    /// The text form is longer on the wire than its length field says: the frame reader takes it to
    /// its CRLF, split across reads and between other packets, and the raw form by its length.
    @Test func theFrameReaderTakesBothFormsWhole() throws {
        let text = try Self.frame(text: true), raw = try Self.frame(text: false)
        let plain = HJ212.frame(dataSegment: Self.head.replacingOccurrences(of: "CN=2011", with: "CN=9015") + "&&")
        let stream = text + raw + plain + text
        for cut in [1, 7, 50, 333] {
            var reader = HJ212FrameReader()
            var frames: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                reader.append(stream[i..<min(stream.count, i + cut)])
                i += cut
                while let item = reader.next() {
                    guard case .frame(let f) = item else { Issue.record("junk at cut \(cut): \(item)"); return }
                    frames.append(f)
                }
            }
            #expect(frames.count == 4)
            let decoded = try frames.map { try HJ212.decode($0, decryptBlocksFor: Self.cipher) }
            #expect(decoded.map { $0.cn } == ["2011", "2011", "9015", "2011"])
            #expect(decoded[0].factors == decoded[1].factors && reader.pending == 0)
        }
        // A text-form packet whose CRLF never comes is cut off at the longest text a packet can take.
        var reader = HJ212FrameReader(maxDataLength: 200)
        reader.append(Array(text.dropLast(2)) + Array(repeating: UInt8(ascii: "A"), count: 1_200))
        guard case .junk(_, let reason)? = reader.next() else { Issue.record("expected junk"); return }
        #expect(reason.contains("no CRLF"))
    }

    @Test func malformedCiphertextTextIsNamed() throws {
        #expect { try HJ212.decryptCP(Array("{0xE4,0x3G}".utf8), decryptBlocks: { $0 }) } throws: { "\($0)".contains("not a byte written 0xHH") }
        #expect { try HJ212.decryptCP(Array("{0xE4".utf8), decryptBlocks: { $0 }) } throws: { "\($0)".contains("without }") }
        #expect { try HJ212.decryptCP(Array("{0xE4,0x3E}".utf8), decryptBlocks: { $0 }) } throws: { "\($0)".contains("not whole 16-byte blocks") }
        #expect(try HJ212.decryptCP(Array("short".utf8), decryptBlocks: { $0 }) == Array("short".utf8))  // under a block: all plain
    }

    /// Raw ciphertext is random bytes: one packet in 256 begins with `{` (and some have no `}`), which
    /// must not be taken for the text form. Every first byte and every second byte after `{` is read as raw.
    @Test func rawCiphertextBeginningWithABraceIsRaw() throws {
        for first in UInt8.min...UInt8.max {
            let content = [first] + Array(repeating: 0xA5, count: 15) + Array("Tail".utf8)
            #expect(try HJ212.decryptCP(content, decryptBlocks: { $0.map { $0 ^ 0xFF } }) == ([first ^ 0xFF] + Array(repeating: 0x5A, count: 15) + Array("Tail".utf8)))
        }
        for second in UInt8.min...UInt8.max where second != UInt8(ascii: "0") {
            let content = [UInt8(ascii: "{"), second] + Array(repeating: 0x7D, count: 14)
            #expect(try HJ212.decryptCP(content, decryptBlocks: { $0 }) == content)
        }
    }
}

extension String {
    func leftPadded(to n: Int = 2) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
