import ArgumentParser
import FuelService
import Foundation

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Fuelwarden end to end on a throwaway PostgreSQL with simulated stations and injected faults.")
    @OptionGroup var options: CommonOptions
    @Option(help: "HTTP port of the demo daemon.") var port = 8080
    @Option(help: "Number of simulated stations.") var stations = 20
    @Option(help: "Simulated days.") var days = 2.0
    @Flag(help: "Exit after printing the alerts instead of waiting for Ctrl-C.") var noWait = false

    func run() async throws {
        let config = try await options.load()
        var demo = DemoRunner(config: config, logger: makeLogger(options.logLevel == nil ? .warning : config.logLevel), print: say)
        demo.port = port
        demo.stations = max(1, min(stations, 500))
        demo.days = max(1, min(days, 31))
        demo.waitForInterrupt = !noWait
        try await demo.run()
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks.", subcommands: [Ingest.self])

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push N records for M stations through the HTTP API into a fresh database and COPY the identical rows; print both rates and their ratio.")
        @Option(name: .short, help: "Records per station.") var n = 5_000
        @Option(name: .short, help: "Stations.") var m = 20
        @Option(help: "Records per push request.") var batch = 1_000
        @Option(help: "Concurrent pushing stations.") var concurrency = 4
        @Flag(help: "Run detection while ingesting.") var detection = false

        func run() async throws {
                var bench = IngestBenchmark(logger: makeLogger(.warning), print: say)
            bench.stations = m
            bench.recordsPerStation = n
            bench.batchSize = batch
            bench.concurrency = concurrency
            bench.detection = detection
            try await bench.run()
        }
    }
}
