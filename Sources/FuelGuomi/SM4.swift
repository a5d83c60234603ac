import COpenSSL

/// SM4 (GB/T 32907-2016), the 128-bit block cipher of China's commercial cryptography, in ECB mode
/// without padding as HJ 212-2025 §6.4 uses it, computed by OpenSSL's libcrypto.
public struct SM4: Sendable {
    public static let blockSize = 16
    public let key: [UInt8]

    public enum InputError: Error, CustomStringConvertible, Sendable {
        case keyLength(Int)
        case partialBlock(Int)
        public var description: String {
            switch self {
            case .keyLength(let n): "an SM4 key is 16 bytes, not \(n)"
            case .partialBlock(let n): "SM4-ECB without padding takes whole 16-byte blocks, not \(n) bytes"
            }
        }
    }

    public init(key: [UInt8]) throws {
        guard key.count == 16 else { throw InputError.keyLength(key.count) }
        self.key = key
    }

    /// Encrypts whole blocks (`bytes.count` a multiple of 16).
    public func encryptBlocks(_ bytes: [UInt8]) throws -> [UInt8] { try run(bytes, encrypt: true) }

    /// Decrypts whole blocks (`bytes.count` a multiple of 16).
    public func decryptBlocks(_ bytes: [UInt8]) throws -> [UInt8] { try run(bytes, encrypt: false) }

    private func run(_ input: [UInt8], encrypt: Bool) throws -> [UInt8] {
        guard input.count % Self.blockSize == 0 else { throw InputError.partialBlock(input.count) }
        guard !input.isEmpty else { return [] }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw OpenSSLError.last("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_CipherInit_ex(ctx, EVP_sm4_ecb(), nil, key, nil, encrypt ? 1 : 0) == 1 else { throw OpenSSLError.last("EVP_CipherInit_ex(sm4-ecb)") }
        EVP_CIPHER_CTX_set_padding(ctx, 0)
        var out = [UInt8](repeating: 0, count: input.count + Self.blockSize)
        var written: Int32 = 0, tail: Int32 = 0
        guard EVP_CipherUpdate(ctx, &out, &written, input, Int32(input.count)) == 1 else { throw OpenSSLError.last("EVP_CipherUpdate(sm4-ecb)") }
        let ok = out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + Int(written), &tail) == 1 }
        guard ok else { throw OpenSSLError.last("EVP_CipherFinal_ex(sm4-ecb)") }
        return Array(out.prefix(Int(written + tail)))
    }
}
