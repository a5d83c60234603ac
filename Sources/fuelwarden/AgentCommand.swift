import ArgumentParser
import FuelAgent
import Logging

/// `fuelwarden agent`: the station side. Runs the agent, or (`agent status`) reports on its spool.
/// (The same as the standalone `fuelwarden-agent` executable.)
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the station agent: read the station's consoles and drop directory, spool durably, upload to the cloud.",
        subcommands: [Run.self, Status.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent until SIGTERM (the default).")
        @Option(help: "The agent's configuration (see config/agent.example.yaml).") var config: String
        @Option(help: "trace, debug, info, notice, warning, error, critical") var logLevel: String = "info"

        func run() async throws {
            do {
                try await AgentMain.run(configPath: config, logLevel: Logger.Level(rawValue: logLevel) ?? .info)
            } catch let e as AgentError {
                fail(e.description)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The spool's depth and oldest record, the last acknowledged seq, the last poll of each source, recent errors.")
        @Option(help: "The agent's configuration.") var config: String
        @Flag(help: "Print JSON (as GET /status does).") var json = false

        func run() async throws {
            do {
                print(try AgentMain.status(configPath: config, json: json))
            } catch let e as AgentError {
                fail(e.description)
            }
        }
    }
}
