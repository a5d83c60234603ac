import ArgumentParser
import FuelService
import Foundation
import Logging

/// Options every command that talks to the database shares. Flags override the environment
/// (`FUELWARDEN_*`), which overrides the configuration file.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML); also FUELWARDEN_CONFIG.")
    var config: String?

    @Option(name: .long, help: "PostgreSQL URL (database.url, FUELWARDEN_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (log.level).")
    var logLevel: String?

    func load(extra: [String: String] = [:]) async throws -> FuelwardenConfig {
        var overrides = extra
        if let databaseURL { overrides["database.url"] = databaseURL }
        if let logLevel { overrides["log.level"] = logLevel }
        return try await ConfigLoader.load(file: config, overrides: overrides)
    }
}

func makeLogger(_ level: Logger.Level, label: String = "fuelwarden") -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}

/// Prints a message to standard error and exits non-zero: for errors an operator must act on.
func fail(_ message: String, code: Int32 = 1) -> Never {
    // What was printed before goes out first: through a pipe or file stdout is buffered until exit,
    // and the reason would otherwise come before the lines it follows.
    fflush(nil)
    FileHandle.standardError.write(Data("fuelwarden: \(message)\n".utf8))
    exit(code)
}

/// Writes a line to standard output unbuffered, so progress shows as it happens, also through a pipe.
@Sendable func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
