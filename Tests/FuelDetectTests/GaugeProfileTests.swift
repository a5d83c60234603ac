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

    /// Fills per nozzle and how many fall at night (00:00–05:00 local), over `days`.
    static func fills(_ usage: StationUsage, days: Double) throws -> (perNozzle: [String: Int], night: Int, total: Int) {
        var s = try scenario(GaugeProfile.fine, days: days)
        s.usage = usage
        s.readingIntervalSeconds = 900
        var sim = StationSimulator(s)
        let clock = LocalClock(timezone: s.station.timezone)
        var perNozzle: [String: Int] = [:]
        var night = 0, total = 0
        for case .sale(let sale) in sim.records() {
            perNozzle[sale.nozzle, default: 0] += 1
            total += 1
            if clock.minuteOfDay(sale.endedAt) < 5 * 60 { night += 1 }
        }
        return (perNozzle, night, total)
    }

    /// The usages make the trade they promise: the ordinary one unchanged, a busy 24-hour station's
    /// 700 fills a day with busy nights, rarely used nozzles' few fills a day.
    @Test func stationUsagesMakeTheirTrade() throws {
        #expect(StationUsage.ordinary.diurnalScale == 1.6)  // the scale FuelSim always had: ordinary runs unchanged
        let days = 7.0
        let ordinary = try Self.fills(.ordinary, days: days)
        let busy = try Self.fills(.busyAllDay, days: days)
        let rare = try Self.fills(.rareNozzles, days: days)
        // Every nozzle busy is taken up by customers driving on, so a busy station sells a little under its mean.
        #expect(Double(busy.total) / days > 600 && Double(busy.total) / days < 760)
        #expect(Double(ordinary.total) / days > 170 && Double(ordinary.total) / days < 230)
        // Nights: 5 of 24 hours at 80 % of the peak against 35 %.
        #expect(Double(busy.night) / Double(busy.total) > 0.15)
        #expect(Double(ordinary.night) / Double(ordinary.total) < 0.14)
        let station = try Self.scenario(GaugeProfile.fine).station
        let rareIDs = station.nozzles.indices.filter { StationUsage.rareNozzles.isRare(nozzleIndex: $0, of: station.nozzles.count) }
            .map { station.nozzles[$0].id }
        #expect(rareIDs == ["N7", "N8"])
        for id in rareIDs {
            let perDay = Double(rare.perNozzle[id] ?? 0) / days
            #expect(perDay > 1 && perDay < 6, "\(id): \(perDay) fills a day")
        }
        for n in station.nozzles where !rareIDs.contains(n.id) { #expect(Double(rare.perNozzle[n.id] ?? 0) / days > 10) }
    }

    /// A profile's text: a matrix profile by name with `:key=value` overrides, any point of the envelope.
    @Test func aProfilesTextOverridesANamedProfile() throws {
        let p = try GaugeProfile.parse("mm-15m:noise=1:every=30m:spikes=0.001:spike=5-50:usage=busy:bias=0.5:ticket=0.003")
        #expect(p.name == "mm-15m:noise=1:every=30m:spikes=0.001:spike=5-50:usage=busy:bias=0.5:ticket=0.003")
        #expect(p.heightStepMM == 1 && p.heightNoiseMM == 1 && p.readingIntervalSeconds == 1800)
        #expect(p.spikeShare == 0.001 && p.spikeMM == 5...50 && p.usage == .busyAllDay)
        #expect(p.probeBiasMaxC == 0.5 && p.declaredErrorSD == 0.003)
        #expect(try GaugeProfile.parse("tenth-15m:every=90s").readingIntervalSeconds == 90)
        #expect(try GaugeProfile.parse("tenth-15m:every=2h").readingIntervalSeconds == 7200)
        // A bare name is the matrix's profile itself.
        #expect(try GaugeProfile.parse("mm-5m") == GaugeProfile.named("mm-5m"))
    }

    @Test func aProfilesTextWithAnErrorSaysWhich() {
        #expect(throws: GaugeProfile.SpecError.unknownProfile("mm-7m")) { try GaugeProfile.parse("mm-7m") }
        #expect(throws: GaugeProfile.SpecError.unknownKey("colour")) { try GaugeProfile.parse("mm-5m:colour=red") }
        #expect(throws: GaugeProfile.SpecError.self) { try GaugeProfile.parse("mm-5m:step=0") }
        #expect(throws: GaugeProfile.SpecError.self) { try GaugeProfile.parse("mm-5m:spikes=1.5") }
        #expect(throws: GaugeProfile.SpecError.self) { try GaugeProfile.parse("mm-5m:spike=50-5") }
        #expect(throws: GaugeProfile.SpecError.self) { try GaugeProfile.parse("mm-5m:every=-3m") }
        #expect(throws: GaugeProfile.SpecError.self) { try GaugeProfile.parse("mm-5m:noise") }
        #expect(throws: GaugeProfile.SpecError.self) { try GaugeProfile.parse("mm-5m:usage=weekend") }
    }
}
