import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import Testing

/// `fuelwarden simulate`'s replay against a running daemon: paced by data time, everything accepted.
@Suite struct SimulationReplayTests {
    @Test func replayIsPacedAndEveryRecordLands() async throws {
        try await TestDaemon.with(stations: 2, tweak: { $0.ingestMaxBodyBytes = 8 * 1024 * 1024 }) { d in
            var keys: [String: String] = [:]
            for s in d.registry.stations { keys[s.id] = try await d.token(.station, station: s.id) }
            let start = try #require(Timestamp(rfc3339: "2026-11-01T08:00:00+08:00"))
            var replay = SimulationReplay(target: d.client.baseURL, stations: d.registry.stations, keys: keys, start: start)
            replay.days = 0.05  // 72 simulated minutes …
            replay.speed = 72 * 60 / 1.5  // … due over 1.5 s of wall time
            replay.tick = .milliseconds(100)
            let began = ContinuousClock.now
            let outcome = try await replay.run()
            let elapsed = (ContinuousClock.now - began) / .seconds(1)
            #expect(elapsed >= 1.0, "records were pushed before they were due")
            #expect(outcome.records > 100)
            #expect(outcome.verdict.accepted == outcome.records && outcome.verdict.rejected.isEmpty)
            let rows = try await d.db.client.query("SELECT count(*) FROM ledger WHERE source = 'push'").collect().first?.decode(Int64.self)
            #expect(rows == Int64(outcome.records))

            // Replayed again above the seqs already pushed, a later period lands as new records.
            replay.start = start.adding(seconds: 0.05 * 86_400)
            replay.speed = 1e9
            replay.firstSeq = Int64(outcome.records) + 1
            let again = try await replay.run()
            #expect(again.verdict.accepted == again.records && again.verdict.duplicates == 0 && again.verdict.rejected.isEmpty)
        }
    }
}
