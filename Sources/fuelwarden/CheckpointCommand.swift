import ArgumentParser
import FuelLedger
import FuelService

/// `fuelwarden checkpoint keygen`: a signing key for checkpoints.
struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Signed checkpoints.", subcommands: [Keygen.self])

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new key of a ledger suite: the private key for checkpoint.signing_key, the public key for those who verify.",
            discussion: "international: Ed25519, both keys as base64 on one line each. guomi: SM2, both keys as PEM (save each to a file; the public one is what `openssl pkeyutl -verify` reads).")
        @Option(help: "The ledger suite the key is for: international (Ed25519) or guomi (SM2).")
        var suite: String = "international"

        func run() async throws {
            guard let s = LedgerSuite(rawValue: suite.lowercased()) else { fail("--suite: expected international or guomi, got \"\(suite)\"") }
            let (priv, pub) = try CheckpointKeys.generate(s)
            if s == .international {
                print("private key (checkpoint.signing_key; keep it secret): \(priv)")
                print("public key (give to regulators; verify --public-key):  \(pub)")
            } else {
                print("# SM2 private key (checkpoint.signing_key: save to a file of mode 0600; keep it secret)")
                print(priv, terminator: priv.hasSuffix("\n") ? "" : "\n")
                print("# SM2 public key (give to regulators; verify --public-key FILE)")
                print(pub, terminator: pub.hasSuffix("\n") ? "" : "\n")
            }
        }
    }
}
