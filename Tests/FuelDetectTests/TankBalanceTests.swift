import FuelDetect
import FuelModel
import PropertyBased
import Testing

@testable import FuelDetect

/// Exact cases for the regression behind the leak test and the meter factors, and for the rules on it.
@Suite struct TankBalanceTests {
    static let start = Timestamp(rfc3339: "2026-11-01T00:00:00+08:00")!

    static func profile() -> StationProfile {
        StationProfile(
            station: Station(id: "S1", name: "站", city: "210100", hours: OpeningHours("24h")!, status: .active,
                             tanks: [Tank(id: "T1", grade: "92", capacityL: 30_000)],
                             nozzles: [Nozzle(id: "N1", tank: "T1", maxFlowLPM: 50), Nozzle(id: "N2", tank: "T1", maxFlowLPM: 50)]),
            ceilings: [])
    }

    /// A 20 °C tank read every minute for `days`, losing `leak` L/h; every `every` minutes a 30 L fill
    /// goes to N1 or N2 at random from 06:00 to 22:00, and N1's meter registers `overRegistration` more than it dispenses.
    /// The leak begins `leakFrom` days into the feed.
    func feed(days: Double, leak: Double, leakFrom: Double = 0, every: Int = 12, overRegistration: Double = 0, noise: Double = 0.3, seed: UInt64 = 1,
              thresholds: DetectionThresholds = DetectionThresholds()) -> DetectorFeed {
        var f = DetectorFeed(profile: Self.profile())
        f.thresholds = thresholds
        var stock = 25_000.0
        var rng = Xorshift(seed: seed)
        var fill = 0
        for m in 0..<Int(days * 1440) {
            let now = Self.start.adding(seconds: Double(m * 60))
            if Double(m) >= leakFrom * 1440 { stock -= leak / 60 }
            // Busy by day, quiet at night: the variation that tells meter factors from a leak.
            if m % every == 5, (6 * 60..<22 * 60).contains(m % 1440) {
                let nozzle = rng.uniform() < 0.5 ? "N1" : "N2"
                fill += 1
                let metered = 20 + Double(fill % 5) * 8
                stock -= nozzle == "N1" ? metered / (1 + overRegistration) : metered
                f.add(.sale(Sale(nozzle: nozzle, grade: "92", volumeL: metered, unitPrice: 7.9, amount: metered * 7.9,
                                 startedAt: now.adding(seconds: 1), endedAt: now.adding(seconds: 50))))
            }
            if stock < 8_000 { stock += 15_000 }  // refilled by the gauge-blind book: detector sees a rise and skips that segment
            let v = stock + rng.normal() * noise
            f.add(.tankReading(TankReading(tank: "T1", at: now.adding(seconds: 55), volumeL: v, tcVolumeL: v, temperatureC: 20)))
        }
        return f
    }

    /// A fine gauge (0.3 L noise) read every five minutes on a tank that sells day and night: a 20–40 L
    /// fill starting in 60 % of the day's minutes and 35 % of the night's, so few readings are quiet;
    /// both meters exact, losing `leak` L/h.
    func busyFeed(days: Double, leak: Double, thresholds: DetectionThresholds) -> DetectorFeed {
        var f = DetectorFeed(profile: Self.profile())
        f.thresholds = thresholds
        var stock = 28_000.0
        var rng = Xorshift(seed: 5)
        for m in 0..<Int(days * 1440) {
            let now = Self.start.adding(seconds: Double(m * 60))
            stock -= leak / 60
            // Busier by day than by night: the variation that tells meter factors from a leak.
            let busy = (7 * 60..<23 * 60).contains(m % 1440) ? 0.6 : 0.35
            if rng.uniform() < busy {
                let nozzle = rng.uniform() < 0.5 ? "N1" : "N2"
                let litres = 20 + 20 * rng.uniform()
                stock -= litres
                f.add(.sale(Sale(nozzle: nozzle, grade: "92", volumeL: litres, unitPrice: 7.9, amount: litres * 7.9,
                                 startedAt: now.adding(seconds: 1), endedAt: now.adding(seconds: 50))))
            }
            if stock < 8_000 { stock += 18_000 }
            if m % 5 == 0 {
                let v = stock + rng.normal() * 0.3
                f.add(.tankReading(TankReading(tank: "T1", at: now.adding(seconds: 55), volumeL: v, tcVolumeL: v, temperatureC: 20)))
            }
        }
        return f
    }

    @Test func aBusyFineTankIsJudgedByTheSurerOfTheTwoMethods() throws {
        // Few quiet readings: the quiet segments alone cannot decide the leak; every reading counts in the
        // cumulative method. With it (`detect.leak.inventory_on_fine_gauges`) the tank's verdict is the
        // surer of the two, and its limit is lower; its meters stay with the quiet segments.
        let th = DetectionThresholds()
        #expect(th.leakInventoryOnFineGauges, "on by default")
        var quietOnly = th
        quietOnly.leakInventoryOnFineGauges = false
        let tight = busyFeed(days: 15, leak: 0, thresholds: th)
        let both = try #require(tight.detector.tankAssessments(thresholds: th).first)
        let quiet = try #require(busyFeed(days: 15, leak: 0, thresholds: quietOnly).detector.tankAssessments(thresholds: quietOnly).first)
        #expect(quiet.method != .inventoryVariance && both.method == .inventoryVariance, "\(quiet.method.map(\.rawValue) ?? "–") → \(both.method.map(\.rawValue) ?? "–")")
        let limitBoth = try #require(both.detectionLimitLPH), limitQuiet = quiet.detectionLimitLPH ?? .infinity
        #expect(limitBoth < th.leakTargetLPH && limitBoth < limitQuiet * 0.8, "limit \(limitQuiet) → \(limitBoth) L/h")
        // Tight: nothing raised. Leaking 1.2 L/h: found with it.
        #expect(!tight.raised.contains { [.leakSuspected, .meterDrift, .stockGain].contains($0.rule) }, "\(tight.raised.map { "\($0.rule) \($0.evidence)" })")
        let leaking = busyFeed(days: 15, leak: 1.2, thresholds: th)
        let alert = try #require(leaking.raised.first { $0.rule == .leakSuspected })
        guard case .number(let rate)? = alert.evidence["leak_rate_l_per_h"] else { Issue.record("no rate"); return }
        #expect(abs(rate - 1.2) < 0.4, "\(alert.evidence)")
    }

    @Test func readingsSentAheadOfTheSalesAreNotMisread() {
        // A collector that sends each three hours' gauge readings before that period's sales: the
        // segments wait for the sales, so a tight tank stays tight.
        let ordered = feed(days: 5, leak: 0)
        var records: [Record] = []
        var block: (readings: [Record], sales: [Record]) = ([], [])
        var blockEnd = Self.start.adding(seconds: 3 * 3600)
        for e in ordered.entries {
            if e.at >= blockEnd {
                records += block.readings + block.sales
                block = ([], [])
                blockEnd = blockEnd.adding(seconds: 3 * 3600)
            }
            if case .sale = e { block.sales.append(e) } else { block.readings.append(e) }
        }
        records += block.readings + block.sales
        var f = DetectorFeed(profile: Self.profile())
        for r in records { f.add(r) }
        #expect(!f.raised.contains { [.leakSuspected, .meterDrift, .stockGain].contains($0.rule) }, "\(f.raised.map { "\($0.rule) \($0.evidence)" })")
    }

    @Test func aTankNeverQuietKeepsItsStateBounded() throws {
        // Sales back to back for two days (each fill starts as the last ends): no quiet boundary ever.
        // The rule gives up on the segment after six hours instead of scanning an ever longer list.
        var f = DetectorFeed(profile: Self.profile())
        var stock = 40_000.0
        var sizes: [Int] = []
        for minute in 0..<(2 * 24 * 60) {
            let at = Self.start.adding(seconds: Double(minute) * 60)
            f.add(.sale(Sale(nozzle: "N1", grade: "92", volumeL: 20, unitPrice: 7.5, amount: 150, startedAt: at, endedAt: at.adding(seconds: 60))))
            stock -= 20
            f.add(.tankReading(TankReading(tank: "T1", at: at.adding(seconds: 30), volumeL: stock, tcVolumeL: stock, temperatureC: 20)))
            if minute % 360 == 359 { sizes.append(try JSONEncoder().encode(f.detector).count) }
        }
        // The state after two days is no larger than after the first six hours, give or take.
        #expect(sizes.last! < sizes.first! * 2, "state sizes every 6 h: \(sizes)")
        #expect(!f.raised.contains { [.leakSuspected, .meterDrift, .stockGain].contains($0.rule) })
    }

    @Test func leastSquaresRecoversAnExactLinearModel() throws {
        var ls = LeastSquares(k: 3)
        for i in 0..<20 {
            let x = [Double(i % 4), Double(i % 7) * 2, 1]
            ls.add(x: x, y: 1.5 * x[0] - 0.5 * x[1] + 3)
        }
        let fit = try #require(ls.fit())
        #expect(abs(fit.beta[0]! - 1.5) < 1e-9 && abs(fit.beta[1]! + 0.5) < 1e-9 && abs(fit.beta[2]! - 3) < 1e-9)
        #expect(fit.residualSD < 1e-6)
    }

    @Test func leastSquaresLeavesOutEmptyColumnsAndRefusesTooFewRows() throws {
        var ls = LeastSquares(k: 3)
        for i in 0..<10 { ls.add(x: [Double(i), 0, 1], y: 2 * Double(i) + 1) }
        let fit = try #require(ls.fit())
        #expect(fit.beta[1] == nil && fit.se[1] == nil)
        #expect(abs(fit.beta[0]! - 2) < 1e-9)
        var few = LeastSquares(k: 2)
        few.add(x: [1, 1], y: 1)
        #expect(few.fit() == nil)
    }

    @Test func leastSquaresStandardErrorsCoverTheTruth() async {
        // With noise of known size the 3-SE interval holds the true slope almost always.
        await propertyCheck(input: Gen.int(in: 1...10_000)) { seed in
            var rng = Xorshift(seed: UInt64(seed))
            var ls = LeastSquares(k: 2)
            for i in 0..<200 { let x = Double(i % 17); ls.add(x: [x, 1], y: 0.7 * x + 2 + rng.normal()) }
            let fit = ls.fit()!
            #expect(abs(fit.beta[0]! - 0.7) < 4 * fit.se[0]!)
            #expect(fit.residualSD > 0.7 && fit.residualSD < 1.3)
        }
    }

    @Test func aLeakingTankFailsTheLeakTestWithItsRate() throws {
        // Six days: the test decides from the third close on and raises at the second close above the threshold.
        let f = feed(days: 6, leak: 1.0)
        let leak = try #require(f.raised.first { $0.rule == .leakSuspected })
        #expect(leak.subject == "T1" && leak.evidence["verdict"] == .text("fail"))
        guard case .number(let rate)? = leak.evidence["leak_rate_l_per_h"] else { Issue.record("no rate"); return }
        #expect(abs(rate - 1.0) < 0.1)
        guard case .number(let low)? = leak.evidence["ci95_low_l_per_h"], case .number(let high)? = leak.evidence["ci95_high_l_per_h"] else { return }
        #expect(low < 1.0 && 1.0 < high)
        // The daily figures draw the same test over time: the last one is the alert's, band up to the threshold.
        let last = try #require(f.figures(.leakRate).last)
        #expect(last.subject == "T1" && last.value == rate && last.low == low && last.high == high)
        #expect(last.bandHigh == f.thresholds.leakThresholdLPH && last.method == leak.evidence["method"].flatMap { if case .text(let m) = $0 { m } else { nil } })
    }

    @Test func aLeakIsRaisedOnceItsEstimateStaysAboveTheThreshold() throws {
        var once = DetectionThresholds()
        once.leakConfirmCloses = 1
        let confirmed = feed(days: 6, leak: 1.0), single = feed(days: 6, leak: 1.0, thresholds: once)
        let first = try #require(confirmed.raised.first { $0.rule == .leakSuspected })
        let early = try #require(single.raised.first { $0.rule == .leakSuspected })
        guard case .text(let day)? = first.evidence["through_day"], case .text(let earlyDay)? = early.evidence["through_day"] else {
            Issue.record("no through_day")
            return
        }
        // One close later than a lone close would have raised it, and the close before was above the threshold too.
        #expect(earlyDay < day)
        let figures = confirmed.figures(.leakRate)
        let at = try #require(figures.firstIndex { $0.day.description == day })
        #expect(at >= 1 && figures[at - 1].value > confirmed.thresholds.leakThresholdLPH && figures[at].value > confirmed.thresholds.leakThresholdLPH)
    }

    @Test func aLeakThatBeginsInsideTheWindowIsMeasuredFromItsDay() throws {
        // Tight for five days, then 0.8 L/h: the days before pin the meters, the leak is measured from
        // the day it began, and it is raised before the whole window's average would cross the bar.
        let f = feed(days: 9, leak: 0.8, leakFrom: 5)
        let leak = try #require(f.raised.first { $0.rule == .leakSuspected })
        #expect(leak.evidence["leak_since_day"] == .text("2026-11-06"), "\(leak.evidence)")
        guard case .number(let rate)? = leak.evidence["leak_rate_l_per_h"], case .text(let day)? = leak.evidence["through_day"] else {
            Issue.record("no rate")
            return
        }
        #expect(abs(rate - 0.8) < 0.15)
        var without = DetectionThresholds()
        without.leakQuietOnsetWindowDays = 0
        let averaged = feed(days: 9, leak: 0.8, leakFrom: 5, thresholds: without).raised.first { $0.rule == .leakSuspected }
        if case .text(let later)? = averaged?.evidence["through_day"] { #expect(day < later) }
        #expect(averaged?.evidence["leak_since_day"] == nil)
    }

    @Test func aTightTankPassesAndMetersWithinTheLawAreQuiet() {
        let f = feed(days: 5, leak: 0, overRegistration: 0.002)
        #expect(!f.raised.contains { $0.rule == .leakSuspected })
        #expect(!f.raised.contains { $0.rule == .meterDrift || $0.rule == .stockGain })
    }

    @Test func aShortFillingNozzleIsNamedAndItsTankShowsAGain() throws {
        let f = feed(days: 4, leak: 0, overRegistration: 0.02)
        let drift = f.raised.filter { $0.rule == .meterDrift }
        #expect(Set(drift.map(\.subject)) == ["N1"])
        // The first raise comes when the estimate first crosses the bar; the last update has the most data.
        guard case .number(let pct)? = drift.last?.evidence["registration_error_percent"] else { Issue.record("no figure"); return }
        #expect(abs(pct - 2) < 0.3)
        // Its figures sit above the legal band; the other nozzles' within it.
        let figures = f.figures(.meterError)
        let n1 = try #require(figures.last { $0.subject == "N1" })
        #expect(n1.value == pct && n1.bandHigh == f.thresholds.meterLegalPercent && n1.low! > n1.bandHigh!)
        #expect(figures.filter { $0.subject != "N1" }.allSatisfy { abs($0.value) < 1 })
    }

    /// A meter's error is raised only once it is beyond the flag at its 95 % lower bound, not merely
    /// above it: a 1.25 % over-registration read on noisy readings stays a figure, a 2.5 % one is raised.
    @Test func aMeterErrorIsRaisedOnlyBeyondTheFlagAtItsLowerBound() throws {
        let th = DetectionThresholds()
        // 1.5 % on readings with 1 L of noise: against the tank's other nozzle it is past the flag and past
        // the legal band by more than z of its standard errors, but its own error is not past the flag
        // at its 95 % lower bound — a figure, not an alert.
        let near = feed(days: 4, leak: 0, overRegistration: 0.015, noise: 1.0)
        let figures = near.figures(.meterError).filter { $0.subject == "N1" }
        #expect(figures.contains { f in
            let se = (f.high! - f.value) / 1.96
            return f.value > th.meterFlagPercent && (f.value - th.meterLegalPercent) / se > th.meterZ
        }, "\(figures.map(\.value))")
        #expect(!near.raised.contains { $0.rule == .meterDrift }, "\(near.raised.map(\.evidence))")
        // 2.5 % on the same readings is raised, with its error past the flag at its lower bound.
        let far = feed(days: 4, leak: 0, overRegistration: 0.025, noise: 1.0)
        let raised = far.raised.filter { $0.rule == .meterDrift }
        #expect(Set(raised.map(\.subject)) == ["N1"])
        for alert in raised {
            guard case .number(let error)? = alert.evidence["registration_error_percent"],
                  case .number(let se)? = alert.evidence["error_standard_error_percent"] else {
                Issue.record("no figures: \(alert.evidence)")
                continue
            }
            #expect(error - 1.645 * se > th.meterFlagPercent && se > 0)
        }
    }

    @Test func theLeakAlertClearsWhenTheTestPassesAgain() {
        var f = feed(days: 6, leak: 1.5)
        #expect(f.raised.contains { $0.rule == .leakSuspected })
        // Repaired: ten more tight days push the leak out of the window.
        var stock = 20_000.0
        let t0 = Self.start.adding(seconds: 6 * 86_400)
        for m in 0..<(12 * 1440) {
            let v = stock
            f.add(.tankReading(TankReading(tank: "T1", at: t0.adding(seconds: Double(m * 60) + 55), volumeL: v, tcVolumeL: v, temperatureC: 20)))
            stock -= 0.0001
        }
        #expect(f.cleared.contains("leak_suspected/S1/T1"))
    }
}

/// A tiny deterministic generator for test noise.
struct Xorshift {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

import Foundation
