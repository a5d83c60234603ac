import Crypto
import Foundation
import FuelFeeds
import FuelLedger
import FuelStore
import Logging
import ServiceLifecycle

/// Signs a checkpoint over every station's chain head every `interval` (when any head moved).
public struct CheckpointService: Service {
    let store: CheckpointStore
    let key: CheckpointSigningKey
    let origin: String
    let interval: Duration
    let logger: Logger

    public init(store: CheckpointStore, key: CheckpointSigningKey, origin: String, interval: Duration, logger: Logger) {
        self.store = store
        self.key = key
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
                if let c = try await store.issue(origin: origin, key: key) {
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

/// A new checkpoint signing key of a suite: the private key as `checkpoint.signing_key` takes it
/// (Ed25519 base64, SM2 PEM) and the public key for regulators who verify checkpoints.
public enum CheckpointKeys {
    public static func generate(_ suite: LedgerSuite = .international) throws -> (privateKey: String, publicKey: String) {
        let key = try CheckpointSigningKey.generate(suite)
        return (try key.text(), try key.publicKey.text())
    }
}
