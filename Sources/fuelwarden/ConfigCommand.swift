import ArgumentParser
import FuelService

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "The configuration: its documented keys, and a check of a file.",
        subcommands: [Example.self, Check.self])

    struct Example: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every configuration key with its meaning and default, as YAML (config/fuelwarden.example.yaml is this output).")
        func run() async throws {
            print(ConfigExample.yaml(), terminator: "")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the configuration (flags, environment, file) as serve would; exit 1 naming the first key that cannot be used.")
        @OptionGroup var options: CommonOptions
        func run() async throws {
            let config = try await options.load()
            _ = try config.requireDatabaseURL()
            _ = try config.checkpointKey()
            _ = try config.loadFeeds()
            print("configuration is usable")
        }
    }
}
