import FuelTestSupport
import FuelGuomi
import Foundation
import Testing

/// SM3 and SM4 against the standards' own examples, and against the `openssl` command line.
@Suite struct GuomiVectorTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    @Test func sm3OfTheStandardsExamples() throws {
        // GB/T 32905-2016 Appendix A: "abc", and "abcd" sixteen times.
        #expect(Self.hex(try SM3.hash(Array("abc".utf8))) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        #expect(Self.hex(try SM3.hash(Array(String(repeating: "abcd", count: 16).utf8)))
                == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
        // Fed in pieces, the same.
        var h = try SM3()
        for piece in ["ab", "c"] { try h.update(Array(piece.utf8)) }
        #expect(Self.hex(try h.finalize()) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    }

    @Test func sm4OfTheStandardsExamples() throws {
        // GB/T 32907-2016 Appendix A: key = plaintext; once, and a million times over.
        let key = Self.bytes("0123456789abcdeffedcba9876543210")
        let sm4 = try SM4(key: key)
        let once = try sm4.encryptBlocks(key)
        #expect(Self.hex(once) == "681edf34d206965e86b3e94f536e4246")
        #expect(try sm4.decryptBlocks(once) == key)
        var block = key
        for _ in 0..<1_000_000 { block = try sm4.encryptBlocks(block) }
        #expect(Self.hex(block) == "595298c7c6fd271f0402f804c33d3f66")
        #expect(throws: SM4.InputError.self) { try SM4(key: [1, 2, 3]) }
        #expect(throws: SM4.InputError.self) { try sm4.decryptBlocks([1, 2, 3]) }
        #expect(try sm4.encryptBlocks([]) == [])
    }

    /// The same digest and ciphertext as `openssl dgst -sm3` / `openssl enc -sm4-ecb` on random
    /// input, where the command line is installed.
    @Test func agreesWithTheOpenSSLCommandLine() throws {
        guard OpenSSLCLI.isInstalled else { return }
        var rng = SystemRandomNumberGenerator()
        let data = (0..<(16 * 37)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let key = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("guomi-\(UUID())")
        try Data(data).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        func openssl(_ args: [String]) throws -> Data { try OpenSSLCLI.run(args, mergingErrors: false).output }
        let digest = String(decoding: try openssl(["dgst", "-sm3", "-r", file.path]), as: UTF8.self).prefix(64)
        #expect(String(digest) == Self.hex(try SM3.hash(data)))
        let cipher = try openssl(["enc", "-sm4-ecb", "-nopad", "-K", Self.hex(key), "-in", file.path])
        #expect([UInt8](cipher) == (try SM4(key: key).encryptBlocks(data)))
    }
}
