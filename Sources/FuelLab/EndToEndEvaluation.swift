import Foundation
import FuelDetect
import FuelEvaluate
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Logging

/// `fuelwarden evaluate --end-to-end`: the plan's stations pushed through the HTTP push API of a real
/// daemon into PostgreSQL (a throwaway cluster unless a database is given), detected by its
/// detection service, and judged from the alerts it stored.
package struct EndToEndEvaluation: Sendable {
    package var plan: FaultPlan
    package var thresholds: DetectionThresholds
    package var databaseURL: String?
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(plan: FaultPlan, thresholds: DetectionThresholds, databaseURL: String?, logger: Logger,
                print: @escaping @Sendable (String) -> Void) {
        self.plan = plan
        self.thresholds = thresholds
        self.databaseURL = databaseURL
        self.logger = logger
        self.print = print
    }

    package func run() async throws -> EvaluationReport {
        var cluster: ThrowawayCluster?
        var url = databaseURL
        if url == nil {
            let c = try ThrowawayCluster()
            try c.createDatabase("fuelwarden_eval")
            url = c.url(database: "fuelwarden_eval")
            cluster = c
            print("• throwaway PostgreSQL on 127.0.0.1:\(c.port)")
        }
        defer { cluster?.stop() }
        var config = FuelwardenConfig()
        config.database.url = url
        config.http.host = "127.0.0.1"
        config.http.port = 0
        config.detect.interval = .seconds(0.2)
        config.ingest.maxBodyBytes = 16 * 1024 * 1024
        config.detect.thresholds = thresholds
        let yaml = DemoRegistry.yaml(stations: plan.stations)
        let registry = try RegistryFileDecoder.decode(yaml: yaml)
        let scenarios = plan.scenarios(registry: registry, prices: DemoRegistry.prices)

        try await prepare(url: url!, registry: registry, yaml: yaml)
        let components = try FuelwardenComponents(config: config, logger: logger)
        let (listening, continuation) = AsyncStream.makeStream(of: Int.self)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: logger) { continuation.yield($0) }
        return try await withThrowingTaskGroup(of: EvaluationReport?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                do {
                    var ports = listening.makeAsyncIterator()
                    guard let port = await ports.next() else { throw StoreError.unavailable("daemon did not start") }
                    let report = try await self.drive(scenarios: scenarios, registry: registry, components: components, port: port)
                    await group.triggerGracefulShutdown()
                    return report
                } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
            }
            var report: EvaluationReport?
            for try await r in tasks where r != nil { report = r }
            guard let report else { throw StoreError.unavailable("evaluation did not finish") }
            return report
        }
    }

    private func prepare(url: String, registry: Registry, yaml: String) async throws {
        let db = FuelDatabase(url: try DatabaseURL(url), maxConnections: 4, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            _ = try await Migrator(database: db).migrate()
            _ = try await RegistryStore(database: db).importRegistry(registry, sourceDigest: TokenStore.hash(yaml).hexString, actor: "evaluate")
        }
    }

    private func drive(scenarios: [StationScenario], registry: Registry, components: FuelwardenComponents, port: Int) async throws -> EvaluationReport {
        let db = components.database
        let tokens = TokenStore(database: db)
        var keys: [String: String] = [:]
        for s in scenarios { keys[s.station.id] = try await tokens.issue(role: .station, station: s.station.id, name: s.station.id, actor: "evaluate") }
        var replay = SimulationReplay(target: "http://127.0.0.1:\(port)", stations: scenarios.map(\.station), keys: keys, start: plan.start)
        replay.scenarios = scenarios
        replay.speed = 1e12
        replay.tick = .milliseconds(5)
        replay.batch = 5_000
        let began = ContinuousClock.now
        print("• pushing \(scenarios.count) stations through POST /v1/stations/{id}/records …")
        let outcome = try await replay.run()
        let pushSeconds = (ContinuousClock.now - began) / .seconds(1)
        print(String(format: "  %d records in %.0f s (%.0f/s), %d rejected", outcome.records, pushSeconds,
                     Double(outcome.records) / max(pushSeconds, 1e-9), outcome.verdict.rejected.count))
        let detection = DetectionStore(database: db)
        while true {
            let backlog = try await detection.backlog(limit: 10_000)
            if backlog.isEmpty { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        print(String(format: "• detection caught up %.0f s after the first push", (ContinuousClock.now - began) / .seconds(1)))

        let alerts = AlertStore(database: db)
        var runs: [StationRun] = []
        for s in scenarios {
            var run = StationRun(scenario: s)
            run.records = 0
            var filter = AlertFilter()
            filter.status = .all
            filter.station = s.station.id
            filter.limit = 5000
            for a in try await alerts.list(filter).reversed() {
                let evidence = (try? JSONDecoder().decode(Evidence.self, from: Data(a.evidenceJSON.utf8))) ?? [:]
                let opened = Timestamp(a.openedAt)
                let signal = AlertSignal(rule: a.rule, station: a.station, subject: a.subject, severity: a.severity, openedAt: opened,
                                         evidence: evidence, seqFrom: a.seqFrom ?? 0, seqTo: a.seqTo ?? 0)
                // The store keeps the data time that established the condition; it stands for the detection time.
                run.alerts.append(RaisedAlert(signal: signal, latestEvidence: evidence, raisedAt: opened,
                                              clearedAt: a.status == .resolved ? opened : nil))
            }
            runs.append(run)
        }
        var report = EvaluationReport(runs: runs, plan: plan, thresholds: thresholds)
        report.records = outcome.records
        report.rejected = outcome.verdict.rejected.count
        return report
    }
}
