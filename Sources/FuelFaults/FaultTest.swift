import AsyncHTTPClient
import Foundation
import FuelClient
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelStore
import Logging

/// `fuelwarden faults`: the daemon's promises under faults, each scenario against a durable
/// throwaway PostgreSQL and real `fuelwarden serve` processes, with collectors that record exactly
/// which records got a 200. Every scenario ends with a census of the ledger (acknowledged / found /
/// lost / duplicated) and `fuelwarden verify`.
package struct FaultTest: Sendable {
    package enum Scenario: String, CaseIterable, Sendable {
        /// `kill -9` of the daemon in the middle of sustained pushes, then a restart.
        case kill
        /// PostgreSQL stopped under load for `outageSeconds`, then started again.
        case outage
        /// Three daemons on one database, the same records (and the same seq) pushed to several at once.
        case replicas
        /// Detector state across a `kill -9`: alerts compared with an uninterrupted in-process run.
        case detector
        /// Garbage, truncated, oversized and slow input on the push API, the HJ 212 listener and the ATG consoles.
        case badinput
        /// A rolling upgrade: an expand migration with a backfill and a concurrent index under load,
        /// the replicas replaced one at a time, one rolled back.
        case upgrade
        /// The station agent through a proxy that cuts, stalls and refuses; the agent killed three
        /// times, the daemon once; the spool ceiling hit during the outage.
        case agent
        /// A primary with a synchronous standby, the primary killed under load and the standby
        /// promoted; the daemon (given both hosts) follows without a restart.
        case failover
        /// The same with asynchronous replication: what an acknowledged record can be lost to.
        case failoverAsync = "failover-async"
        /// A closed month archived to files and dropped while the collectors push.
        case archive
    }

    package var scenarios: [Scenario] = Scenario.allCases
    package var stations = 40
    /// Seconds of pushing in the kill and replica scenarios (and before plus after the outage).
    package var seconds = 30.0
    package var outageSeconds = 30.0
    package var recordsPerSecond = 400.0
    /// Days of simulated data per station in the detector scenario.
    package var detectorDays = 3.0
    package var detectorStations = 8
    /// Connections trickling request headers in the bad-input scenario (a fifth as many trickle a body).
    package var slowConnections = 1_000
    /// Ledger rows preloaded for the upgrade scenario's backfill to walk.
    package var upgradeRows = 1_000_000
    /// Seconds between the agent scenario's faults, and of its outage.
    package var agentPhaseSeconds = 10.0
    package var agentOutageSeconds = 30.0
    /// Seconds between the primary's death and the standby's promotion in the failover scenarios.
    package var promoteAfterSeconds = 3.0
    package var executable: String
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(executable: String, logger: Logger, print: @escaping @Sendable (String) -> Void) {
        self.executable = executable
        self.logger = logger
        self.print = print
    }

    /// A pass/fail fact a scenario checks besides the census.
    package struct Check: Sendable {
        package var name: String
        package var passed: Bool
        package var detail: String
    }

    package struct Result: Sendable {
        package var scenario: Scenario
        package var census = LedgerCensus()
        package var checks: [Check] = []
        package var facts: [String] = []
        package var seconds = 0.0
        /// Losses are the finding, not a failure (asynchronous replication's failover).
        package var lossesExpected = false
        package var passed: Bool { (census.isClean || (lossesExpected && census.duplicated == 0 && census.brokenChains.isEmpty)) && checks.allSatisfy(\.passed) }

        mutating func check(_ name: String, _ passed: Bool, _ detail: String) { checks.append(Check(name: name, passed: passed, detail: detail)) }
    }

    /// Runs the scenarios in order and prints each one's outcome as it ends.
    package func run() async throws -> [Result] {
        var results: [Result] = []
        for s in scenarios {
            print("▶ \(s.rawValue)")
            let began = ContinuousClock.now
            var r: Result
            switch s {
            case .kill: r = try await killScenario()
            case .outage: r = try await outageScenario()
            case .replicas: r = try await replicaScenario()
            case .detector: r = try await detectorScenario()
            case .badinput: r = try await badInputScenario()
            case .upgrade: r = try await upgradeScenario()
            case .agent: r = try await agentScenario()
            case .failover: r = try await failoverScenario(synchronous: true)
            case .failoverAsync: r = try await failoverScenario(synchronous: false)
            case .archive: r = try await archiveScenario()
            }
            r.seconds = (ContinuousClock.now - began) / .seconds(1)
            print(Self.describe(r))
            results.append(r)
        }
        print(Self.table(results))
        return results
    }

    package static func describe(_ r: Result) -> String {
        var out: [String] = []
        for f in r.facts { out.append("  · \(f)") }
        for c in r.checks { out.append("  \(c.passed ? "✓" : "✗") \(c.name): \(c.detail)") }
        for e in r.census.examples { out.append("  ! \(e)") }
        return out.joined(separator: "\n")
    }

    /// The summary: per scenario, records acknowledged / found in the ledger / lost / duplicated.
    package static func table(_ results: [Result]) -> String {
        func col(_ v: Any, _ w: Int) -> String { let t = "\(v)"; return String(repeating: " ", count: max(0, w - t.count)) + t }
        var lines = ["", "scenario       " + col("acknowledged", 13) + col("found", 10) + col("lost", 7) + col("duplicated", 12) + "   verdict   seconds"]
        for r in results {
            let name = r.scenario.rawValue + String(repeating: " ", count: max(0, 14 - r.scenario.rawValue.count))
            lines.append(name + " " + col(r.census.acknowledged, 13) + col(r.census.found, 10) + col(r.census.lost, 7) + col(r.census.duplicated, 12)
                         + "   " + (r.passed ? "pass   " : "FAIL   ") + col(String(format: "%.0f", r.seconds), 10))
        }
        return lines.joined(separator: "\n")
    }

    // MARK: shared steps

    func makeDaemon(_ fixture: ProvinceFixture, logDirectory: String, name: String, environment: [String: String] = [:]) throws -> DaemonProcess {
        DaemonProcess(executable: executable, databaseURL: fixture.url, port: try ThrowawayCluster.freePort(),
                      logPath: "\(logDirectory)/\(name).log", environment: environment)
    }

    /// An HJ 212 device for `station` in a feeds file under `directory`, and the daemon settings that
    /// enable the listener on a port of its own.
    static func hj212Feed(station: String, directory: String) throws -> (environment: [String: String], port: Int, mn: String, password: String) {
        let mn = "88888880000001", password = "123456"
        let port = try ThrowawayCluster.freePort()
        try "hj212_devices:\n  - {mn: \"\(mn)\", station: \(station), password: \"\(password)\", al_ratio: {q01: N1}, tank_pressure: {p01: T1}}\n"
            .write(toFile: "\(directory)/feeds.yaml", atomically: true, encoding: .utf8)
        return (["FUELWARDEN_FEEDS_FILE": "\(directory)/feeds.yaml", "FUELWARDEN_FEEDS_HJ212_ENABLED": "true",
                 "FUELWARDEN_FEEDS_HJ212_PORT": "\(port)"], port, mn, password)
    }

    func withHTTP<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            let v = try await body(http)
            try await http.shutdown()
            return v
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Starts `daemon`, waits until it is ready, and sets the fleet of collectors pushing to it
    /// (until `control` drains; the task answers the collectors).
    func startPushing(to daemon: DaemonProcess, _ fixture: ProvinceFixture, lines: SyntheticLines, http: HTTPClient) async throws
        -> (FuelwardenClient, CollectorFleet.Control, Task<[Collector], Never>) {
        let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
        try daemon.start()
        try await daemon.waitUntilReady(client: client)
        var fleet = CollectorFleet()
        fleet.recordsPerSecond = recordsPerSecond
        let control = CollectorFleet.Control()
        let collectors = self.collectors(fixture, lines: lines)
        let pushing = Task { [fleet] in await fleet.drive(collectors, clients: [client], control: control) }
        return (client, control, pushing)
    }

    func collectors(_ fixture: ProvinceFixture, lines: SyntheticLines) -> [Collector] {
        fixture.registry.stations.prefix(stations).map { Collector(station: $0.id, key: fixture.keys[$0.id]!, lines: lines) }
    }

    /// Data time of the synthetic records: a day ago, so every record is in the past.
    static func syntheticLines() -> SyntheticLines { SyntheticLines(start: Timestamp(.now).adding(seconds: -86_400)) }

    /// The census and the checks every push scenario shares: collectors complete, chains intact.
    func finish(_ r: inout Result, fleet: [Collector], lines: SyntheticLines, fixture: ProvinceFixture) async throws {
        try await finish(&r, fleet: fleet, lines: lines, databaseURL: fixture.url)
    }

    /// The census and `verify` against the database at `databaseURL` (after a failover: the promoted standby).
    func finish(_ r: inout Result, fleet: [Collector], lines: SyntheticLines, databaseURL: String) async throws {
        print("  counting the ledger and running fuelwarden verify")
        r.census = try await ProvinceFixture.withDatabase(url: databaseURL, logger: logger) { db in try await LedgerCensus.take(fleet, lines: lines, database: db) }
        let c = r.census
        // After an asynchronous failover, records acknowledged and then lost are gone from the chain too.
        let expectedRows = c.generated - (r.lossesExpected ? c.lost : 0)
        r.check("retries complete the chains", c.unacknowledged == 0 && c.rows == expectedRows,
                "\(c.generated) records made, \(c.generated - c.unacknowledged) acknowledged in the end, \(c.rows) ledger rows, \(c.brokenChains.count) chains with holes")
        let rejected = fleet.flatMap(\.unexpectedRejections)
        r.check("no valid record rejected", rejected.isEmpty, rejected.isEmpty ? "none" : "\(rejected.count), first: \(rejected[0])")
        let (ok, text) = verify(databaseURL)
        r.check("fuelwarden verify", ok, text)
    }

    /// Runs `fuelwarden verify` against the fixture's database, as an operator would.
    func verify(_ fixture: ProvinceFixture) -> (Bool, String) { verify(fixture.url) }

    func verify(_ databaseURL: String) -> (Bool, String) {
        Self.run(executable, ["verify", "--database-url", databaseURL], environment: [:])
    }

    /// Runs this binary's `arguments` (killed after `timeoutSeconds`); answers whether it exited 0
    /// and its last line of output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                    timeoutSeconds: Double = 600) -> (Bool, String) {
        let output = NSTemporaryDirectory() + "fuelwarden-faults-run-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status: Int32
        do { status = try SpawnedProcess.run([executable] + arguments, environment: environment, output: output, timeoutSeconds: timeoutSeconds) } catch {
            return (false, "cannot run \(executable): \(error)")
        }
        let text = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let last = text.split(separator: "\n").last.map(String.init) ?? "exit \(status)"
        if status == 128 + SIGKILL { return (false, "\(arguments.first ?? executable) did not finish within \(Int(timeoutSeconds)) s; last line: \(last)") }
        return (status == 0, last)
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "fuelwarden-faults-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

extension Array where Element == PushAttempt {
    /// Status counts, transport errors as "error".
    var statusSummary: String {
        var counts: [String: Int] = [:]
        for a in self { counts[a.status.map(String.init) ?? "error", default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: ", ")
    }
}
