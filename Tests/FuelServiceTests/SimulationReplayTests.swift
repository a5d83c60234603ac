import FuelEvaluate
import FuelClient
import FuelLab
import FuelModel
import FuelSim
import FuelWire
import Foundation
import FuelService
import FuelStore
import FuelTestSupport
import Testing

/// `fuelwarden simulate`'s replay against a running daemon: paced by data time, everything accepted.
@Suite struct SimulationReplayTests {
    @Test func replayIsPacedAndEveryRecordLands() async throws {
        try await TestDaemon.with(stations: 2, tweak: { $0.ingest.maxBodyBytes = 8 * 1024 * 1024 }) { d in
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

    /// `simulate --out`: push NDJSON per station that decodes with the ingest codec, seqs rising
    /// with the injected hole, and a ground-truth file that reads back as the faults injected.
    /// The demo's three faults land on stations 3, 7 and 12, or on the last one of a smaller demo
    /// (`demo --stations 2` trapped on a dictionary literal with a repeated key).
    @Test(arguments: [1, 2, 5, 7, 11, 12, 20])
    func theDemosFaultsFitAnyNumberOfStations(stations: Int) {
        let faults = DemoRunner.faults(stations: stations)
        #expect(faults.values.reduce(0) { $0 + $1.count } == 3)
        #expect(faults.keys.allSatisfy { (1...stations).contains($0) })
        #expect(faults.keys.count == [3, 7, 12].map { min($0, stations) }.reduce(into: Set<Int>()) { $0.insert($1) }.count)
    }

    @Test func writesPushLinesAndTheGroundTruth() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 2))
        let start = try #require(Timestamp(rfc3339: "2026-11-01T08:00:00+08:00"))
        var replay = SimulationReplay(target: "", stations: registry.stations, keys: [:], start: start)
        replay.days = 0.1
        let station = registry.stations[0].id
        replay.faults[station] = [.seqGap(at: start.adding(seconds: 3600), count: 7),
                                  .leak(tank: "T2", litresPerHour: 0.76, from: start)]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-sim-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let written = try replay.write(to: dir)
        var lines = 0
        var seqs: [Int64] = []
        for s in registry.stations {
            let text = try String(contentsOfFile: "\(dir)/\(s.id).ndjson", encoding: .utf8)
            for line in text.split(separator: "\n") {
                let decoded = try PushRecordCodec.decode(Array(line.utf8))
                try RecordValidator.validate(decoded.record, station: s)
                if s.id == station { seqs.append(decoded.seq) }
                lines += 1
            }
        }
        #expect(lines == written && written > 100)
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 })
        #expect(seqs.last! - seqs.first! + 1 == Int64(seqs.count) + 7)  // the hole of 7
        let truth = try GroundTruthLine.decodeFile(String(contentsOfFile: "\(dir)/ground-truth.jsonl", encoding: .utf8))
        #expect(truth == [station: replay.faults[station]!])
    }
}
