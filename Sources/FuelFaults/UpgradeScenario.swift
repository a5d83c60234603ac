import Foundation
import FuelClient
import FuelLab
import FuelModel
import FuelStore
import PostgresNIO
import Synchronization

extension FaultTest {
    /// A rolling upgrade under load. Three daemons of build N serve the collectors; `fuelwarden
    /// migrate` applies a test-only expand migration N+1 (a backfill in batches over every ledger
    /// row, a preloaded million and more, and an index built CONCURRENTLY on the ledger) while they
    /// push; the replicas are replaced by build N+1 one at a time, each taken out of rotation first
    /// as a load balancer would; then one is rolled back to build N. Nothing acknowledged may be lost
    /// or doubled, every answer is 200 or 503 with Retry-After, and no more than one replica is
    /// ever not ready at once.
    func upgradeScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: stations + 1, database: "fuelwarden_upgrade", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("upgrade")
        var r = Result(scenario: .upgrade)

        // The rows the backfill walks: a station no collector pushes to, filled through the append.
        let bulk = fixture.registry.stations[stations]
        let loadStart = ContinuousClock.now
        let preloaded = try await fixture.withDatabase(logger: logger) { [upgradeRows] db in
            try await Self.preload(station: bulk, rows: upgradeRows, into: LedgerStore(database: db))
        }
        print("  preloaded \(preloaded) ledger rows at \(bulk.id) in \(Int((ContinuousClock.now - loadStart) / .seconds(1))) s")

        // Build N+1: this build plus a test-only expand migration.
        let current = try Migration.bundled(extraDirectory: nil).map(\.version).max() ?? 0
        let next = current + 1
        let migrations = "\(logs)/migrations"
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        try Self.testMigration.write(toFile: "\(migrations)/\(String(format: "%04d", next))_upgrade_test.sql", atomically: true, encoding: .utf8)
        let buildN: [String: String] = [:], buildNext = ["FUELWARDEN_EXTRA_MIGRATIONS": migrations]

        var daemons = try (1...3).map { try makeDaemon(fixture, logDirectory: logs, name: "serve-\($0)-build\(current)", environment: buildN) }
        defer { for d in daemons { d.stop() } }
        let lines = Self.syntheticLines()
        let done: [Collector] = try await withHTTP { http in
            let clients = daemons.map { FuelwardenClient(baseURL: $0.baseURL, http: http) }
            for (d, c) in zip(daemons, clients) {
                try d.start()
                try await d.waitUntilReady(client: c)
            }
            print("  3 daemons of build \(current) on ports \(daemons.map { String($0.port) }.joined(separator: ", "))")
            let probes = ReadinessWatch(count: 3)
            let watching = Task { await probes.watch(clients) }
            var fleet = CollectorFleet()
            fleet.recordsPerSecond = recordsPerSecond
            let control = CollectorFleet.Control()
            let began = ContinuousClock.now
            let pushing = Task { await fleet.drive(collectors(fixture, lines: lines), clients: clients, control: control) }
            try await Task.sleep(for: .seconds(max(3, seconds / 3)))

            // Migrate to N+1 under load.
            let migrateStart = ContinuousClock.now
            let (migrated, migrateOutput) = Self.run(executable, ["migrate", "--expand-only", "--database-url", fixture.url], environment: buildNext)
            let migrateEnd = ContinuousClock.now
            r.check("migrate --expand-only applies N+1 under load", migrated,
                    "\(migrateOutput) in \(String(format: "%.1f", (migrateEnd - migrateStart) / .seconds(1))) s")
            try await Task.sleep(for: .seconds(2))
            let oldReadyAfterMigrate = await probes.allReady()

            // Replace the replicas one at a time, then roll one back.
            var replaced: [String] = []
            for (i, build, env) in [(0, next, buildNext), (1, next, buildNext), (2, next, buildNext), (0, current, buildN)] {
                control.setInRotation(i, false)
                await probes.expectDown(i)
                try await Task.sleep(for: .milliseconds(500))  // in-flight requests finish; SIGTERM drains the rest
                daemons[i].stop()
                let fresh = DaemonProcess(executable: executable, databaseURL: fixture.url, port: daemons[i].port,
                                          logPath: "\(logs)/serve-\(i + 1)-build\(build)-\(replaced.count).log", environment: env)
                daemons[i] = fresh
                try fresh.start()
                try await fresh.waitUntilReady(client: clients[i], seconds: 60)
                await probes.expectUp(i)
                control.setInRotation(i, true)
                replaced.append("serve-\(i + 1) → build \(build)")
                try await Task.sleep(for: .seconds(max(1, seconds / 10)))
            }
            control.drain()
            let done = await pushing.value
            watching.cancel()
            let attempts = done.flatMap(\.attempts)
            r.facts.append("\(attempts.count) pushes from \(done.count) stations over \(Int((ContinuousClock.now - began) / .seconds(1))) s: \(attempts.statusSummary)")
            r.facts.append("replicas replaced one at a time: \(replaced.joined(separator: ", ")) (the last a rollback)")
            let odd = attempts.filter { !($0.status == 200 || ($0.status == 503 && $0.retryAfter != nil)) }
            r.check("every answer 200 or 503 with Retry-After", odd.isEmpty,
                    odd.isEmpty ? "all \(attempts.count)" : "\(odd.count), first: \(odd[0].status.map(String.init) ?? "no answer") \(odd[0].error ?? "")")
            let watch = await probes.summary()
            r.check("not ready (3 failed probes in a row) on at most one replica at a time, and only the one being replaced",
                    watch.maxRedAtOnce <= 1 && watch.unexpectedRed == 0 && oldReadyAfterMigrate,
                    "most not ready at once \(watch.maxRedAtOnce), outside a replacement \(watch.unexpectedRed) times\(watch.examples.isEmpty ? "" : " (\(watch.examples.joined(separator: "; ")))"), build \(current) ready on schema \(next): \(oldReadyAfterMigrate) (\(watch.probes) probes, \(watch.failed) failed)")
            func p99(_ xs: [PushAttempt]) -> String {
                let s = xs.filter { $0.status == 200 }.map(\.seconds).sorted()
                guard !s.isEmpty else { return "-" }
                return String(format: "%.0f ms", s[min(s.count - 1, Int(Double(s.count) * 0.99))] * 1000)
            }
            let before = attempts.filter { $0.began < migrateStart }, during = attempts.filter { $0.began >= migrateStart && $0.began < migrateEnd }
            r.facts.append("push p99 before the migration \(p99(before)) (\(before.count) pushes), during it \(p99(during)) (\(during.count) pushes)")
            return done
        }
        let (backfilled, indexes) = try await fixture.withDatabase(logger: logger) { db in
            try await db.connection("upgrade census") { conn in
                let rows = try await conn.query("SELECT count(*)::int8 FROM upgrade_ledger_kinds", logger: db.logger).collect().first?.decode(Int64.self) ?? 0
                var indexes: [String] = []
                for try await (name, valid) in try await conn.query("""
                    SELECT indexrelid::regclass::text, indisvalid FROM pg_index WHERE indrelid = 'ledger'::regclass ORDER BY 1
                    """, logger: db.logger).decode((String, Bool).self) { indexes.append("\(name)\(valid ? "" : " (invalid)")") }
                return (rows, indexes)
            }
        }
        r.check("the backfill covered every row there was, the concurrent index is valid", backfilled >= Int64(preloaded) && indexes.contains("upgrade_ledger_kind_at"),
                "\(backfilled) rows backfilled (\(preloaded) preloaded); the ledger's indexes: \(indexes.joined(separator: ", "))")
        try await finish(&r, fleet: done, lines: lines, fixture: fixture)
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    /// The test-only migration N+1: an expand step outside a transaction — a side table filled from
    /// every ledger row in batches of 20,000 (keyset on the ledger's key, progress kept in a table)
    /// and an index built CONCURRENTLY on the ledger while it is appended to. The backfill ends at
    /// its first short batch: it has caught up with the live appends, which would otherwise keep it
    /// chasing them (a real one pairs it with the new build writing new rows itself).
    static let testMigration = """
        -- fuelwarden: compatible
        -- fuelwarden: no-transaction
        -- Test-only (the upgrade fault scenario): a backfill over the ledger and a concurrent index build.
        CREATE TABLE IF NOT EXISTS upgrade_ledger_kinds (station text NOT NULL, chain_seq bigint NOT NULL, kind text NOT NULL,
                                                         PRIMARY KEY (station, chain_seq));
        CREATE TABLE IF NOT EXISTS upgrade_progress (id int PRIMARY KEY, station text NOT NULL, chain_seq bigint NOT NULL);
        INSERT INTO upgrade_progress VALUES (1, '', 0) ON CONFLICT DO NOTHING;
        -- fuelwarden: repeat
        WITH p AS (SELECT station, chain_seq FROM upgrade_progress WHERE id = 1),
             batch AS (SELECT l.station, l.chain_seq, l.kind FROM ledger l, p
                       WHERE (l.station, l.chain_seq) > (p.station, p.chain_seq) ORDER BY l.station, l.chain_seq LIMIT 20000),
             copied AS (INSERT INTO upgrade_ledger_kinds SELECT station, chain_seq, kind FROM batch ON CONFLICT DO NOTHING RETURNING 1),
             moved AS (UPDATE upgrade_progress SET (station, chain_seq) =
                           (SELECT station, chain_seq FROM batch ORDER BY station DESC, chain_seq DESC LIMIT 1)
                       WHERE id = 1 AND EXISTS (SELECT 1 FROM batch) RETURNING 1)
        SELECT CASE WHEN count(*) < 20000 THEN 0 ELSE count(*) END FROM batch;
        CREATE INDEX CONCURRENTLY IF NOT EXISTS upgrade_ledger_kind_at ON ledger (kind, at);
        """

    /// `rows` device-status records for `station` through the append, 5,000 a transaction: rows for
    /// the backfill to walk that cost detection next to nothing (tank readings would keep a debug
    /// build's detectors busy for minutes, which is not what the scenario measures).
    static func preload(station: Station, rows: Int, into ledger: LedgerStore) async throws -> Int {
        let start = Timestamp(.now).adding(seconds: -Double(rows) - 86_400)
        var seq: Int64 = 0
        while seq < Int64(rows) {
            var batch: [IncomingRecord] = []
            while batch.count < 5_000 && seq < Int64(rows) {
                seq += 1
                let status = DeviceStatus(device: "probe-\(seq % 4)", at: start.adding(seconds: Double(seq)), state: .online, codes: [])
                batch.append(IncomingRecord(line: batch.count + 1, raw: "", source: .push, sourceSeq: seq, record: .deviceStatus(status)))
            }
            _ = try await ledger.append(station: station.id, records: batch, rejected: [])
        }
        return rows
    }
}

/// `/readyz` of every replica every 200 ms, read as Kubernetes reads its readiness probe
/// (`timeoutSeconds: 5`, `failureThreshold: 3`): a replica is not ready after three failed probes
/// in a row, so one slow answer on a loaded machine does not take it out. Counts how many were not
/// ready at once, and whether one went not ready that was not being replaced. A probe that began
/// before a replica's replacement ended is not counted.
actor ReadinessWatch {
    static let failureThreshold = 3
    private var failures: [Int]
    private var replacing: Set<Int> = []
    private var changed: [ContinuousClock.Instant]
    private(set) var maxRedAtOnce = 0
    private(set) var unexpectedRed = 0
    private var unexpected: [String] = []
    private(set) var probes = 0
    private(set) var failedProbes = 0

    init(count: Int) {
        failures = Array(repeating: 0, count: count)
        changed = Array(repeating: .now, count: count)
    }

    private var red: [Bool] { failures.map { $0 >= Self.failureThreshold } }

    func expectDown(_ i: Int) { replacing.insert(i); changed[i] = .now }
    func expectUp(_ i: Int) { replacing.remove(i); changed[i] = .now; failures[i] = 0 }

    func record(_ i: Int, ready: Bool, began: ContinuousClock.Instant, answer: String) {
        guard began >= changed[i] else { return }  // from before the replica's last change
        probes += 1
        if ready {
            failures[i] = 0
            return
        }
        failedProbes += 1
        failures[i] += 1
        if failures[i] == Self.failureThreshold && !replacing.contains(i) {
            unexpectedRed += 1
            if unexpected.count < 3 { unexpected.append("serve-\(i + 1): \(answer)") }
        }
        maxRedAtOnce = max(maxRedAtOnce, red.filter { $0 }.count)
    }

    func allReady() -> Bool { !red.contains(true) }

    func summary() -> (maxRedAtOnce: Int, unexpectedRed: Int, probes: Int, failed: Int, examples: [String]) {
        (maxRedAtOnce, unexpectedRed, probes, failedProbes, unexpected)
    }

    nonisolated func watch(_ clients: [FuelwardenClient]) async {
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                for (i, c) in clients.enumerated() {
                    group.addTask {
                        let began = ContinuousClock.now
                        let answer = try? await c.send(.GET, "/readyz", token: nil, timeoutSeconds: 5)
                        await self.record(i, ready: answer?.0 == 200, began: began,
                                          answer: answer.map { "\($0.0) \($0.1.prefix(160))" } ?? "no answer within 5 s")
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
