import COpenSSL

/// SM3 (GB/T 32905-2016), the 256-bit hash of China's commercial cryptography, computed by OpenSSL's
/// libcrypto (a kept library: no hand-written hash here).
public struct SM3: Sendable {
    public static let byteCount = 32

    /// The digest of `bytes`.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) throws -> [UInt8] where Bytes.Element == UInt8 {
        var h = try SM3()
        try h.update(bytes)
        return try h.finalize()
    }

    private let context: Context

    /// The EVP context, freed with the last value that holds it. Copies of an `SM3` share it: feed
    /// one value, then finalise it once.
    final class Context: @unchecked Sendable {
        let pointer: OpaquePointer
        init() throws {
            guard let p = EVP_MD_CTX_new() else { throw OpenSSLError.last("EVP_MD_CTX_new") }
            pointer = p
        }
        deinit { EVP_MD_CTX_free(pointer) }
    }

    /// The SM3 implementation, fetched once: OpenSSL 3 looks an algorithm up in its provider tables on
    /// every init given `EVP_sm3()`, which costs more than hashing a short record; an explicitly
    /// fetched one is used as is. (Immutable once fetched and reference-counted by OpenSSL, so
    /// sharing it between threads is what OpenSSL documents as safe.)
    nonisolated(unsafe) private static let fetched: OpaquePointer? = EVP_MD_fetch(nil, "SM3", nil)

    public init() throws {
        context = try Context()
        guard let md = Self.fetched ?? EVP_sm3(), EVP_DigestInit_ex2(context.pointer, md, nil) == 1 else {
            throw OpenSSLError.last("EVP_DigestInit_ex2(sm3)")
        }
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        let ok = bytes.withContiguousStorageIfAvailable { buffer in
            EVP_DigestUpdate(context.pointer, buffer.baseAddress, buffer.count) == 1
        } ?? Array(bytes).withUnsafeBufferPointer { EVP_DigestUpdate(context.pointer, $0.baseAddress, $0.count) == 1 }
        guard ok else { throw OpenSSLError.last("EVP_DigestUpdate(sm3)") }
    }

    public func finalize() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.byteCount)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context.pointer, &out, &length) == 1, Int(length) == Self.byteCount else {
            throw OpenSSLError.last("EVP_DigestFinal_ex(sm3)")
        }
        return out
    }
}
