import Crypto
import FuelGuomi
import Foundation

/// Why a checkpoint key cannot be read.
public struct CheckpointKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// The private key that signs checkpoints, of the ledger's suite: Ed25519 (`international`,
/// written as base64 of its 32 raw bytes) or SM2 (`guomi`, written as PEM, PKCS #8).
/// Ed25519 keys are kept as their raw bytes (swift-crypto's key types are not `Sendable`).
public enum CheckpointSigningKey: Sendable {
    case ed25519(raw: [UInt8])
    case sm2(SM2.Key)

    /// An Ed25519 key.
    public static func ed25519(_ key: Curve25519.Signing.PrivateKey) -> CheckpointSigningKey { .ed25519(raw: Array(key.rawRepresentation)) }

    public var suite: LedgerSuite {
        switch self {
        case .ed25519: .international
        case .sm2: .guomi
        }
    }

    /// A new key of `suite`.
    public static func generate(_ suite: LedgerSuite) throws -> CheckpointSigningKey {
        switch suite {
        case .international: .ed25519(Curve25519.Signing.PrivateKey())
        case .guomi: .sm2(try SM2.Key.generate())
        }
    }

    /// Reads a key as `checkpoint keygen` writes it: PEM is SM2, anything else base64 Ed25519.
    public static func parse(_ text: String) throws(CheckpointKeyError) -> CheckpointSigningKey {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("-----BEGIN") {
            guard let key = try? SM2.Key.pem(t), key.isPrivate else {
                throw CheckpointKeyError("not an SM2 private key in PEM (PKCS #8), as `checkpoint keygen --suite guomi` writes")
            }
            return .sm2(key)
        }
        guard let bytes = Data(base64Encoded: t), bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw CheckpointKeyError("not base64 of a 32-byte Ed25519 private key, nor an SM2 private key in PEM")
        }
        return .ed25519(key)
    }

    /// The key as it is written to a file or a setting.
    public func text() throws -> String {
        switch self {
        case .ed25519(let raw): Data(raw).base64EncodedString()
        case .sm2(let k): try k.privatePEM()
        }
    }

    public var publicKey: CheckpointPublicKey {
        get throws {
            switch self {
            case .ed25519(let raw): .ed25519(raw: Array(try Curve25519.Signing.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation))
            case .sm2(let k): .sm2(try SM2.Key.pem(try k.publicPEM()))
            }
        }
    }

    /// The signature of `message`.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        switch self {
        case .ed25519(let raw): Array(try Curve25519.Signing.PrivateKey(rawRepresentation: raw).signature(for: Data(message)))
        case .sm2(let k): try SM2.sign(message, with: k)
        }
    }
}

/// The public key regulators check checkpoints with: Ed25519 (base64 of its 32 raw bytes) or SM2
/// (PEM, SubjectPublicKeyInfo — what `openssl pkeyutl -verify` reads).
public enum CheckpointPublicKey: Sendable {
    case ed25519(raw: [UInt8])
    case sm2(SM2.Key)

    /// An Ed25519 key.
    public static func ed25519(_ key: Curve25519.Signing.PublicKey) -> CheckpointPublicKey { .ed25519(raw: Array(key.rawRepresentation)) }

    public var suite: LedgerSuite {
        switch self {
        case .ed25519: .international
        case .sm2: .guomi
        }
    }

    public static func parse(_ text: String) throws(CheckpointKeyError) -> CheckpointPublicKey {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("-----BEGIN") {
            guard let key = try? SM2.Key.pem(t) else { throw CheckpointKeyError("not an SM2 public key in PEM") }
            return .sm2(key)
        }
        guard let bytes = Data(base64Encoded: t), bytes.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else {
            throw CheckpointKeyError("not base64 of a 32-byte Ed25519 public key, nor an SM2 public key in PEM")
        }
        return .ed25519(key)
    }

    /// The key as it is handed to verifiers.
    public func text() throws -> String {
        switch self {
        case .ed25519(let raw): Data(raw).base64EncodedString()
        case .sm2(let k): try k.publicPEM()
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch self {
        case .ed25519(let raw):
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw))?.isValidSignature(Data(signature), for: Data(message)) ?? false
        case .sm2(let k): (try? SM2.verify(signature, of: message, with: k)) ?? false
        }
    }
}
