import Foundation

/// The `openssl` command line, the independent check of FuelGuomi's answers (where installed).
enum OpenSSLCLI {
    static let path = "/usr/bin/openssl"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Runs `openssl args`: its exit status and its standard output (and error, with `mergingErrors`).
    static func run(_ args: [String], mergingErrors: Bool = true) throws -> (status: Int32, output: Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        if mergingErrors { p.standardError = out }
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }
}
