import FuelDetect
import FuelModel
import Testing

/// Small exact cases: feed a station detector a handful of ledger entries and check its events.
@Suite struct DetectorTests {
    static let station = Station(
        id: "S1", name: "测试站", city: "210100",
        tanks: [Tank(id: "T1", grade: "92", capacityL: 30000)],
        nozzles: [Nozzle(id: "N1", tank: "T1", maxFlowLPM: 50)])
    static let profile = StationProfile(
        station: station,
        ceilings: [PriceCeiling(region: "210000", grade: "92", unitPrice: 8.05, from: CivilDate(year: 2026, month: 11, day: 1))])
    let t0 = Timestamp(rfc3339: "2026-11-01T02:00:00Z")!  // 10:00 local

    func feed() -> DetectorFeed { DetectorFeed(profile: Self.profile) }

    func sale(_ t: Timestamp, volume: Double = 30, seconds: Double = 60, price: Double = 7.9) -> Record {
        .sale(Sale(nozzle: "N1", grade: "92", volumeL: volume, unitPrice: price, amount: volume * price,
                   startedAt: t, endedAt: t.adding(seconds: seconds)))
    }

    func reading(_ t: Timestamp, _ tc: Double) -> Record {
        .tankReading(TankReading(tank: "T1", at: t, volumeL: tc, tcVolumeL: tc, temperatureC: 20))
    }

    func delivery(_ from: Timestamp, _ to: Timestamp, _ litres: Double) -> Record {
        .delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: "B1", billNo: "BL-1", grade: "92", declaredVolumeL: litres,
                           startedAt: from, endedAt: to))
    }

    @Test func impossibleSaleAboveMaxFlow() {
        var f = feed()
        #expect(f.add(sale(t0, volume: 50, seconds: 60)).isEmpty)  // exactly 50 L/min
        #expect(f.add(sale(t0, volume: 52, seconds: 60)).isEmpty)  // within 5 % tolerance
        let e = f.add(sale(t0, volume: 60, seconds: 60))
        #expect(f.raised.map(\.rule) == [.impossibleSale])
        #expect(f.raised.first?.subject == "N1" && f.raised.first?.evidence["flow_lpm"] == .number(60))
        #expect(e.count == 1)
        _ = f.add(sale(t0, volume: 10, seconds: 0))
        #expect(f.raised.count == 2 && f.raised[1].evidence["flow_lpm"] == .text("infinite"))
    }

    @Test func priceAboveCeilingRaisesAndClears() {
        var f = feed()
        #expect(f.add(sale(t0, price: 8.05)).isEmpty)
        _ = f.add(sale(t0.adding(seconds: 60), price: 8.06))
        #expect(f.raised.map(\.rule) == [.priceAboveCeiling])
        #expect(f.raised.first?.evidence["ceiling"] == .number(8.05))
        _ = f.add(sale(t0.adding(seconds: 120), price: 7.99))
        #expect(f.cleared == ["price_above_ceiling/S1/92"])
        // No ceiling in force before its date: nothing to compare.
        var g = feed()
        #expect(g.add(sale(Timestamp(rfc3339: "2026-10-31T02:00:00Z")!, price: 99)).isEmpty)
    }

    @Test func undeclaredDeliveryRaisedAfterGrace() {
        var f = feed()
        var t = t0
        _ = f.add(reading(t, 10_000))
        for tc in [10_000.0, 10_300, 10_600, 10_600, 10_600] {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, tc))
        }
        #expect(f.raised.isEmpty)  // inside the 30 min grace
        for _ in 0..<6 {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, 10_600))
        }
        #expect(f.raised.map(\.rule) == [.undeclaredDelivery])
        #expect(f.raised.first?.evidence["inflow_l"] == .number(600))
        // A delivery record that arrives late explains it and resolves the alert.
        _ = f.add(delivery(t0.adding(seconds: 200), t0.adding(seconds: 700), 600))
        #expect(f.cleared == ["undeclared_delivery/S1/T1"])
    }

    @Test func declaredDeliveryIsNotFlagged() {
        var f = feed()
        var t = t0
        _ = f.add(reading(t, 10_000))
        for tc in [10_500.0, 11_000, 11_000] {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, tc))
        }
        _ = f.add(delivery(t0, t, 1000))  // record pushed after the rise, within grace
        for _ in 0..<12 {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, 11_000))
        }
        #expect(f.raised.isEmpty)
    }

    @Test func smallRisesAndLateSaleRecordsAreNotDeliveries() {
        var f = feed()
        var t = t0
        _ = f.add(reading(t, 10_000))
        for _ in 0..<20 {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, 10_000 - 40))    // the gauge drops 40 L …
            _ = f.add(sale(t, volume: 0.001))     // … but the sale record comes only later
            _ = f.add(reading(t.adding(seconds: 1), 10_000 - 40 + 5))  // noise
        }
        #expect(f.raised.filter { $0.rule == .undeclaredDelivery }.isEmpty)
    }

    @Test func reconciliationFlagsALossDayAndClearsOnACleanDay() {
        var f = feed()
        f.thresholds.readingGapMinutes = 24 * 60  // this feed reads the gauge hourly
        // Day 1 (local 2026-11-01): sells 2000 L, gauge agrees. Day 2: sells 2000 L but loses 600 L more.
        var stock = 20_000.0
        func day(_ start: Timestamp, loss: Double) {
            for h in 0..<20 {
                let t = start.adding(seconds: Double(h) * 3600)
                _ = f.add(sale(t, volume: 100, seconds: 150))
                stock -= 100 + loss / 20
                _ = f.add(reading(t.adding(seconds: 200), stock))
            }
        }
        let d1 = Timestamp(rfc3339: "2026-11-01T00:30:00+08:00")!
        day(d1, loss: 0)
        day(d1.adding(seconds: 86_400), loss: 600)
        day(d1.adding(seconds: 2 * 86_400), loss: 0)
        _ = f.add(reading(d1.adding(seconds: 3 * 86_400), stock))  // closes day 3 …
        _ = f.add(reading(d1.adding(seconds: 3 * 86_400 + 1200), stock))  // … judged once late records had time to arrive
        let r = f.raised.filter { $0.rule == .reconciliationVariance }
        #expect(r.count == 1)
        #expect(r.first?.evidence["direction"] == .text("loss"))
        if case .number(let v)? = r.first?.evidence["variance_l"] { #expect(abs(v + 600) < 60) } else { Issue.record("no variance") }
        #expect(f.cleared == ["reconciliation_variance/S1/T1"])
        // Every judged day leaves its figure for the console's chart, the alert's day with the alert's figures.
        let figures = f.figures(.reconciliationVariance)
        #expect(figures.map(\.day.day) == [1, 2, 3])
        if let loss = figures.first(where: { $0.day.day == 2 }), case .number(let v)? = r.first?.evidence["variance_l"],
           case .number(let allowed)? = r.first?.evidence["allowed_l"] {
            #expect(loss.value == v && loss.bandHigh == allowed && loss.bandLow == -allowed)
        } else { Issue.record("no figure for the loss day") }
        #expect(figures.filter { $0.day.day != 2 }.allSatisfy { abs($0.value) <= $0.bandHigh! })
    }

    @Test func seqGapAfterGraceThenClearedWhenFilled() {
        var f = feed()
        var t = t0
        _ = f.add(reading(t, 10_000), pushSeq: 1)
        _ = f.add(reading(t, 10_000), pushSeq: 5)  // 2–4 missing
        #expect(f.raised.isEmpty)
        t = t.adding(seconds: 700)
        _ = f.add(reading(t, 10_000), pushSeq: 6)
        #expect(f.raised.map(\.rule) == [.seqGap])
        #expect(f.raised.first?.evidence["missing"] == .text("2-4"))
        _ = f.add(reading(t, 10_000), pushSeq: 7)
        #expect(f.raised.count == 1)  // a steady gap is one alert
        for s: Int64 in [3, 2, 4] { _ = f.add(reading(t, 10_000), pushSeq: s) }
        #expect(f.cleared == ["seq_gap/S1/push"])
    }

    @Test func stateSurvivesEncodingMidCondition() throws {
        var f = feed()
        var t = t0
        _ = f.add(reading(t, 10_000))
        for tc in [10_400.0, 10_800, 10_800] {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, tc))
        }
        // Restart: the detector's state goes through JSON, as the daemon stores it.
        let data = try JSONEncoderForTests.encode(f.detector)
        f.detector = try JSONEncoderForTests.decode(data)
        for _ in 0..<8 {
            t = t.adding(seconds: 300)
            _ = f.add(reading(t, 10_800))
        }
        #expect(f.raised.map(\.rule) == [.undeclaredDelivery])
        // Replaying an already observed entry does nothing.
        let replay = f.detector.observe(LedgerEntry(station: "S1", chainSeq: 2, source: .push, sourceSeq: 2, record: reading(t, 0)),
                                        profile: Self.profile, thresholds: f.thresholds)
        #expect(replay.isEmpty)
    }
}

import Foundation

enum JSONEncoderForTests {
    static func encode(_ d: StationDetector) throws -> Data { try JSONEncoder().encode(d) }
    static func decode(_ data: Data) throws -> StationDetector { try JSONDecoder().decode(StationDetector.self, from: data) }
}
