import ArgumentParser
import FuelService

/// `fuelwarden checkpoint keygen`: a signing key for checkpoints.
struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Signed checkpoints.", subcommands: [Keygen.self])

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new Ed25519 key: the private key for checkpoint.signing_key, the public key for those who verify.")
        func run() async throws {
            let (priv, pub) = CheckpointKeys.generate()
            print("private key (checkpoint.signing_key; keep it secret): \(priv)")
            print("public key (give to regulators; verify --public-key):  \(pub)")
        }
    }
}
