import Foundation
import FuelClient
import FuelLab
import FuelModel
import FuelService
import FuelSim
import FuelStore
import FuelTestSupport
import FuelWire
import Testing

/// Simulated faults driven through the running daemon (push API → ledger → detection → alert
/// store): each one's alert appears, and resolves by itself once the condition clears.
@Suite struct SimulatedFaultTests {
    @Test func faultsRaiseAndAutoResolveThroughTheDaemon() async throws {
        try await TestDaemon.with(stations: 1, tweak: { $0.ingest.maxBodyBytes = 8 * 1024 * 1024 }) { d in
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            let start = try #require(Timestamp(rfc3339: "2026-11-01T06:00:00+08:00"))
            var replay = SimulationReplay(target: d.client.baseURL, stations: [station], keys: [station.id: key], start: start)
            replay.days = 0.3  // 7.2 simulated hours, pushed as fast as the daemon answers
            replay.speed = 1e9
            replay.tick = .milliseconds(10)
            replay.faults[station.id] = [
                // The 95 grade sells above the ceiling for an hour, then at the posted price again.
                .priceAboveCeiling(grade: "95", unitPrice: 9.2, from: start.adding(seconds: 3600), until: start.adding(seconds: 2 * 3600)),
                // The gauge stops answering for 90 minutes while the pumps go on selling.
                .gaugeOffline(from: start.adding(seconds: 3 * 3600), minutes: 90),
                // Twelve records never reach the daemon.
                .seqGap(at: start.adding(seconds: 5 * 3600), count: 12),
            ]
            let outcome = try await replay.run()
            #expect(outcome.verdict.accepted == outcome.records && outcome.verdict.rejected.isEmpty)
            try await d.detectionCaughtUp()

            var filter = AlertFilter()
            filter.status = .all
            let alerts = try await AlertStore(database: d.db).list(filter)
            let byRule = Dictionary(grouping: alerts, by: \.rule)
            let price = try #require(byRule[.priceAboveCeiling]?.first)
            #expect(price.subject == "95" && price.status == .resolved)
            let gap = byRule[.telemetryGap] ?? []
            #expect(gap.map(\.subject) == ["gauges"])  // the whole gauge down: one alert, not one per tank
            #expect(gap.allSatisfy { $0.status == .resolved })
            // Records that never arrive keep their gap open.
            let seq = try #require(byRule[.seqGap]?.first)
            #expect(seq.status == .open && seq.evidenceJSON.replacingOccurrences(of: " ", with: "").contains("\"missing_count\":12"), "\(seq.evidenceJSON)")
            // Nothing else: the simulated station is otherwise clean.
            #expect(Set(byRule.keys) == [.priceAboveCeiling, .telemetryGap, .seqGap], "\(alerts.map { "\($0.rule) \($0.subject)" })")
        }
    }

    /// A station whose clock runs an hour fast: its records carry times the daemon has not reached
    /// yet; the stored receipt time shows it, and a record on time clears it.
    @Test func aFastStationClockIsSeenFromTheReceiptTime() async throws {
        try await TestDaemon.with(stations: 1) { d in
            let station = d.registry.stations[0]
            let key = try await d.token(.station, station: station.id)
            let now = Timestamp(.now)
            func line(_ seq: Int64, _ at: Timestamp) -> String {
                PushRecordCodec.encode(PushLine(seq: seq, record: .tankReading(TankReading(tank: "T1", at: at, volumeL: 12_000, tcVolumeL: 12_000, temperatureC: 20))))
            }
            let fast = (1...3).map { line(Int64($0), now.adding(seconds: 3600 + Double($0) * 60)) }
            #expect(try await d.client.push(station: station.id, key: key, lines: fast).accepted == 3)
            try await d.detectionCaughtUp()
            var filter = AlertFilter()
            filter.status = .all
            filter.rule = .telemetryGap
            var alerts = try await AlertStore(database: d.db).list(filter)
            #expect(alerts.map(\.subject) == ["clock"] && alerts.first?.status == .open)
            #expect(try await d.client.push(station: station.id, key: key, lines: [line(4, Timestamp(.now))]).accepted == 1)
            try await d.detectionCaughtUp()
            alerts = try await AlertStore(database: d.db).list(filter)
            #expect(alerts.map(\.status) == [.resolved])
        }
    }
}
