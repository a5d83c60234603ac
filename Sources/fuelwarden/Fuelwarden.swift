import ArgumentParser
import NIOCore
import NIOPosix

@main
struct Fuelwarden: AsyncParsableCommand {
    /// NIO's event loops become Swift Concurrency's global executor before anything runs: a
    /// request's tasks then run on the thread that reads its socket, instead of hopping between
    /// the event loops and the concurrency pool for every await (most of the CPU of a small push
    /// went into those thread switches).
    static func main() async {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "fuelwarden",
        abstract: "Tamper-evident monitoring of retail fuel stations.",
        subcommands: daemonCommands + labCommands)

    /// What an operator runs in production.
    static let daemonCommands: [any ParsableCommand.Type] = [
        Serve.self, Migrate.self, ConfigCommand.self, RegistryCommand.self, TokenCommand.self, Verify.self, CheckpointCommand.self,
        ExportCommand.self, InspectCommand.self,
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
