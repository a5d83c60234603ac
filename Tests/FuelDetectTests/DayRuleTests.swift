import FuelDetect
import FuelModel
import Testing

/// Exact cases for the rules judged by day: vapour recovery, falsified A/L, the cumulative and the
/// cross-midnight reconciliation, and the after-hours grace.
@Suite struct DayRuleTests {
    static let start = Timestamp(rfc3339: "2026-11-01T08:00:00+08:00")!

    func profile() -> StationProfile { StationRuleTests.profile(hours: "06:00-22:00") }

    /// `fills` A/L readings a day on N1 (values from `al`), days 0..<days, then one reading on the next day to close the last.
    func feed(days: Int, fills: Int = 10, al: (Int, Int) -> Double) -> DetectorFeed {
        var f = DetectorFeed(profile: profile())
        for d in 0...days {
            for i in 0..<(d == days ? 1 : fills) {
                let t = Self.start.adding(seconds: Double(d * 86_400 + i * 600))
                f.add(.vapourReading(VapourReading(nozzle: "N1", at: t, alRatio: al(d, i))))
            }
        }
        return f
    }

    @Test func fiveWarningDaysInARowRaiseAndAGoodDayClears() {
        // 4 warning days: no alarm yet.
        let four = feed(days: 4) { _, i in i % 2 == 0 ? 0.8 : 1.1 }
        #expect(!four.raised.contains { $0.rule == .vapourRecovery })
        var five = feed(days: 5) { _, i in i % 2 == 0 ? 0.8 : 1.1 }
        let alarm = five.raised.filter { $0.rule == .vapourRecovery }
        #expect(alarm.map(\.subject) == ["N1"])
        #expect(alarm.first?.evidence["warning_days"] == .integer(5))
        // A day with 7 of 9 good fills (78 %) is not a warning day: it clears.
        for i in 0..<8 { five.add(.vapourReading(VapourReading(nozzle: "N1", at: Self.start.adding(seconds: 5 * 86_400 + Double(i + 1) * 600), alRatio: i < 1 ? 0.8 : 1.1))) }
        five.add(.vapourReading(VapourReading(nozzle: "N1", at: Self.start.adding(seconds: 6 * 86_400), alRatio: 1.1)))
        #expect(five.cleared.contains("vapour_recovery/S1/N1"))
    }

    @Test func aBrokenStreakStartsAgain() {
        let f = feed(days: 6) { d, i in d == 2 ? 1.1 : (i % 2 == 0 ? 0.8 : 1.1) }
        #expect(!f.raised.contains { $0.rule == .vapourRecovery })
    }

    @Test func tooFewFillsDoNotJudgeADay() {
        let f = feed(days: 6, fills: 4) { _, _ in 0.5 }
        #expect(!f.raised.contains { $0.rule == .vapourRecovery })
    }

    @Test func pressureOutOfRangeOnSevenDaysRaises() {
        var f = DetectorFeed(profile: profile())
        for d in 0...7 {
            for i in 0..<(d == 7 ? 1 : 24) {
                let p: Double = i < 8 ? 800 : -200  // a third of the readings above +600 Pa
                f.add(.vapourReading(VapourReading(tank: "T1", at: Self.start.adding(seconds: Double(d * 86_400 + i * 3000)), pressurePa: p)))
            }
        }
        #expect(f.raised.filter { $0.rule == .vapourRecovery }.map(\.subject) == ["T1:pressure"])
    }

    @Test func tooRegularReadingsAreFalsifiedAndNaturalOnesAreNot() {
        let fake = feed(days: 1, fills: 12) { _, i in 1.1 + Double(i % 2) * 0.001 }
        #expect(fake.raised.filter { $0.rule == .falsifiedTelemetry }.map(\.subject) == ["N1"])
        let real = feed(days: 3, fills: 12) { d, i in 1.02 + Double((i * 7 + d) % 12) * 0.014 }
        #expect(!real.raised.contains { $0.rule == .falsifiedTelemetry })
    }

    @Test func smallFillsDoNotCountForTheDayRule() {
        var f = DetectorFeed(profile: profile())
        for d in 0...5 {
            for i in 0..<(d == 5 ? 1 : 10) {
                let t = Self.start.adding(seconds: Double(d * 86_400 + i * 600))
                f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 8, unitPrice: 7.9, amount: 63.2, startedAt: t.adding(seconds: -30), endedAt: t)))
                f.add(.vapourReading(VapourReading(nozzle: "N1", at: t.adding(seconds: 1), alRatio: 0.7)))
            }
        }
        #expect(!f.raised.contains { $0.rule == .vapourRecovery })
    }

    @Test func afterHoursAllowsForAFewMinutesOfClockError() {
        var f = DetectorFeed(profile: profile())
        f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 30, unitPrice: 7.9, amount: 237, startedAt: Timestamp(rfc3339: "2026-11-01T22:03:00+08:00")!,
                         endedAt: Timestamp(rfc3339: "2026-11-01T22:04:00+08:00")!)))
        f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 30, unitPrice: 7.9, amount: 237, startedAt: Timestamp(rfc3339: "2026-11-02T05:57:00+08:00")!,
                         endedAt: Timestamp(rfc3339: "2026-11-02T05:58:00+08:00")!)))
        #expect(f.raised.isEmpty)
        f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 30, unitPrice: 7.9, amount: 237, startedAt: Timestamp(rfc3339: "2026-11-02T22:10:00+08:00")!,
                         endedAt: Timestamp(rfc3339: "2026-11-02T22:11:00+08:00")!)))
        #expect(f.raised.map(\.rule) == [.afterHoursSale])
    }

    @Test func cumulativeVarianceOverThirtyDays() {
        // A tank losing 25 L a day unnoticed by the daily rule (130 L) crosses 1 % + 492 L over 30 days.
        var f = DetectorFeed(profile: StationRuleTests.profile(hours: "24h"))
        var stock = 9_000.0
        for d in 0...31 {
            for h in stride(from: 0, to: 24, by: 6) {
                let t = Timestamp(rfc3339: "2026-11-01T00:30:00+08:00")!.adding(seconds: Double(d * 86_400 + h * 3600))
                f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 20, unitPrice: 7.9, amount: 158, startedAt: t, endedAt: t.adding(seconds: 40))))
                stock -= 20 + 25.0 / 4
                f.add(.tankReading(TankReading(tank: "T1", at: t.adding(seconds: 120), volumeL: stock, tcVolumeL: stock, temperatureC: 20)))
            }
        }
        #expect(!f.raised.contains { $0.rule == .reconciliationVariance && $0.subject == "T1" })
        let monthly = f.raised.first { $0.rule == .reconciliationVariance && $0.subject == "T1:30d" }
        #expect(monthly?.evidence["direction"] == .text("loss"))
    }

    @Test func aDeliveryAcrossMidnightIsNotSplitByAnotherClock() {
        // The ticket's clock runs 5 minutes ahead of the gauge's: split by time, 800 L would land on
        // the wrong day. The two days are judged as one instead, and they balance.
        var f = DetectorFeed(profile: StationRuleTests.profile(hours: "24h"))
        f.thresholds.readingGapMinutes = 24 * 60
        var stock = 3_000.0
        let t0 = Timestamp(rfc3339: "2026-11-01T00:05:00+08:00")!
        var deliveredAt: Timestamp?
        for step in 0..<(3 * 144) {  // every 10 minutes for three days
            let t = t0.adding(seconds: Double(step * 600))
            if step % 6 == 3 {
                f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 30, unitPrice: 7.9, amount: 237, startedAt: t.adding(seconds: -90), endedAt: t.adding(seconds: -30))))
                stock -= 30
            }
            // 23:45 → 00:15 on the first night: 5,000 L at ~167 L/min.
            let into = t0.adding(seconds: 86_400 - 20 * 60)
            if t > into, t <= into.adding(seconds: 1800) { stock += 5_000.0 / 3 }
            f.add(.tankReading(TankReading(tank: "T1", at: t, volumeL: stock, tcVolumeL: stock, temperatureC: 20)))
            if t > into.adding(seconds: 1800), deliveredAt == nil {
                deliveredAt = t
                f.add(.delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: "B1", billNo: "BL-1", grade: "92", declaredVolumeL: 5_000,
                                         startedAt: into.adding(seconds: 300), endedAt: into.adding(seconds: 2100))))
            }
        }
        #expect(!f.raised.contains { $0.rule == .reconciliationVariance }, "\(f.raised.map(\.evidence))")
        #expect(!f.raised.contains { $0.rule == .deliveryMismatch })
    }
}
