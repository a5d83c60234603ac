import COpenSSL

/// SM2 signatures (GB/T 32918-2016) with SM3 and a signer's distinguishing id (GM/T 0009's
/// default `1234567812345678`), computed by OpenSSL's libcrypto. Keys travel as PEM (PKCS #8 for
/// the private key, SubjectPublicKeyInfo for the public one), so the `openssl` command line reads
/// them: `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -digest sm3 -pkeyopt distid:ID`.
public enum SM2 {
    /// GM/T 0009-2012's default signer id.
    public static let defaultID = Array("1234567812345678".utf8)

    /// An SM2 key pair, or a public key alone.
    public final class Key: @unchecked Sendable {
        let pointer: OpaquePointer
        /// Whether the private half is present.
        public let isPrivate: Bool

        init(_ pointer: OpaquePointer, isPrivate: Bool) {
            self.pointer = pointer
            self.isPrivate = isPrivate
        }
        deinit { EVP_PKEY_free(pointer) }

        /// A new key pair.
        public static func generate() throws -> Key {
            guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else { throw OpenSSLError.last("EVP_PKEY_CTX_new_from_name(SM2)") }
            defer { EVP_PKEY_CTX_free(ctx) }
            var key: OpaquePointer?
            guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_generate(ctx, &key) == 1, let key else { throw OpenSSLError.last("EVP_PKEY_generate(SM2)") }
            return Key(key, isPrivate: true)
        }

        /// A key from PEM: a private key (PKCS #8) or a public key (SubjectPublicKeyInfo).
        public static func pem(_ text: String) throws -> Key {
            let bytes = Array(text.utf8)
            guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else { throw OpenSSLError.last("BIO_new_mem_buf") }
            defer { BIO_free(bio) }
            let isPrivate = text.contains("PRIVATE KEY")
            let key = isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
            guard let key else { throw OpenSSLError.last(isPrivate ? "PEM_read_bio_PrivateKey" : "PEM_read_bio_PUBKEY") }
            guard EVP_PKEY_is_a(key, "SM2") == 1 else {
                EVP_PKEY_free(key)
                throw OpenSSLError(call: "SM2.Key.pem", reason: "the key is not an SM2 key")
            }
            return Key(key, isPrivate: isPrivate)
        }

        /// The private key as PEM (PKCS #8, unencrypted: keep the file mode 0600).
        public func privatePEM() throws -> String {
            guard isPrivate else { throw OpenSSLError(call: "SM2.Key.privatePEM", reason: "this is a public key") }
            return try Self.write { PEM_write_bio_PrivateKey($0, pointer, nil, nil, 0, nil, nil) == 1 }
        }

        /// The public key as PEM (SubjectPublicKeyInfo).
        public func publicPEM() throws -> String { try Self.write { PEM_write_bio_PUBKEY($0, pointer) == 1 } }

        private static func write(_ body: (OpaquePointer) -> Bool) throws -> String {
            guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.last("BIO_new") }
            defer { BIO_free(bio) }
            guard body(bio) else { throw OpenSSLError.last("PEM_write_bio") }
            let n = Int(BIO_ctrl_pending(bio))
            var out = [UInt8](repeating: 0, count: n)
            guard BIO_read(bio, &out, Int32(n)) == Int32(n) else { throw OpenSSLError.last("BIO_read") }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The DER signature of `message` (SM3 over Z(id, key) and the message) with the private key.
    public static func sign(_ message: [UInt8], with key: Key, id: [UInt8] = defaultID) throws -> [UInt8] {
        guard key.isPrivate else { throw OpenSSLError(call: "SM2.sign", reason: "signing needs the private key") }
        return try withContext(key, id: id, sign: true) { mctx in
            var length = 0
            guard EVP_DigestSign(mctx, nil, &length, message, message.count) == 1 else { throw OpenSSLError.last("EVP_DigestSign(size)") }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(mctx, &signature, &length, message, message.count) == 1 else { throw OpenSSLError.last("EVP_DigestSign") }
            return Array(signature.prefix(length))
        }
    }

    /// Whether `signature` is the key's SM2 signature of `message` under `id`.
    public static func verify(_ signature: [UInt8], of message: [UInt8], with key: Key, id: [UInt8] = defaultID) throws -> Bool {
        try withContext(key, id: id, sign: false) { mctx in
            let result = EVP_DigestVerify(mctx, signature, signature.count, message, message.count)
            ERR_clear_error()  // a bad signature leaves its reason on the queue; it is an answer, not an error
            return result == 1
        }
    }

    private static func withContext<T>(_ key: Key, id: [UInt8], sign: Bool, _ body: (OpaquePointer) throws -> T) throws -> T {
        // The key context carries the signer id; the digest context uses it but does not own it,
        // so it is freed after the digest context (defers run last-declared first).
        guard let pctx = EVP_PKEY_CTX_new(key.pointer, nil) else { throw OpenSSLError.last("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(pctx) }
        guard let mctx = EVP_MD_CTX_new() else { throw OpenSSLError.last("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(mctx) }
        guard EVP_PKEY_CTX_set1_id(pctx, id, Int32(id.count)) == 1 else { throw OpenSSLError.last("EVP_PKEY_CTX_set1_id") }
        EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        let ok = sign ? EVP_DigestSignInit(mctx, nil, EVP_sm3(), nil, key.pointer) : EVP_DigestVerifyInit(mctx, nil, EVP_sm3(), nil, key.pointer)
        guard ok == 1 else { throw OpenSSLError.last(sign ? "EVP_DigestSignInit(sm3)" : "EVP_DigestVerifyInit(sm3)") }
        return try body(mctx)
    }
}
