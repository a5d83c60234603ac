import ArgumentParser
import FuelService

@main
struct Fuelwarden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuelwarden",
        abstract: "Tamper-evident monitoring of retail fuel stations.",
        subcommands: [
            Serve.self, Migrate.self, RegistryCommand.self, TokenCommand.self, Verify.self, Demo.self, Bench.self, AtgEmulatorCommand.self, FuzzCommand.self, SimulateCommand.self, EvaluateCommand.self, FaultsCommand.self, CheckpointCommand.self, ExportCommand.self, InspectCommand.self,
        ])
}
