import FuelModel
import FuelWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
import Logging

/// What `fuelwarden agent run|status` and the standalone `fuelwarden-agent` executable do: one
/// implementation, two thin command lines (the standalone one links the agent alone, a fraction of
/// the daemon's binary, for the station's small machine).
public enum AgentMain {
    /// Reads an agent configuration; the error names the file and the field.
    public static func load(_ path: String) throws -> AgentConfigFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw AgentError("cannot read \(path)") }
        do {
            return try AgentConfigFile.decode(yaml: text)
        } catch {
            throw AgentError("\(path): \(error)")
        }
    }

    /// Runs the agent until SIGTERM or SIGINT.
    public static func run(configPath: String, logLevel: Logger.Level) async throws {
        let config = try load(configPath)
        // Built without ICU, this process knows zones by name only through the C library.
        if TimeZone(identifier: config.timezone) == nil, !LocalClock.useAsProcessZone(config.timezone) {
            throw AgentError("\(configPath): timezone: unknown time zone \(config.timezone) (not in the system's zone database; install tzdata)")
        }
        var logger = Logger(label: "fuelwarden-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        try await StationAgent(config: config, logger: logger).run()
    }

    /// The status report of the agent configured at `configPath` (text, or JSON as `/status` gives it).
    public static func status(configPath: String, json: Bool) throws -> String {
        let c = try load(configPath)
        let file = FilePath(c.spoolDirectory).appending("spool.sqlite").string
        guard FileManager.default.fileExists(atPath: file) else {
            throw AgentError("no spool at \(file): the agent has not run with this configuration yet")
        }
        let spool = try AgentSpool(directory: c.spoolDirectory, maxBytes: c.spoolMaxBytes)
        let s = try spool.snapshot()
        guard json else { return s.text }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(s), as: UTF8.self)
    }
}
