import ArgumentParser
import FuelAgent
import FuelWire
import Foundation
import Logging

/// `fuelwarden agent`: the station side. Runs the agent, or (`agent status`) reports on its spool.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the station agent: read the station's consoles and drop directory, spool durably, upload to the cloud.",
        subcommands: [Run.self, Status.self], defaultSubcommand: Run.self)

    static func load(_ path: String) -> AgentConfigFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
        do {
            return try AgentConfigFile.decode(yaml: text)
        } catch {
            fail("\(path): \(error)")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent until SIGTERM (the default).")
        @Option(help: "The agent's configuration (see config/agent.example.yaml).") var config: String
        @Option(help: "trace, debug, info, notice, warning, error, critical") var logLevel: String = "info"

        func run() async throws {
            let c = AgentCommand.load(config)
            let logger = makeLogger(Logger.Level(rawValue: logLevel) ?? .info, label: "fuelwarden-agent")
            let agent: StationAgent
            do {
                agent = try StationAgent(config: c, logger: logger)
            } catch {
                fail("\(error)")
            }
            try await agent.run()
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The spool's depth and oldest record, the last acknowledged seq, the last poll of each source, recent errors.")
        @Option(help: "The agent's configuration.") var config: String
        @Flag(help: "Print JSON (as GET /status does).") var json = false

        func run() async throws {
            let c = AgentCommand.load(config)
            let spool: AgentSpool
            do {
                spool = try AgentSpool(directory: c.spoolDirectory, maxBytes: c.spoolMaxBytes)
            } catch {
                fail("spool \(c.spoolDirectory): \(error)")
            }
            let s = try spool.snapshot()
            if json {
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(s), as: UTF8.self))
            } else {
                print(s.text)
            }
        }
    }
}
