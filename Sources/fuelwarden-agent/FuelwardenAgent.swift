import ArgumentParser
import FuelAgent
import Foundation
import Logging

/// `fuelwarden-agent`: the station agent on its own — the same as `fuelwarden agent`, in a binary
/// that links the agent alone (no PostgreSQL, console or laboratory), for the station's machine.
@main
struct FuelwardenAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuelwarden-agent",
        abstract: "The Fuelwarden station agent: read the station's consoles and drop directory, spool durably, upload to the cloud.",
        subcommands: [Run.self, Status.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent until SIGTERM (the default).")
        @Option(help: "The agent's configuration (see config/agent.example.yaml).") var config: String
        @Option(help: "trace, debug, info, notice, warning, error, critical") var logLevel: String = "info"

        func run() async throws {
            do {
                try await AgentMain.run(configPath: config, logLevel: Logger.Level(rawValue: logLevel) ?? .info)
            } catch let e as AgentError {
                FileHandle.standardError.write(Data("fuelwarden-agent: \(e.description)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The spool, the sources and recent errors.")
        @Option(help: "The agent's configuration.") var config: String
        @Flag(help: "Print JSON (as GET /status does).") var json = false

        func run() async throws {
            do {
                print(try AgentMain.status(configPath: config, json: json))
            } catch let e as AgentError {
                FileHandle.standardError.write(Data("fuelwarden-agent: \(e.description)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
