import Crypto
import FuelGuomi

/// The cryptography a ledger is sealed with, chosen when its database is first migrated and kept
/// with it (`ledger.suite`): the hash of chain links, content hashes and Merkle trees, and the
/// signature of checkpoints.
///
/// - `international`: SHA-256 (FIPS 180-4) and Ed25519 (RFC 8032), through swift-crypto;
/// - `guomi` (国密, China's commercial cryptography, as GB/T 39786-2021 assessments expect): SM3
///   (GB/T 32905-2016) and SM2 signatures with SM3 and the default signer id `1234567812345678`
///   (GB/T 32918), through OpenSSL 3's libcrypto.
///
/// The structure is the same under both (links, RFC 9162 trees, the signed note); only the
/// primitives differ, so every digest is 32 bytes either way.
public enum LedgerSuite: String, Sendable, Hashable, Codable, CaseIterable {
    case international
    case guomi

    /// The hash's name in messages and exports.
    public var hashName: String { self == .international ? "SHA-256" : "SM3" }
    /// The checkpoint signature's name.
    public var signatureName: String { self == .international ? "Ed25519" : "SM2" }
    /// `international (SHA-256, Ed25519)`.
    public var summary: String { "\(rawValue) (\(hashName), \(signatureName))" }

    /// The digest of the parts, concatenated.
    public func digest(_ parts: [UInt8]...) -> Digest32 {
        switch self {
        case .international:
            var h = SHA256()
            for p in parts { h.update(data: p) }
            return Array(h.finalize())
        case .guomi:
            // OpenSSL fails here only without memory or without SM3 (a libcrypto built without it),
            // which `LedgerSuite.checkAvailable()` reports at startup; neither is a matter of input.
            do {
                var h = try SM3()
                for p in parts { try h.update(p) }
                return try h.finalize()
            } catch {
                preconditionFailure("SM3 through OpenSSL failed: \(error)")
            }
        }
    }

    /// Nil when the suite's primitives work here, else why not (an OpenSSL without SM2/SM3).
    public func unavailability() -> String? {
        guard self == .guomi else { return nil }
        do {
            guard try SM3.hash(Array("abc".utf8)).hexString == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" else {
                return "OpenSSL's SM3 does not give the GB/T 32905 test vector"
            }
            _ = try SM2.Key.generate()
            return nil
        } catch {
            return "OpenSSL cannot do SM2/SM3 here: \(error)"
        }
    }
}
