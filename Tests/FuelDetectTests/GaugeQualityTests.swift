import Foundation
import FuelModel
import FuelWire
import Testing

@testable import FuelDetect
@testable import FuelSim
@testable import FuelEvaluate

/// The gauge-quality estimator: exact small cases, then the profiles the simulator makes.
@Suite struct GaugeQualityTests {
    static let t0 = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!

    @Test func stepIntervalAndQuietNoiseOnExactSeries() {
        var q = GaugeQuality()
        let heights = [1000.0, 1000.5, 1000.0, 1000.5, 1000.0]
        for (i, h) in heights.enumerated() { q.reading(heightMM: h, at: Self.t0.adding(seconds: Double(i) * 900)) }
        #expect(q.stepMM == 0.5)
        #expect(q.intervalSeconds == 900)
        #expect(q.readings == 5 && q.noiseMM == nil)  // fewer than 12 quiet triplets
        #expect(q.secondDifferences == [-1, 1, -1])
    }

    @Test func salesMakeATripletNotQuiet() {
        var q = GaugeQuality()
        q.reading(heightMM: 1000, at: Self.t0)
        q.reading(heightMM: 999, at: Self.t0.adding(seconds: 60))
        q.sale()
        q.reading(heightMM: 990, at: Self.t0.adding(seconds: 120))  // a sale between the 2nd and 3rd
        q.reading(heightMM: 990, at: Self.t0.adding(seconds: 180))  // the sale is inside this triplet too
        q.reading(heightMM: 990, at: Self.t0.adding(seconds: 240))
        #expect(q.secondDifferences == [0])
    }

    /// Gaussian noise of known size on a quiet tank: the robust estimate finds it within 15 %.
    @Test func noiseOfAQuietTankIsFound() {
        for sd in [0.02, 0.2, 0.5] {
            var rng = SeededRandom(seed: 7)
            var q = GaugeQuality()
            for i in 0..<400 { q.reading(heightMM: 1500 + rng.normal(sd: sd), at: Self.t0.adding(seconds: Double(i) * 300)) }
            let noise = q.noiseMM ?? 0
            #expect(abs(noise / sd - 1) < 0.15, "sd \(sd): estimated \(noise)")
        }
    }

    /// The limitations named against the marks: a 1 mm gauge read every 30 minutes is coarse and
    /// sparse; a fine gauge read every 5 minutes is neither.
    @Test func limitationsAreNamedAgainstTheMarks() {
        var coarse = GaugeQuality(), fine = GaugeQuality()
        for i in 0..<20 {
            coarse.reading(heightMM: 1000 + Double(i % 2), at: Self.t0.adding(seconds: Double(i) * 1800))
            fine.reading(heightMM: 1000 + 0.01 * Double(i % 2), at: Self.t0.adding(seconds: Double(i) * 300))
        }
        let th = DetectionThresholds()
        #expect(GaugeLimitation.of(coarse, thresholds: th) == [.coarseSteps, .noisy, .tooFewReadings])
        #expect(GaugeLimitation.of(fine, thresholds: th).isEmpty)
        for _ in 0..<2 { fine.glitch() }  // 2 of 20 readings glitches: too few to name
        #expect(GaugeLimitation.of(fine, thresholds: th).isEmpty)
        fine.glitch()
        #expect(GaugeLimitation.of(fine, thresholds: th) == [.spikes])
    }

    /// Detection's view of a gauge over a full leak window: a gauge far outside the envelope
    /// (2 mm steps, 1 mm noise, a reading every 30 minutes) raises one `gauge_quality` alert naming
    /// why where its detection limit is above the target; a fine gauge's is within it, with none.
    @Test func aGaugeThatCannotReachTheTargetIsNamed() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let station = registry.stations[0]
        let profile = try #require(StationProfile(stationID: station.id, registry: registry))
        var poor = GaugeProfile(name: "poor")
        poor.heightStepMM = 2; poor.heightNoiseMM = 1; poor.readingIntervalSeconds = 1800
        // The window full, and the day closes a change of the gauge's state takes, and one more.
        let th = DetectionThresholds()
        let days = Double(max(th.inventoryWindowDays, th.leakWindowDays) + th.gaugeQualityDays + 1)
        for gauge in [poor, try #require(GaugeProfile.named("fine-5m"))] {
            var s = StationScenario(station: station, seed: 21, start: Self.t0, days: days, prices: DemoRegistry.prices)
            s.gauge = gauge
            var run = StationRun(scenario: s)
            run.run(profile: profile, thresholds: DetectionThresholds())
            let flagged = run.alerts.filter { $0.signal.rule == .gaugeQuality }
            let assessed = run.assessments.filter { $0.settled }
            #expect(assessed.count == station.tanks.count, "\(gauge.name): \(run.assessments)")
            // Each tank's leak estimate in standard errors at every day close once the test has data
            // (`leakMinHours`, 72, from the run's start): what evaluate's calibration line counts.
            #expect(Set(run.closeLeakZ.keys) == Set(station.tanks.map(\.id)))
            #expect(run.closeLeakZ.values.allSatisfy { $0.count >= Int(days) - 4 && $0.count <= Int(days) && $0.allSatisfy(\.isFinite) },
                    "\(gauge.name): \(run.closeLeakZ)")
            if gauge.name == "poor" {
                // Every tank whose limit is above the target is named, and no other. With the meters known
                // legal a priori (`leakMeterPriorPercent`) one of the demo station's four tanks (T3) reaches the
                // target even on this gauge; the others do not.
                let short = assessed.filter { $0.meetsTarget == false }
                #expect(Set(flagged.map(\.signal.subject)) == Set(short.map(\.tank)), "\(gauge.name): \(assessed)")
                #expect(short.count >= station.tanks.count - 1, "\(assessed)")
                #expect(flagged.allSatisfy { $0.signal.severity == .info && $0.signal.evidence["reasons"] == .text("coarse_steps,noisy,too_few_readings") },
                        "\(flagged.map(\.signal.evidence))")
                #expect(assessed.allSatisfy { $0.method == .inventoryVariance })
                // The tank that meets it does so with the meters' prior, and says so.
                #expect(assessed.filter { $0.meetsTarget == true }.allSatisfy { $0.meterPriorPercent == th.leakMeterPriorPercent }, "\(assessed)")
                // Nor can it judge a meter within three days: every nozzle is listed and inconclusive, with
                // a limit above the target where it has an estimate (on some days none: three days of
                // 24-hour epochs are too few clusters), without figures where it has none.
                let meters = assessed.flatMap(\.meters)
                #expect(Set(meters.map(\.nozzle)) == Set(station.nozzles.map(\.id)), "\(meters)")
                #expect(meters.allSatisfy { m in
                    !m.conclusive && (m.method == nil ? m.errorPercent == nil && m.detectionLimitPercent == nil : (m.detectionLimitPercent ?? 0) > m.targetPercent)
                }, "\(meters)")
            } else {
                #expect(flagged.isEmpty, "\(flagged.map(\.signal.evidence))")
                #expect(assessed.allSatisfy { $0.meetsTarget == true && $0.method == .quietSegments && $0.limitations.isEmpty }, "\(assessed)")
                // The quiet-segment method takes no prior on the meters.
                #expect(assessed.allSatisfy { $0.meterPriorPercent == nil })
                // A fine gauge judges every nozzle's meter, and finds the target error within the window.
                let meters = assessed.flatMap(\.meters)
                #expect(Set(meters.map(\.nozzle)) == Set(station.nozzles.map(\.id)), "\(meters)")
                #expect(meters.allSatisfy { $0.conclusive && ($0.detectionLimitPercent ?? .infinity) <= $0.targetPercent }, "\(meters)")
            }
        }
    }

    /// On simulated stations the estimate tells a fine gauge from a coarse one.
    @Test func simulatedGaugesAreToldApart() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let station = registry.stations[0]
        let profile = try #require(StationProfile(stationID: station.id, registry: registry))
        var found: [String: (step: Double?, noise: Double?, interval: Double?)] = [:]
        for name in ["fine-5m", "mm-15m"] {
            var s = StationScenario(station: station, seed: 5, start: Self.t0, days: 4, prices: DemoRegistry.prices)
            s.gauge = try #require(GaugeProfile.named(name))
            var sim = StationSimulator(s)
            var detector = StationDetector(station: station.id)
            for (i, r) in sim.records().enumerated() {
                _ = detector.observe(LedgerEntry(station: station.id, chainSeq: Int64(i + 1), source: .push, sourceSeq: Int64(i + 1), record: r),
                                     profile: profile, thresholds: DetectionThresholds())
            }
            let q = try #require(detector.gaugeQuality["T1"])
            found[name] = (q.stepMM, q.noiseMM, q.intervalSeconds)
        }
        #expect(found["fine-5m"]?.step == 0.01 && found["fine-5m"]?.interval == 300)
        #expect(found["mm-15m"]?.step == 1 && found["mm-15m"]?.interval == 900)
        let fineNoise = try #require(found["fine-5m"]?.noise), coarseNoise = try #require(found["mm-15m"]?.noise)
        #expect(fineNoise < 0.1 && coarseNoise > 0.3, "fine \(fineNoise) mm, coarse \(coarseNoise) mm")
    }
}

/// Issue 13's cost target: a station's detector state stays within 32 KB (four tanks, sixteen days
/// of sales, deliveries and vapour readings: every window of the tank balance full) — on a fine gauge
/// read every minute, and on the gauges whose inventory-variance cells the state also keeps: coarse
/// ones, a busy 24-hour station's among them (on a tenth-millimetre gauge with twice the epochs), and
/// fine ones whose quiet segments cannot decide the leak (busy, read every 30 minutes).
@Suite struct DetectorStateSizeTests {
    @Test(arguments: ["fine-1m", "fine-5m-24h", "fine-5m:every=30m:usage=busy", "mm-15m", "tenth-30m-irregular", "mm-15m-24h", "tenth-15m-24h"])
    func aBusyStationsStateStaysSmall(gauge: String) throws {
        let detector = try SimulatedStationState.detector(gauge: gauge, days: 16, seed: 9, start: GaugeQualityTests.t0)
        let bytes = try JSONEncoder().encode(detector).count
        #expect(bytes <= 32 * 1024, "\(gauge): the detector state is \(bytes) bytes")
    }
}
