import Foundation
import FuelModel
import FuelWire
import Testing

@testable import FuelDetect
@testable import FuelSim

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

/// Issue 13's cost target: a station's detector state stays within 32 KB (four tanks, a reading a
/// minute, sixteen days of sales, deliveries and vapour readings: every window of the tank balance full).
@Suite struct DetectorStateSizeTests {
    @Test func aBusyStationsStateStaysSmall() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let station = registry.stations[0]
        let profile = try #require(StationProfile(stationID: station.id, registry: registry))
        var s = StationScenario(station: station, seed: 9, start: GaugeQualityTests.t0, days: 16, prices: DemoRegistry.prices)
        s.readingIntervalSeconds = 60
        s.vapourMonitoring = true
        var sim = StationSimulator(s)
        var detector = StationDetector(station: station.id)
        for (i, r) in sim.records().enumerated() {
            _ = detector.observe(LedgerEntry(station: station.id, chainSeq: Int64(i + 1), source: .push, sourceSeq: Int64(i + 1), record: r),
                                 profile: profile, thresholds: DetectionThresholds())
        }
        let bytes = try JSONEncoder().encode(detector).count
        #expect(bytes <= 32 * 1024, "the detector state is \(bytes) bytes")
    }
}
