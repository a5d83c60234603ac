import Crypto
import Foundation
import FuelStore
import Logging
import ServiceLifecycle

/// Signs a checkpoint over every station's chain head every `interval` (when any head moved).
public struct CheckpointService: Service {
    let store: CheckpointStore
    /// The private key's raw bytes (the key type itself is not Sendable).
    let key: [UInt8]
    let origin: String
    let interval: Duration
    let logger: Logger

    public init(store: CheckpointStore, key: Curve25519.Signing.PrivateKey, origin: String, interval: Duration, logger: Logger) {
        self.store = store
        self.key = Array(key.rawRepresentation)
        self.origin = origin
        self.interval = interval
        self.logger = logger
    }

    /// Signs until graceful shutdown.
    public func run() async throws {
        try await untilGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                let signer = try Curve25519.Signing.PrivateKey(rawRepresentation: key)
                if let c = try await store.issue(origin: origin, key: signer) {
                    logger.notice("checkpoint signed", metadata: [
                        "id": "\(c.id)", "tree_size": "\(c.checkpoint.treeSize)", "root": "\(c.checkpoint.root.hexString)",
                    ])
                }
            } catch {
                logger.warning("checkpoint not signed", metadata: ["error": "\(describeDatabaseError(error))"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// A new checkpoint signing key: base64 of the raw private key (for `checkpoint.signing_key`) and of
/// its public key (for regulators who verify checkpoints).
public enum CheckpointKeys {
    public static func generate() -> (privateKey: String, publicKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (key.rawRepresentation.base64EncodedString(), key.publicKey.rawRepresentation.base64EncodedString())
    }
}
