import ArgumentParser
import FuelAgent

/// `fuelwarden agent`: the station side, the same as the standalone `fuelwarden-agent`.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the station agent: read the station's consoles and drop directory, spool durably, upload to the cloud.",
        subcommands: [AgentRunCommand.self, AgentStatusCommand.self], defaultSubcommand: AgentRunCommand.self)
}
