import Foundation
import FuelClient
import FuelEvaluate
import FuelModel
import FuelSim
import FuelWire

/// Replays simulated stations into a running daemon through the push API, in data time scaled by
/// `speed` (1 = real time; a large value pushes as fast as the daemon answers). Each station pushes
/// what became due since its last push, at most `batch` lines per request, once per `tick`.
package struct SimulationReplay: Sendable {
    package var stations: [Station]
    /// Station id → station key.
    package var keys: [String: String]
    package var start: Timestamp
    package var days = 1.0
    package var speed = 1.0
    package var seed: UInt64 = 1
    package var batch = 1_000
    /// The `seq` of each station's first record (above what a station already pushed, when replaying into it again).
    package var firstSeq: Int64 = 1
    package var tick: Duration = .seconds(1)
    /// Faults to inject, by station id.
    package var faults: [String: [InjectedFault]] = [:]
    /// Complete scenarios to replay instead of ones made from `stations`, `seed` and `faults`.
    package var scenarios: [StationScenario]?

    let client: FuelwardenClient

    package init(target: String, stations: [Station], keys: [String: String], start: Timestamp) {
        self.client = FuelwardenClient(baseURL: target)
        self.stations = stations
        self.keys = keys
        self.start = start
    }

    /// The stations' scenarios: `scenarios` when given, else made from `stations`, `seed` and `faults`.
    package var allScenarios: [StationScenario] {
        scenarios ?? stations.enumerated().map { i, station in
            var s = StationScenario(station: station, seed: seed &+ UInt64(i), start: start, days: days,
                                    prices: DemoRegistry.prices, faults: faults[station.id] ?? [])
            for f in s.faults { FaultPlan.prepare(&s, for: f) }
            return s
        }
    }

    /// Writes each station's records as push NDJSON (`DIR/STATION.ndjson`, the lines a collector
    /// would POST) and the injected faults as `DIR/ground-truth.jsonl`. Returns the record count.
    package func write(to directory: String) throws -> Int {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var total = 0
        var truth = ""
        for scenario in allScenarios {
            var sim = StationSimulator(scenario)
            var text = ""
            for n in sim.numbered() {
                text += PushRecordCodec.encode(PushLine(seq: firstSeq - 1 + n.seq, record: n.record))
                text += "\n"
                total += 1
            }
            try text.write(toFile: "\(directory)/\(scenario.station.id).ndjson", atomically: true, encoding: .utf8)
            for f in scenario.faults { truth += GroundTruthLine.json(station: scenario.station.id, fault: f) + "\n" }
        }
        try truth.write(toFile: "\(directory)/ground-truth.jsonl", atomically: true, encoding: .utf8)
        return total
    }

    /// Totals over every station's pushes.
    package struct Outcome: Sendable {
        package var records = 0
        package var verdict = PushVerdict()
    }

    package func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Outcome {
        let launched = ContinuousClock.now
        let speed = self.speed, start = self.start, batch = self.batch, tick = self.tick, client = self.client, firstSeq = self.firstSeq
        return try await withThrowingTaskGroup(of: Outcome.self) { group in
            let scenarios = self.allScenarios
            for scenario in scenarios {
                let station = scenario.station
                guard let key = keys[station.id] else { throw LabError("no station key for \(station.id)") }
                group.addTask {
                    var sim = StationSimulator(scenario)
                    let records = sim.numbered()
                    var out = Outcome()
                    out.records = records.count
                    var next = 0
                    while next < records.count {
                        let elapsed = (ContinuousClock.now - launched) / .seconds(1)
                        // Capped at ~3,000 years of data time: an "as fast as it goes" speed (1e12) would
                        // otherwise pass Int64's microseconds after 9 s and trap.
                        let due = start.adding(seconds: min(elapsed * speed, 1e11))
                        var end = next
                        while end < records.count, end - next < batch, records[end].record.at <= due { end += 1 }
                        if end == next {
                            try await Task.sleep(for: tick)
                            continue
                        }
                        let lines = (next..<end).map { PushRecordCodec.encode(PushLine(seq: firstSeq - 1 + records[$0].seq, record: records[$0].record)) }
                        let v = try await client.push(station: station.id, key: key, lines: lines)
                        out.verdict.accepted += v.accepted
                        out.verdict.duplicates += v.duplicates
                        out.verdict.rejected += v.rejected
                        next = end
                    }
                    progress("  \(station.id): \(out.records) records pushed (\(out.verdict.accepted) accepted, \(out.verdict.duplicates) duplicates, \(out.verdict.rejected.count) rejected)")
                    return out
                }
            }
            var total = Outcome()
            for try await o in group {
                total.records += o.records
                total.verdict.accepted += o.verdict.accepted
                total.verdict.duplicates += o.verdict.duplicates
                total.verdict.rejected += o.verdict.rejected
            }
            return total
        }
    }
}
