import ArgumentParser

@main
struct Fuelwarden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuelwarden",
        abstract: "Tamper-evident monitoring of retail fuel stations.",
        subcommands: daemonCommands + labCommands)

    /// What an operator runs in production.
    static let daemonCommands: [any ParsableCommand.Type] = [
        Serve.self, Migrate.self, ConfigCommand.self, RegistryCommand.self, TokenCommand.self, Verify.self, CheckpointCommand.self,
        ExportCommand.self, ArchiveCommand.self, InspectCommand.self, AgentCommand.self,
    ]

    #if Lab
    /// The laboratory (the `Lab` trait, on by default): demo, simulation, evaluation, benchmarks, fault tests, fuzzing.
    static let labCommands: [any ParsableCommand.Type] = [
        Demo.self, Bench.self, AtgEmulatorCommand.self, FuzzCommand.self, SimulateCommand.self, EvaluateCommand.self, FaultsCommand.self,
    ]
    #else
    static let labCommands: [any ParsableCommand.Type] = []
    #endif
}
