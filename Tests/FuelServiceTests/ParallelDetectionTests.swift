import FuelModel
import FuelService
import FuelSim
import FuelTestSupport
import FuelWire
import Synchronization
import Testing

/// Detection runs `detect.workers` stations at once; each station's alerts must be those it gets
/// when stations are detected one at a time.
@Suite struct ParallelDetectionTests {
    /// Every station's (station, rule, subject) alerts after pushing the same day of records, each
    /// station with an undeclared delivery on a tank of its own, and the daemon's metrics then. With
    /// `settleEachPush` each push waits for detection to catch up before the next (a pass a push).
    static func alerts(
        settleEachPush: Bool = false, tweak: @escaping @Sendable (inout FuelwardenConfig) -> Void
    ) async throws -> (alerts: Set<[String]>, metrics: String) {
        let found = Mutex<Set<[String]>>([])
        let metrics = Mutex("")
        try await TestDaemon.with(stations: 4, tweak: tweak) { d in
            let start = Timestamp(rfc3339: "2026-11-01T00:00:00+08:00")!
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, station) in d.registry.stations.enumerated() {
                    let key = try await d.token(.station, station: station.id)
                    group.addTask {
                        let tank = station.tanks[i % station.tanks.count].id
                        var sim = StationSimulator(StationScenario(
                            station: station, seed: UInt64(11 + i), start: start, days: 1, prices: DemoRegistry.prices,
                            faults: [.undeclaredDelivery(tank: tank, litres: 800, at: start.adding(seconds: Double(7 + i) * 3600))]))
                        let lines = sim.records().enumerated().map { PushRecordCodec.encode(PushLine(seq: Int64($0.offset + 1), record: $0.element)) }
                        for chunk in stride(from: 0, to: lines.count, by: 250) {
                            let v = try await d.client.push(station: station.id, key: key, lines: Array(lines[chunk..<min(chunk + 250, lines.count)]))
                            #expect(v.rejected.isEmpty)
                            if settleEachPush { try await d.detectionCaughtUp() }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await d.detectionCaughtUp()
            let viewer = try await d.token(.viewer)
            let (status, body) = try await d.client.send(.GET, "/v1/alerts?status=all&limit=500", token: viewer)
            #expect(status == 200)
            guard case .array(let alerts)? = try d.json(body)["alerts"] else { Issue.record("no alerts array: \(body)"); return }
            for case .object(let o) in alerts {
                guard case .string(let s)? = o["station"], case .string(let r)? = o["rule"], case .string(let t)? = o["subject"] else { continue }
                found.withLock { _ = $0.insert([s, r, t]) }
            }
            let text = try await d.client.send(.GET, "/metrics", token: nil).1
            metrics.withLock { $0 = text }
        }
        return (found.withLock { $0 }, metrics.withLock { $0 })
    }

    @Test func stationsDetectedAtOnceRaiseWhatOneAtATimeRaises() async throws {
        let serial = try await Self.alerts { $0.detect.workers = 1 }.alerts
        let parallel = try await Self.alerts { $0.detect.workers = 4 }.alerts
        #expect(serial == parallel, "one at a time \(serial.sorted { $0.lexicographicallyPrecedes($1) }), four at once \(parallel.sorted { $0.lexicographicallyPrecedes($1) })")
        // Each station's own undeclared delivery is among them.
        #expect(Set(parallel.filter { $0[1] == "undeclared_delivery" }.map { $0[0] }).count == 4, "\(parallel)")
    }
}

/// A pass starts from the state the daemon committed last, held in memory, instead of reading it
/// back; the alerts must be those of reading it back every time.
extension ParallelDetectionTests {
    @Test func passesFromStatesHeldInMemoryRaiseWhatStoredStatesRaise() async throws {
        let stored = try await Self.alerts(settleEachPush: true) { $0.detect.stateCacheStations = 0 }
        let held = try await Self.alerts(settleEachPush: true) { _ in }
        #expect(stored.alerts == held.alerts, "from the database \(stored.alerts), from memory \(held.alerts)")
        #expect(held.alerts.contains { $0[1] == "undeclared_delivery" })
        // Each station pushed in several chunks, each detected before the next: every pass after a
        // station's first starts from memory when states are held, none when they are not.
        func reads(_ text: String, _ from: String) -> Int {
            let prefix = "fuelwarden_detector_state_reads_total{from=\"\(from)\"} "
            return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
        }
        #expect(reads(stored.metrics, "memory") == 0 && reads(stored.metrics, "database") >= 8, "\(stored.metrics)")
        #expect(reads(held.metrics, "memory") >= 4 && reads(held.metrics, "database") <= 4,
                "memory \(reads(held.metrics, "memory")), database \(reads(held.metrics, "database"))")
    }
}
