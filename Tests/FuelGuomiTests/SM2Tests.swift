import FuelTestSupport
import FuelGuomi
import Foundation
import Testing

/// SM2 signatures: round trip, tampering, the signer id, PEM, and the `openssl` command line both ways.
@Suite struct SM2Tests {
    @Test func signVerifyAndTamper() throws {
        let key = try SM2.Key.generate()
        let message = Array("station LN-SY-0001 head 42".utf8)
        let signature = try SM2.sign(message, with: key)
        #expect(try SM2.verify(signature, of: message, with: key))
        var other = message
        other[0] ^= 1
        #expect(try !SM2.verify(signature, of: other, with: key))
        #expect(try !SM2.verify(signature, of: message, with: key, id: Array("another id".utf8)))
        #expect(try !SM2.verify(signature, of: message, with: try SM2.Key.generate()))
        // PEM round trip: the public key alone verifies, and cannot sign.
        let publicKey = try SM2.Key.pem(try key.publicPEM())
        #expect(!publicKey.isPrivate)
        #expect(try SM2.verify(signature, of: message, with: publicKey))
        #expect(throws: OpenSSLError.self) { try SM2.sign(message, with: publicKey) }
        let again = try SM2.Key.pem(try key.privatePEM())
        #expect(try SM2.verify(try SM2.sign(message, with: again), of: message, with: key))
        #expect(throws: OpenSSLError.self) { try SM2.Key.pem("not a key") }
    }

    /// Ours verified by `openssl pkeyutl`, and the command line's verified by ours.
    @Test func agreesWithTheOpenSSLCommandLine() throws {
        guard OpenSSLCLI.isInstalled else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sm2-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func openssl(_ args: [String]) throws -> (Int32, String) {
            let (status, output) = try OpenSSLCLI.run(args)
            return (status, String(decoding: output, as: UTF8.self))
        }
        let key = try SM2.Key.generate()
        let message = Array("checkpoint 7".utf8)
        try Data(message).write(to: URL(fileURLWithPath: path("msg")))
        try key.publicPEM().write(toFile: path("pub.pem"), atomically: true, encoding: .utf8)
        try key.privatePEM().write(toFile: path("key.pem"), atomically: true, encoding: .utf8)
        try Data(try SM2.sign(message, with: key)).write(to: URL(fileURLWithPath: path("sig")))
        let verify = try openssl(["pkeyutl", "-verify", "-pubin", "-inkey", path("pub.pem"), "-rawin", "-in", path("msg"),
                                  "-sigfile", path("sig"), "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"])
        #expect(verify.0 == 0 && verify.1.contains("Signature Verified Successfully"), "\(verify.1)")
        let sign = try openssl(["pkeyutl", "-sign", "-inkey", path("key.pem"), "-rawin", "-in", path("msg"),
                                "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-out", path("cli.sig")])
        #expect(sign.0 == 0, "\(sign.1)")
        let cli = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("cli.sig"))))
        #expect(try SM2.verify(cli, of: message, with: key))
    }
}
