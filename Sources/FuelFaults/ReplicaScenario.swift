import Foundation
import FuelLab
import FuelClient
import FuelStore
import PostgresNIO

extension FaultTest {
    /// Three daemons on one database. Each push goes to a random daemon; some go to two at the same
    /// moment; some carry a seq conflict made on purpose (one new seq, two contents, two daemons at
    /// once). One chain per station, no fork, no double append, every conflict detected.
    func replicaScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: stations, database: "fuelwarden_replicas", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("replicas")
        let daemons = try (1...3).map { try makeDaemon(fixture, logDirectory: logs, name: "serve-\($0)") }
        defer { for d in daemons { d.stop() } }
        var r = Result(scenario: .replicas)
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let clients = daemons.map { FuelwardenClient(baseURL: $0.baseURL, http: http) }
            for (d, c) in zip(daemons, clients) {
                try d.start()
                try await d.waitUntilReady(client: c)
            }
            print("  3 daemons on ports \(daemons.map { String($0.port) }.joined(separator: ", ")), one database")
            var fleet = CollectorFleet()
            fleet.recordsPerSecond = recordsPerSecond
            fleet.sameBatchToTwoDaemons = 0.3
            fleet.conflictChance = 0.03
            let control = CollectorFleet.Control()
            let pushing = Task { await fleet.drive(collectors(fixture, lines: lines), clients: clients, control: control) }
            try await Task.sleep(for: .seconds(seconds))
            control.drain()
            let done = await pushing.value
            let attempts = done.flatMap(\.attempts)
            r.facts.append("\(attempts.count) pushes from \(done.count) stations to 3 daemons: \(attempts.statusSummary)")
            let made = done.map(\.conflictsMade).reduce(0, +)
            let reported = done.map(\.conflictsReported).reduce(0, +)
            let duplicates = done.map(\.duplicatesReported).reduce(0, +)
            r.facts.append("\(duplicates) records answered as duplicates (the same batch raced to two daemons)")
            let stationsWithConflicts = done.filter { $0.conflictsMade > 0 }.map(\.station)
            let (quarantined, alerted) = try await fixture.withDatabase(logger: logger) { db in
                try await db.connection("conflict census") { conn in
                    let q = try await conn.query(
                        "SELECT count(*) FROM quarantine WHERE reason LIKE '%seq conflict%'", logger: db.logger
                    ).collect().first?.decode(Int64.self) ?? 0
                    let a = try await conn.query(
                        "SELECT count(DISTINCT station) FROM alerts WHERE rule = 'seq_conflict' AND station = ANY(\(stationsWithConflicts))",
                        logger: db.logger
                    ).collect().first?.decode(Int64.self) ?? 0
                    return (Int(q), Int(a))
                }
            }
            r.check("every seq conflict detected", made > 0 && reported == made && quarantined == made && alerted == stationsWithConflicts.count,
                    "\(made) made, \(reported) answered as seq conflicts, \(quarantined) quarantined, seq_conflict alerts at \(alerted) of \(stationsWithConflicts.count) stations")
            try await finish(&r, fleet: done, lines: lines, fixture: fixture)
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }
}
