import FuelLedger
#if Lab
import ArgumentParser
import FuelService
import FuelLab
import FuelBench
import Foundation
import FuelSim

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Fuelwarden end to end on a throwaway PostgreSQL with simulated stations and injected faults.")
    @OptionGroup var options: CommonOptions
    @Option(help: "HTTP port of the demo daemon.") var port = 8080
    @Option(help: "Number of simulated stations.") var stations = 20
    @Option(help: "Simulated days.") var days = 2.0
    @Option(help: "Gauge profile of the simulated tanks (as evaluate's --gauge: fine-5m, tenth-15m, mm-15m, …); a coarse gauge's meters and leak method show on the console's station pages after a few days.")
    var gauge: String?
    @Flag(help: "Exit after printing the alerts instead of waiting for Ctrl-C.") var noWait = false

    func run() async throws {
        let config = try await options.load()
        var demo = DemoRunner(config: config, logger: makeLogger(options.logLevel == nil ? .warning : config.logLevel), print: say)
        demo.port = port
        demo.stations = max(1, min(stations, 500))
        demo.days = max(1, min(days, 31))
        if let gauge {
            do { demo.gauge = try GaugeProfile.parse(gauge) } catch { throw ValidationError("--gauge: \(error)") }
        }
        demo.waitForInterrupt = !noWait
        try await demo.run()
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks.", subcommands: [Ingest.self, Load.self, Export.self, Console.self, HJ212Bench.self, AgentBench.self, Growth.self, State.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive a real `fuelwarden serve` (durable throwaway PostgreSQL, detection on) at fixed record rates; print throughput, latency, errors and the daemon's peak RSS.",
            discussion: """
                Open loop: each request is due at its scheduled time and its latency counts from then. With several --rates the \
                steps run in order and stop once p99 exceeds 1 s; the highest rate held below that is the ceiling. Build in \
                release: swift run -c release fuelwarden bench load --rates 1500,3000,4500 --seconds 60
                """)
        @Option(help: "Stations.") var stations = 4_000
        @Option(help: "Records per second, comma-separated steps.") var rates = "1500"
        @Option(help: "Seconds per step.") var seconds = 180.0
        @Option(help: "Records per request.") var batch = 5
        @Option(name: .customLong("pg"), help: "A PostgreSQL parameter for the throwaway cluster, name=value (repeatable), e.g. --pg shared_buffers=2GB.")
        var pg: [String] = []

        func run() async throws {
            let settings = pg.map { item -> (name: String, value: String) in
                let parts = item.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { fail("--pg wants name=value, got \(item)") }
                return (String(parts[0]), String(parts[1]))
            }
            let steps = rates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !steps.isEmpty, steps.allSatisfy({ $0 > 0 }), seconds > 0, batch > 0, stations > 0 else {
                fail("--rates must list positive numbers; --seconds, --batch and --stations must be positive")
            }
            let executable = DaemonProcess.currentExecutable
            var bench = LoadBenchmark(executable: executable, logger: makeLogger(.warning), print: say)
            bench.stations = stations
            bench.rates = steps
            bench.seconds = seconds
            bench.batch = batch
            bench.serverSettings = settings
            let results = try await bench.run()
            let held = results.filter(bench.held)
            if let best = held.max(by: { $0.rate < $1.rate }) {
                say(String(format: "highest rate held with p99 ≤ 250 ms and no errors: %.0f records/s (sustained %.0f)", best.rate, Double(best.records) / best.seconds))
            } else {
                say("no step held p99 ≤ 250 ms without errors")
            }
        }
    }

    struct State: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A station's detector state: its size, JSON encode and decode time (median), and its bytes by part, per gauge profile, with the detect.* settings of the configuration (build with -c release).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Gauge profiles, comma-separated.") var profiles = "fine-1m,fine-5m,mm-15m,mm-15m-24h"
        @Option(help: "Days simulated before the state is measured.") var days = 16.0
        @Option(help: "Seed of the simulation.") var seed: UInt64 = 9
        @Option(help: "Encodes and decodes timed per profile.") var rounds = 200
        @Option(help: "Write each profile's state to DIR/<profile>.json.") var json: String?

        func run() async throws {
            guard days > 0, rounds > 0 else { fail("--days and --rounds must be positive") }
            let config = try await common.load()
            #if DEBUG
            say("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench state")
            #endif
            var bench = StateBenchmark(print: say)
            bench.profiles = profiles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            bench.days = days
            bench.seed = seed
            bench.rounds = rounds
            bench.thresholds = config.detect.thresholds
            bench.jsonDirectory = json
            do { _ = try bench.run() } catch { fail("\(error)") }
        }
    }

    struct Growth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What the ledger's size costs: grow it to each size and measure ingest (records/s, push p99), a station-day's history export and a detector read (build with -c release).")
        @Option(help: "Ledger sizes in rows, comma-separated (M = million).") var sizes = "10M,50M,100M"
        @Option(help: "Stations.") var stations = 400
        @Option(help: "Records per second pushed at each size.") var rate = 1_500.0
        @Option(help: "Seconds of pushing at each size.") var seconds = 20.0
        @Option(help: "Push steps at each size (the table shows the median p99).") var pushSteps = 3
        @Flag(help: "Print what PostgreSQL did for each read at each size (EXPLAIN ANALYZE: time, partitions read, pages).") var explain = false

        func run() async throws {
            let list = sizes.split(separator: ",").compactMap { part -> Int? in
                let t = part.trimmingCharacters(in: .whitespaces).uppercased()
                if t.hasSuffix("M") { return Double(t.dropLast()).map { Int($0 * 1_000_000) } }
                return Int(t)
            }
            guard !list.isEmpty, list.allSatisfy({ $0 > 0 }), list == list.sorted(), stations > 0, rate > 0, seconds > 0, pushSteps > 0 else {
                fail("--sizes must list positive, rising sizes (e.g. 10M,50M); --stations, --rate, --seconds and --push-steps must be positive")
            }
            #if DEBUG
            say("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench growth")
            #endif
            var bench = GrowthBenchmark(executable: DaemonProcess.currentExecutable, logger: makeLogger(.warning), print: say)
            bench.sizes = list
            bench.stations = stations
            bench.rate = rate
            bench.seconds = seconds
            bench.pushSteps = pushSteps
            bench.explain = explain
            _ = try await bench.run()
        }
    }

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push N records for M stations through the HTTP API into a fresh database and COPY the identical rows; print both rates and their ratio.")
        @Option(name: .short, help: "Records per station.") var n = 5_000
        @Option(name: .short, help: "Stations.") var m = 20
        @Option(help: "Records per push request.") var batch = 1_000
        @Option(help: "Concurrent pushing stations.") var concurrency = 4
        @Flag(help: "Run detection while ingesting.") var detection = false
        @Option(help: "Ledger suite of the database: international (SHA-256), guomi (SM3), or both: the push path into each, alternated --pairs times, and guomi's rate as a share of international's.") var suite = "international"
        @Option(help: "With --suite both: how many international/guomi pairs.") var pairs = 3
        @Flag(help: "Print where a record's time goes: HTTP, parse, validate, canonical + hash, batch wait, round trips, COMMIT.") var profile = false
        @Option(help: "Push runs, each followed by the raw COPY of its rows; the ratio reported is the median of the rounds' (this machine's speed drifts run to run).") var rounds = 3

        func run() async throws {
            let ledgerSuite = LedgerSuite(rawValue: suite)
            guard ledgerSuite != nil || suite == "both" else { fail("--suite: expected international, guomi or both, got \"\(suite)\"") }
            guard pairs >= 1 else { fail("--pairs: at least 1") }
            guard rounds >= 1 else { fail("--rounds: at least 1") }
            var bench = IngestBenchmark(logger: makeLogger(.warning), print: say)
            bench.stations = m
            bench.recordsPerStation = n
            bench.batchSize = batch
            bench.concurrency = concurrency
            bench.detection = detection
            bench.profile = profile
            guard let ledgerSuite else {
                _ = try await bench.compareSuites(pairs: pairs)
                return
            }
            bench.suite = ledgerSuite
            _ = try await bench.compareWithCopy(rounds: rounds)
        }
    }

    struct AgentBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent",
            abstract: "The station agent: spool write rate, catch-up after a day offline (150,000 records) over loopback, and steady-state CPU and memory (build with -c release).")
        @Option(help: "Records spooled and caught up.") var records = 150_000
        @Option(help: "Seconds of steady state measured.") var steadySeconds = 60.0

        func run() async throws {
            var bench = AgentBenchmark(logger: makeLogger(.warning), print: say)
            bench.records = records
            bench.steadySeconds = steadySeconds
            try await bench.run()
        }
    }

    struct HJ212Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hj212",
            abstract: "The HJ 212 listener under many devices: each on its own connection sends its packets one after another, each answered after commit; packets/s and answer latency, 2017 plain and 2025 SM4-encrypted (build with -c release).")
        @Option(help: "Devices, one connection each.") var connections = 500
        @Option(help: "Packets per device (the first second or two are the daemon warming up: its registry, clocks and chain heads).") var packets = 100
        @Option(help: "Editions to run: 2017, 2025 or both.") var edition = "both"
        @Flag(help: "Print where a packet's records spend their time in the daemon, stage by stage.") var profile = false

        func run() async throws {
            var bench = HJ212ListenerBenchmark(logger: makeLogger(.warning), print: say)
            bench.connections = connections
            bench.packets = packets
            bench.profile = profile
            switch edition {
            case "2017": bench.editions = [.v2017]
            case "2025": bench.editions = [.v2025]
            case "both": break
            default: fail("--edition: expected 2017, 2025 or both, got \(edition)")
            }
            try await bench.run()
        }
    }

    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the console's pages against 4,000 stations, 20,000 open alerts and a station-year of readings on a throwaway PostgreSQL, and a new alert's way to an SSE client (build with -c release).")
        @Option(help: "Stations in the registry.") var stations = 4_000
        @Option(help: "Open alerts.") var alerts = 20_000
        @Option(help: "Tank readings in the station-year (over its four tanks).") var readings = 420_000
        @Option(help: "Requests per page.") var requests = 40

        func run() async throws {
            var bench = ConsoleBenchmark(logger: makeLogger(.warning), print: say)
            bench.stations = stations
            bench.alerts = alerts
            bench.readings = readings
            bench.requests = requests
            try await bench.run()
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a station-year into a throwaway PostgreSQL and stream it through GET /v1/stations/{id}/history; print the time, bytes, memory and psql COPY of the same rows (build with -c release).")
        @Option(help: "Sales in the year.") var sales = 75_000
        @Option(help: "Tank readings in the year (over the station's four tanks).") var readings = 2_000_000
        @Option(help: "ndjson or csv.") var format = "ndjson"

        func run() async throws {
            var bench = ExportBenchmark(logger: makeLogger(.warning), print: say)
            bench.sales = sales
            bench.readings = readings
            guard let f = HistoryFormat(rawValue: format) else { throw ValidationError("--format: expected ndjson or csv") }
            bench.format = f
            try await bench.run()
        }
    }
}
#endif
