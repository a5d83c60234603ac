import ArgumentParser
import FuelAgent

/// `fuelwarden-agent`: the station agent on its own — the same as `fuelwarden agent`, in a binary
/// that links the agent alone (no PostgreSQL, console or laboratory), for the station's machine.
@main
struct FuelwardenAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuelwarden-agent",
        abstract: "The Fuelwarden station agent: read the station's consoles and drop directory, spool durably, upload to the cloud.",
        subcommands: [AgentRunCommand.self, AgentStatusCommand.self], defaultSubcommand: AgentRunCommand.self)
}
