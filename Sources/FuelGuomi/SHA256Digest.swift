import COpenSSL

/// SHA-256 through OpenSSL's libcrypto, for the station agent: swift-crypto's `Crypto` imports the
/// full Foundation on Linux, which the agent is built without (issue 16), and libcrypto is linked
/// already for SM4. Digests are what `SHA256.hash` gives (FIPS 180-4).
public enum SHA256Digest {
    public static let byteCount = 32

    /// The digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBufferPointer { EVP_Digest($0.baseAddress, $0.count, &out, &length, EVP_sha256(), nil) == 1 }
        guard ok, Int(length) == byteCount else { throw OpenSSLError.last("EVP_Digest(sha256)") }
        return out
    }
}
