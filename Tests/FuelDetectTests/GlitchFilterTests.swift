import FuelModel
import Testing

@testable import FuelDetect

/// The tank tracker's glitch filter on exact cases: a reading that jumps and comes back is dropped
/// and counted; one that stays (a delivery) is passed on one reading late; sales that come while a
/// reading is held are split at its time; readings without a height are never held.
@Suite struct GlitchFilterTests {
    static let station = Station(
        id: "S1", name: "测试站", city: "210100",
        tanks: [Tank(id: "T1", grade: "92", capacityL: 30000)],
        nozzles: [Nozzle(id: "N1", tank: "T1", maxFlowLPM: 50)])
    static let profile = StationProfile(station: station, ceilings: [])
    static let t0 = Timestamp(rfc3339: "2026-11-01T02:00:00Z")!

    /// A reading every 15 minutes: height (mm) and volume (25 L a mm).
    static func reading(_ i: Int, _ heightMM: Double?, _ litres: Double) -> TankReading {
        TankReading(tank: "T1", at: t0.adding(seconds: Double(i) * 900), volumeL: litres, tcVolumeL: litres, heightMM: heightMM, temperatureC: 20)
    }

    static func feed(_ readings: [TankReading], into tracker: inout TankTracker) -> [[GaugeStep]] {
        readings.enumerated().map { i, r in tracker.reading(r, chainSeq: Int64(i + 1), profile: profile, thresholds: DetectionThresholds()) }
    }

    @Test func aSpikeThatComesBackIsDropped() {
        var tracker = TankTracker()
        let steps = Self.feed([Self.reading(0, 1000, 25_000), Self.reading(1, 1000, 25_000), Self.reading(2, 1030, 25_750),
                               Self.reading(3, 1000, 25_000), Self.reading(4, 999, 24_975)], into: &tracker)
        // The reading that came back waits for the next too (which of the two was the glitch?):
        // reading 4 agrees with it, so the spike never reaches the rules — the step after reading 1
        // goes to reading 3.
        #expect(steps.map(\.count) == [1, 1, 0, 0, 2])
        #expect(steps[4].map(\.current.chainSeq) == [4, 5])
        #expect(steps[4].first?.previous?.chainSeq == 2)
        #expect(steps.flatMap { $0 }.allSatisfy { abs($0.gaugeChangeL) < 30 })
        #expect(tracker.quality["T1"]?.glitches == 1)
        #expect(tracker.held.isEmpty && tracker.returned.isEmpty)
    }

    /// A delivery's last reading (+1,000 L, held: it jumped) followed by a reading spiking 40 mm
    /// down to where the tank was before: on three readings that is a spike up that came back. The
    /// fourth reading is back at the delivered level, so the downward spike is the glitch: the rise
    /// reaches the rules whole, once — not a delivery short by 1,000 L followed by an undeclared one.
    @Test func aSpikeDownAfterADeliveryIsTheGlitchNotTheDelivery() {
        var tracker = TankTracker()
        let steps = Self.feed([Self.reading(0, 1000, 25_000), Self.reading(1, 1000, 25_000), Self.reading(2, 1040, 26_000),
                               Self.reading(3, 1000, 25_000), Self.reading(4, 1040, 26_000), Self.reading(5, 1040, 26_000)],
                              into: &tracker)
        #expect(steps.map(\.count) == [1, 1, 0, 0, 2, 1])
        // Reading 3 (the spike down) never reaches the rules: 1 → 2 (the rise), then 2 → 4.
        #expect(steps[4].map(\.current.chainSeq) == [3, 5])
        #expect(steps[4].first?.previous?.chainSeq == 2)
        let changes = steps.flatMap { $0 }.map(\.gaugeChangeL)
        #expect(changes.filter { $0 > 500 } == [1_000])
        #expect(changes.allSatisfy { $0 > -30 })
        #expect(tracker.quality["T1"]?.glitches == 1)
    }

    /// A busy tank drops 10 mm (250 L) between readings; a 12 mm upward spike rises only 2 mm above
    /// the reading before it and the next reading is 20 mm below that one: judged on heights alone
    /// it neither jumped nor came back. After the litres sold it is a spike; a delivery is not.
    @Test func aSpikeOnABusyTankIsJudgedAfterTheSales() {
        let a = GaugePoint(at: Self.t0, tcVolumeL: 25_000, chainSeq: 1, heightMM: 1000)
        let spike = GaugePoint(at: Self.t0.adding(seconds: 900), tcVolumeL: 25_050, chainSeq: 2, heightMM: 1002)
        let after = GaugePoint(at: Self.t0.adding(seconds: 1800), tcVolumeL: 24_500, chainSeq: 3, heightMM: 980)
        #expect(!TankTracker.isGlitch(before: a, held: spike, after: after, threshold: 3, returnShare: 0.5))
        #expect(TankTracker.isGlitch(before: a, held: spike, after: after, soldBefore: 250, soldAfter: 250, threshold: 3, returnShare: 0.5))
        // Fuel that came in and stayed: 1,000 L up, and the next reading only the sales below it.
        let filled = GaugePoint(at: Self.t0.adding(seconds: 900), tcVolumeL: 25_750, chainSeq: 2, heightMM: 1030)
        let stayed = GaugePoint(at: Self.t0.adding(seconds: 1800), tcVolumeL: 25_500, chainSeq: 3, heightMM: 1020)
        #expect(!TankTracker.isGlitch(before: a, held: filled, after: stayed, soldBefore: 250, soldAfter: 250, threshold: 3, returnShare: 0.5))
    }

    /// A busy tank read every 15 minutes drops centimetres between readings: a drop the litres sold
    /// meanwhile explain is passed on at once (held, every judgement on it would come a reading
    /// late); the same drop with no sale recorded, or a reading standing 20 mm above where the sales
    /// put it, is held.
    @Test func aDropTheSalesExplainIsNotHeld() {
        func sale(_ litres: Double, endingAt i: Int) -> Sale {
            let end = Self.t0.adding(seconds: Double(i) * 900 - 120)
            return Sale(nozzle: "N1", grade: "92", volumeL: litres, unitPrice: 7.9, amount: litres * 7.9, startedAt: end.adding(seconds: -60), endedAt: end)
        }
        var tracker = TankTracker()
        _ = Self.feed([Self.reading(0, 1000, 25_000)], into: &tracker)
        _ = tracker.sale(sale(250, endingAt: 1), profile: Self.profile)
        let explained = tracker.reading(Self.reading(1, 990, 24_750), chainSeq: 2, profile: Self.profile, thresholds: DetectionThresholds())
        #expect(explained.count == 1 && tracker.held["T1"] == nil)
        _ = tracker.sale(sale(250, endingAt: 2), profile: Self.profile)
        let above = tracker.reading(Self.reading(2, 1000, 25_000), chainSeq: 3, profile: Self.profile, thresholds: DetectionThresholds())
        #expect(above.isEmpty && tracker.held["T1"] != nil)
        #expect(abs(TankTracker.jump(from: GaugePoint(at: Self.t0, tcVolumeL: 25_000, chainSeq: 1, heightMM: 1000),
                                     to: GaugePoint(at: Self.t0.adding(seconds: 900), tcVolumeL: 24_750, chainSeq: 2, heightMM: 990),
                                     sold: 250)) < 1e-9)
    }

    @Test func aRiseThatStaysIsPassedOnOneReadingLate() {
        var tracker = TankTracker()
        let steps = Self.feed([Self.reading(0, 1000, 25_000), Self.reading(1, 1100, 27_500), Self.reading(2, 1200, 30_000),
                               Self.reading(3, 1200, 30_000)], into: &tracker)
        // Each rising reading waits for the next; the flat one after the rise passes both on.
        #expect(steps.map(\.count) == [1, 0, 1, 2])
        #expect(steps[2].map(\.current.chainSeq) == [2])
        #expect(steps[3].map(\.current.chainSeq) == [3, 4])
        #expect(steps.flatMap { $0 }.map(\.gaugeChangeL).reduce(0, +) == 5_000)
        #expect(tracker.quality["T1"]?.glitches == 0)
    }

    @Test func salesWhileAReadingIsHeldAreSplitAtItsTime() {
        var tracker = TankTracker()
        _ = Self.feed([Self.reading(0, 1000, 25_000)], into: &tracker)
        let drop = Self.reading(1, 990, 24_750)  // a 250 L fill: held (10 mm)
        _ = tracker.reading(drop, chainSeq: 2, profile: Self.profile, thresholds: DetectionThresholds())
        #expect(tracker.held["T1"] != nil)
        // A sale recorded after the held reading, flowing across its time: 20 L before, 20 L after.
        let sale = Sale(nozzle: "N1", grade: "92", volumeL: 40, unitPrice: 7.9, amount: 316,
                        startedAt: drop.at.adding(seconds: -60), endedAt: drop.at.adding(seconds: 60))
        _ = tracker.sale(sale, profile: Self.profile)
        let steps = tracker.reading(Self.reading(2, 989, 24_725), chainSeq: 3, profile: Self.profile, thresholds: DetectionThresholds())
        #expect(steps.count == 2)
        #expect(abs(steps[0].salesTCL - 20) < 1e-9 && abs(steps[1].salesTCL - 20) < 1e-9)
    }

    @Test func readingsWithoutAHeightAreNeverHeld() {
        var tracker = TankTracker()
        let steps = Self.feed([Self.reading(0, nil, 25_000), Self.reading(1, nil, 26_000), Self.reading(2, nil, 25_000)], into: &tracker)
        #expect(steps.map(\.count) == [1, 1, 1])
    }

    /// A noisy gauge raises its own threshold: 6 × its reading noise.
    @Test func theThresholdFollowsTheGaugesNoise() {
        var tracker = TankTracker()
        var q = GaugeQuality()
        for i in 0..<40 { q.reading(heightMM: 1000 + (i % 2 == 0 ? 1.0 : -1.0), at: Self.t0.adding(seconds: Double(i) * 900)) }
        tracker.quality["T1"] = q
        let noise = q.noiseMM ?? 0
        #expect(noise > 1)
        #expect(tracker.glitchThreshold("T1", DetectionThresholds()) == 6 * noise)
    }
}
