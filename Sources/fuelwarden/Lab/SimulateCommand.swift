#if Lab
import ArgumentParser
import FuelEvaluate
import FuelModel
import FuelService
import FuelLab
import FuelSim
import FuelStore
import FuelWire
import Foundation

/// `fuelwarden simulate`: replays simulated stations into a running daemon through the push API.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay simulated stations into a running daemon (push API), in real time or faster.",
        discussion: """
            The stations are the demo registry's: import it first (`fuelwarden simulate --print-registry --stations N > demo.yaml`,
            then `fuelwarden registry import demo.yaml`). Station keys come from --keys (lines `STATION KEY`), or are issued in
            the daemon's database when it is configured (--database-url / FUELWARDEN_DATABASE_URL / --config).
            """)
    @OptionGroup var options: CommonOptions
    @Option(help: "Base URL of the daemon, e.g. http://127.0.0.1:8080.") var target: String?
    @Option(help: "Simulated stations (the first N of the demo registry).") var stations = 20
    @Option(help: "Simulated days.") var days = 1.0
    @Option(help: "Simulated seconds per real second (1 = real time).") var speed = 1.0
    @Option(help: "Simulator seed.") var seed: UInt64 = 1
    @Option(help: "Start of the simulated period (RFC 3339; default now).") var start: String?
    @Option(help: "File with one `STATION KEY` per line.") var keys: String?
    @Option(help: "Seq of each station's first record (above what the stations already pushed).") var firstSeq: Int64 = 1
    @Flag(help: "Print the demo registry YAML for --stations and exit.") var printRegistry = false
    @Option(help: "Inject the faults in this file (JSON lines, the format `evaluate --ground-truth` writes).") var faults: String?
    @Option(help: "Write DIR/STATION.ndjson (push lines) and DIR/ground-truth.jsonl instead of pushing to --target.") var out: String?

    func run() async throws {
        let yaml = DemoRegistry.yaml(stations: stations)
        if printRegistry {
            print(yaml, terminator: "")
            return
        }
        guard speed > 0, days > 0 else { fail("--speed and --days must be positive") }
        let begin: Timestamp
        if let start {
            guard let t = Timestamp(rfc3339: start) else { fail("--start \(start) is not an RFC 3339 time") }
            begin = t
        } else {
            begin = Timestamp(.now)
        }
        let registry = try RegistryFileDecoder.decode(yaml: yaml)
        var injected: [String: [InjectedFault]] = [:]
        if let faults {
            guard let text = try? String(contentsOfFile: faults, encoding: .utf8) else { fail("--faults: cannot read \(faults)") }
            do { injected = try GroundTruthLine.decodeFile(text) } catch { fail("--faults: \(error)") }
        }
        if let out {
            var replay = SimulationReplay(target: "", stations: registry.stations, keys: [:], start: begin)
            replay.days = days
            replay.seed = seed
            replay.firstSeq = firstSeq
            replay.faults = injected
            let n = try replay.write(to: out)
            say("wrote \(n) records of \(registry.stations.count) stations × \(days) days to \(out)/STATION.ndjson, faults to \(out)/ground-truth.jsonl")
            return
        }
        guard let target else { fail("--target URL is required (the daemon's base URL), or --out DIR") }
        var stationKeys: [String: String] = [:]
        if let keys {
            guard let text = try? String(contentsOfFile: keys, encoding: .utf8) else { fail("cannot read \(keys)") }
            for (n, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count == 2 else { fail("\(keys):\(n + 1): expected `STATION KEY`") }
                stationKeys[String(f[0])] = String(f[1])
            }
        } else {
            let config = try await options.load()
            let url = try config.requireDatabaseURL()
            let db = FuelDatabase(url: url, maxConnections: 2, logger: makeLogger(.warning))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await db.run() }
                defer { group.cancelAll() }
                let tokens = TokenStore(database: db)
                for s in registry.stations {
                    stationKeys[s.id] = try await tokens.issue(role: .station, station: s.id, name: "simulate \(s.id)", actor: "simulate")
                }
            }
        }
        var replay = SimulationReplay(target: target, stations: registry.stations, keys: stationKeys, start: begin)
        replay.days = days
        replay.speed = speed
        replay.seed = seed
        replay.firstSeq = firstSeq
        replay.faults = injected
        say("replaying \(registry.stations.count) stations × \(days) days from \(begin) at \(speed)× into \(target) …")
        let began = ContinuousClock.now
        let outcome = try await replay.run(progress: say)
        let seconds = (ContinuousClock.now - began) / .seconds(1)
        say(String(format: "%d records in %.1f s: %d accepted, %d duplicates, %d rejected", outcome.records, seconds,
                   outcome.verdict.accepted, outcome.verdict.duplicates, outcome.verdict.rejected.count))
        if !outcome.verdict.rejected.isEmpty { throw ExitCode(1) }
    }
}
#endif
