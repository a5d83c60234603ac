import FuelModel
import FuelWire
import Testing

@testable import FuelSim

/// The simulator's gauge profiles make the readings they promise: the fine default unchanged,
/// coarse steps, one-reading spikes at their rate, the reading interval with its gaps.
@Suite struct GaugeProfileTests {
    static func scenario(_ gauge: GaugeProfile, days: Double = 3) throws -> StationScenario {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        var s = StationScenario(station: registry.stations[0], seed: 42, start: Timestamp(rfc3339: "2026-11-01T00:00:00+08:00")!,
                                days: days, prices: DemoRegistry.prices)
        s.gauge = gauge
        return s
    }

    static func readings(_ s: StationScenario) -> [String: [TankReading]] {
        var sim = StationSimulator(s)
        var out: [String: [TankReading]] = [:]
        for case .tankReading(let r) in sim.records() { out[r.tank, default: []].append(r) }
        return out
    }

    /// A profile that only renames the fine gauge reproduces the default run record for record.
    @Test func theFineProfileIsTheDefaultGauge() throws {
        var base = try Self.scenario(GaugeProfile.fine, days: 1)
        var renamed = GaugeProfile(name: "same as fine")
        renamed.readingIntervalSeconds = 60
        var sameSim = StationSimulator(try Self.scenario(renamed, days: 1))
        base.readingIntervalSeconds = 60
        var baseSim = StationSimulator(base)
        #expect(sameSim.records() == baseSim.records())
    }

    @Test func coarseGaugesStepInWholeMillimetres() throws {
        let mm = try #require(GaugeProfile.named("mm-15m"))
        let readings = Self.readings(try Self.scenario(mm)).values.flatMap { $0 }
        #expect(!readings.isEmpty)
        #expect(readings.allSatisfy { r in r.heightMM.map { $0 == $0.rounded() } ?? false })
        // Every 15 minutes: 3 days × 96 readings per tank (no gaps in this profile).
        let perTank = Self.readings(try Self.scenario(mm))
        #expect(perTank.values.allSatisfy { $0.count == 3 * 96 })
    }

    /// Spikes: single readings at least `spikeMM` off both neighbours, at about their share.
    @Test func spikesAreSingleReadingsAtTheirRate() throws {
        var p = GaugeProfile(name: "spiky")
        p.heightStepMM = 1; p.heightNoiseMM = 0.5; p.readingIntervalSeconds = 300; p.spikeShare = 0.01
        let perTank = Self.readings(try Self.scenario(p, days: 10))
        var spikes = 0, total = 0
        for series in perTank.values {
            let h = series.compactMap(\.heightMM)
            total += h.count
            for i in 1..<(h.count - 1) where abs(h[i] - h[i - 1]) >= 4.5 && abs(h[i] - h[i + 1]) >= 4.5
                && abs(h[i + 1] - h[i - 1]) < 3 { spikes += 1 }
        }
        let expected = Double(total) * p.spikeShare
        #expect(Double(spikes) > expected * 0.6 && Double(spikes) < expected * 1.4, "\(spikes) spikes in \(total) readings")
    }

    @Test func missingReadingsAndOutagesThinTheFeed() throws {
        var p = GaugeProfile(name: "gappy")
        p.readingIntervalSeconds = 600; p.missingShare = 0.2; p.outagesPerDay = 1; p.outageMinutes = 60...60
        let perTank = Self.readings(try Self.scenario(p, days: 10))
        let full = 10 * 144
        for (tank, series) in perTank {
            // About 80 % of the readings, less the outages (about 10 hours over 10 days).
            #expect(series.count < Int(Double(full) * 0.8) && series.count > Int(Double(full) * 0.65), "\(tank): \(series.count) of \(full)")
            let gaps = zip(series, series.dropFirst()).map { $0.at.seconds(to: $1.at) }
            #expect(gaps.contains { $0 >= 3600 }, "an outage leaves an hour without readings")
        }
    }
}
