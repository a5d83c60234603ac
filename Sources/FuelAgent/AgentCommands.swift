import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
import Logging

/// `run` and `status`, the agent's two subcommands, shared by `fuelwarden agent` and the standalone
/// `fuelwarden-agent`.
public struct AgentRunCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent until SIGTERM (the default).")
    @Option(help: "The agent's configuration (see config/agent.example.yaml).") var config: String
    @Option(help: "trace, debug, info, notice, warning, error, critical") var logLevel: String = "info"

    public init() {}

    public func run() async throws {
        do {
            try await AgentMain.run(configPath: config, logLevel: Logger.Level(rawValue: logLevel) ?? .info)
        } catch let e as AgentError {
            AgentMain.complain(e)
            throw ExitCode(1)
        }
    }
}

public struct AgentStatusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The spool's depth and oldest record, the last acknowledged seq, the last poll of each source, recent errors.")
    @Option(help: "The agent's configuration.") var config: String
    @Flag(help: "Print JSON (as GET /status does).") var json = false

    public init() {}

    public func run() async throws {
        do {
            print(try AgentMain.status(configPath: config, json: json))
        } catch let e as AgentError {
            AgentMain.complain(e)
            throw ExitCode(1)
        }
    }
}

extension AgentMain {
    /// An error the operator must act on, on standard error.
    static func complain(_ e: AgentError) {
        _ = try? FileDescriptor.standardError.writeAll("fuelwarden-agent: \(e.description)\n".utf8)
    }
}
