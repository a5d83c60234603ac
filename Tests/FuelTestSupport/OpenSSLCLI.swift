import Foundation
import FuelPostgresFixture

/// The `openssl` command line, the independent check of FuelGuomi's answers and the maker of test
/// certificates (where installed).
package enum OpenSSLCLI {
    package static let path = "/usr/bin/openssl"
    package static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Runs `openssl args`: its exit status and its standard output (and error, with `mergingErrors`).
    package static func run(_ args: [String], mergingErrors: Bool = true) throws -> (status: Int32, output: Data) {
        try SpawnedProcess.capture([path] + args, mergingErrors: mergingErrors)
    }
}
