import FuelModel
import Foundation

/// A record as the station's collector numbers it for the push API.
public struct NumberedRecord: Hashable, Sendable {
    public var seq: Int64
    public var record: Record
}

/// A station simulated minute by minute, realistic enough that naive rules fail:
/// - horizontal cylindrical tanks whose steel departs from the gauge's strapping chart by a few
///   tenths of a percent depending on the level; the gauge measures height (noise, 0.01 mm steps)
///   and temperature (probe bias, noise) and reports the chart's volume and its own 20 °C figure;
/// - fuel temperature relaxing towards the ground's (which cools through the autumn), stirred by
///   deliveries at the tanker's temperature, so gauge volume and 20 °C volume differ and drift;
/// - sales by nozzle with diurnal and weekly cycles, uneven nozzle popularity, lognormal fill sizes
///   (larger for diesel), realistic flow rates, one customer per nozzle at a time, meters within
///   ±0.25 % (JJG 443 allows ±0.3 %), totalizers;
/// - deliveries when a tank runs low, declared volumes within ~0.15 % of what arrives;
/// - optional vapour-recovery monitoring (A/L per gasoline fill, tank pressure), clock skew of the
///   POS and gauge clocks, and the scenario's injected faults (the ground truth).
/// Seeded and reproducible: the same scenario gives the same records.
public struct StationSimulator: Sendable {
    public let scenario: StationScenario
    private var rng: SeededRandom
    /// How fast an undeclared load goes in (a minute of the simulation at a time).
    public static let undeclaredLitresPerMinute = 100.0

    public init(_ scenario: StationScenario) {
        self.scenario = scenario
        self.rng = SeededRandom(seed: scenario.seed)
    }

    struct TankState {
        var tank: Tank
        var geometry: TankGeometry
        /// True stock at 20 °C.
        var tcL: Double
        var fuelC: Double
        var densityKgM3: Double
        var probeBiasC: Double
        var heightMM: Double
        var waterMM: Double
        var deliveryRemainingL = 0.0
        var deliveryRatePerMin = 0.0
        var deliveryStart: Timestamp?
        var declaredL = 0.0
        var deliveryC = 10.0
        var undeclaredRemainingL = 0.0
        /// Fills in progress: [litres still to leave at 20 °C, litres a minute].
        var draws: [[Double]] = []
        /// The daily swing of a shallow tank's fuel temperature, on top of `fuelC` (gauge profile).
        var swingC = 0.0

        var vcf: Double { VolumeCorrection.factor(temperatureC: fuelC + swingC, grade: tank.grade, densityKgM3: densityKgM3) }
        var grossL: Double { tcL / vcf }
    }

    /// Records in the order the collector pushes them (data time), with the reported timestamps.
    public mutating func records() -> [Record] { numbered().map(\.record) }

    /// Records with the seq the station's collector gives them (`seqGap` faults leave holes).
    public mutating func numbered() -> [NumberedRecord] {
        let s = scenario.station
        let clock = LocalClock(timezone: s.timezone)
        let startLocalMinute = clock.minuteOfDay(scenario.start)
        let startLocalDay = (Int(scenario.start.secondsSinceEpoch) + clock.offsetSeconds(at: scenario.start)) / 86_400
        let groundStartC = 11.0 + rng.normal(sd: 0.5)
        var tanks: [TankState] = s.tanks.map { t in
            let level = scenario.initialLevels[t.id] ?? (0.55 + 0.25 * rng.uniform())
            var capacity = t.capacityL
            for case .overCapacity(let tank, let percent, _) in scenario.faults where tank == t.id {
                capacity = t.capacityL * (percent / 100 + 0.04)
            }
            let geometry = TankGeometry(capacityL: capacity, bow: rng.normal(sd: 0.0008), tilt: rng.normal(sd: 0.0008))
            let diesel = VolumeCorrection.isDiesel(t.grade)
            var state = TankState(
                tank: t, geometry: geometry, tcL: t.capacityL * level, fuelC: groundStartC + rng.normal(sd: 1),
                densityKgM3: diesel ? 825 + 20 * rng.uniform() : 725 + 30 * rng.uniform(), probeBiasC: rng.normal(sd: 0.05),
                heightMM: 0, waterMM: 1 + 4 * rng.uniform())
            state.heightMM = geometry.height(trueVolumeL: state.grossL)
            return state
        }
        var meterError: [String: Double] = [:]
        var popularity: [String: Double] = [:]
        var alOffset: [String: Double] = [:]
        var totalizer: [String: Double] = [:]
        for n in s.nozzles {
            meterError[n.id] = (rng.uniform() * 2 - 1) * 0.0025
            popularity[n.id] = 0.5 + rng.uniform()
            alOffset[n.id] = max(-0.04, min(0.04, rng.normal(sd: 0.02)))  // a healthy nozzle stays well inside the range
            totalizer[n.id] = 100_000 + rng.uniform() * 50_000
        }
        // Rarely used nozzles get their few fills a day of the station's total (no draw of their own,
        // so the ordinary usage reproduces earlier runs).
        let usage = scenario.usage
        let rareIDs = s.nozzles.indices.filter { usage.isRare(nozzleIndex: $0, of: s.nozzles.count) }.map { s.nozzles[$0].id }
        if !rareIDs.isEmpty {
            let busyTotal = s.nozzles.filter { !rareIDs.contains($0.id) }.reduce(0) { $0 + (popularity[$1.id] ?? 1) }
            // p / (busy + rare · p) of the station's fills is `rareFillsPerDay`.
            let p = busyTotal * usage.rareFillsPerDay / max(1, usage.fillsPerDay - usage.rareFillsPerDay * Double(rareIDs.count))
            for id in rareIDs { popularity[id] = p }
        }
        let popularityTotal = popularity.values.reduce(0, +)
        let diurnalScale = usage.diurnalScale
        let posSkew = (rng.uniform() * 2 - 1) * scenario.maxClockSkewSeconds
        let gaugeSkew = (rng.uniform() * 2 - 1) * scenario.maxClockSkewSeconds
        var resetDone: Set<String> = []
        // A nozzle serves one customer at a time; its fills follow each other on its totalizer.
        var busyUntil: [String: Timestamp] = [:]
        var out: [(Timestamp, Int, Record)] = []
        var order = 0
        func emit(_ t: Timestamp, _ r: Record) {
            out.append((t, order, r))
            order += 1
        }
        let minutes = Int(scenario.days * 1440)
        let readingEvery = max(1, Int(scenario.readingIntervalSeconds / 60))
        // What the gauge profile adds to the fine gauge draws from a stream of its own, so the default
        // profile reproduces earlier runs draw for draw.
        let gauge = scenario.gauge
        var gaugeRng = SeededRandom(seed: scenario.seed ^ 0x9E37_79B9_7F4A_7C15)
        if let maxBias = gauge.probeBiasMaxC {
            for i in tanks.indices { tanks[i].probeBiasC = (gaugeRng.uniform() * 2 - 1) * maxBias }
        }
        let stepInverse = 1 / gauge.heightStepMM
        var outages = scenario.collectorOutages[...]
        var deliveryNo = 0
        var forcedDeliveries: [(tank: String, percent: Double, at: Timestamp)] = []
        for f in scenario.faults {
            switch f {
            case .overfill(let tank, let percent, let at), .overCapacity(let tank, let percent, let at):
                forcedDeliveries.append((tank, percent, at.floorToMinute))
            default: break
            }
        }

        for m in 0..<minutes {
            let now = scenario.start.adding(seconds: Double(m * 60))
            let minuteOfDay = (startLocalMinute + m) % 1440
            let dayIndex = (startLocalMinute + m) / 1440
            let weekday = (startLocalDay + dayIndex + 3) % 7  // 0 = Monday (1970-01-01 was a Thursday)
            let hour = Double(minuteOfDay) / 60
            let airC = 4 + 6 * sin((hour - 9) / 24 * 2 * .pi)
            let groundC = groundStartC - 0.08 * (Double(m) / 1440)
            let open = s.hours.isOpen(minuteOfDay: minuteOfDay)

            if gauge.dailySwingC > 0 {
                // A shallow tank follows the day: warmest mid-afternoon.
                let swing = gauge.dailySwingC * sin((hour - 9) / 24 * 2 * .pi)
                for i in tanks.indices { tanks[i].swingC = swing }
            }
            for i in tanks.indices {
                // Underground fuel relaxes towards the ground's temperature over days.
                tanks[i].fuelC += (groundC - tanks[i].fuelC) / (4 * 1440)
                let id = tanks[i].tank.id
                // Fills in progress draw fuel as they flow.
                for k in tanks[i].draws.indices {
                    let step = min(tanks[i].draws[k][0], tanks[i].draws[k][1])
                    tanks[i].tcL -= step
                    tanks[i].draws[k][0] -= step
                }
                tanks[i].draws.removeAll { $0[0] <= 1e-9 }
                for f in scenario.faults {
                    switch f {
                    case .leak(let tank, let rate, let from) where tank == id && now >= from:
                        tanks[i].tcL -= rate / 60
                    case .waterIngress(let tank, let rate, let from) where tank == id && now >= from:
                        tanks[i].waterMM += rate / 60
                    case .undeclaredDelivery(let tank, let litres, let at) where tank == id && now == at.floorToMinute:
                        tanks[i].undeclaredRemainingL = litres
                    case .phantomDelivery(let tank, let litres, let at) where tank == id && now == at.floorToMinute:
                        deliveryNo += 1
                        emit(now.adding(seconds: 1800), .delivery(Delivery(
                            tank: tank, supplier: "SUP-001", batch: "LH-\(s.id)-\(deliveryNo)", billNo: "BL-\(s.id)-\(deliveryNo)",
                            grade: tanks[i].tank.grade, declaredVolumeL: litres, vehicle: "辽A\(10000 + deliveryNo)",
                            startedAt: now.adding(seconds: posSkew), endedAt: now.adding(seconds: 1800 + posSkew))))
                    default: break
                    }
                }
                if tanks[i].undeclaredRemainingL > 0 {
                    let step = min(tanks[i].undeclaredRemainingL, Self.undeclaredLitresPerMinute)
                    mix(&tanks[i], addTCL: step, atC: airC)
                    tanks[i].undeclaredRemainingL -= step
                }
                if tanks[i].deliveryRemainingL > 0 {
                    let step = min(tanks[i].deliveryRemainingL, tanks[i].deliveryRatePerMin)
                    mix(&tanks[i], addTCL: step, atC: tanks[i].deliveryC)
                    tanks[i].deliveryRemainingL -= step
                    if tanks[i].deliveryRemainingL <= 0, let started = tanks[i].deliveryStart {
                        deliveryNo += 1
                        emit(now, .delivery(Delivery(
                            tank: id, supplier: "SUP-00\(1 + deliveryNo % 2)",
                            batch: "LH-\(s.id)-\(deliveryNo)", billNo: "BL-\(s.id)-\(deliveryNo)", grade: tanks[i].tank.grade,
                            declaredVolumeL: tanks[i].declaredL, densityKgM3: (tanks[i].densityKgM3 * 10).rounded() / 10,
                            vehicle: "辽A\(10000 + deliveryNo)", startedAt: started.adding(seconds: posSkew), endedAt: now.adding(seconds: posSkew))))
                        tanks[i].deliveryStart = nil
                    }
                } else if let forced = forcedDeliveries.firstIndex(where: { $0.tank == id && $0.at <= now }) {
                    // The percentage is of the volume the gauge sees (at the fuel's temperature).
                    let target = tanks[i].tank.capacityL * forcedDeliveries[forced].percent / 100 * tanks[i].vcf
                    forcedDeliveries.remove(at: forced)
                    startDelivery(&tanks[i], declared: ((target - tanks[i].tcL) / 100).rounded(.down) * 100, now: now, airC: airC, minimum: 100)
                } else if tanks[i].tcL < tanks[i].tank.capacityL * 0.3, (6 * 60..<22 * 60).contains(minuteOfDay) {
                    startDelivery(&tanks[i], declared: ((tanks[i].tank.capacityL * 0.9 - tanks[i].tcL) / 1000).rounded(.down) * 1000,
                                  now: now, airC: airC)
                }
            }

            // Sales.
            var selling = s.status == .active && open
            for case .afterHoursSales(let from, let until) in scenario.faults where !open && now >= from && now < until { selling = true }
            if selling, !s.nozzles.isEmpty {
                let diurnal = usage.diurnalShape(hour: hour)
                let weekly = [0.95, 0.95, 0.97, 1.0, 1.1, 1.08, 0.95][weekday]
                let lambda = scenario.fillsPerDay / 1440 * diurnal * weekly * diurnalScale
                for _ in 0..<rng.poisson(lambda) {
                    var pick = rng.uniform() * popularityTotal
                    var first = 0
                    for (k, n) in s.nozzles.enumerated() {
                        pick -= popularity[n.id] ?? 1
                        if pick <= 0 { first = k; break }
                    }
                    // A customer finding the nozzle taken moves on to the next free one, but not to a
                    // rarely used one (a truck lane, a grade they do not want).
                    let free = (0..<s.nozzles.count).map { s.nozzles[(first + $0) % s.nozzles.count] }
                        .first { n in (busyUntil[n.id] ?? now) <= now && (n.id == s.nozzles[first].id || !rareIDs.contains(n.id)) }
                    guard let nozzle = free else { continue }  // every nozzle busy: the customer drives on
                    guard let ti = tanks.firstIndex(where: { $0.tank.id == nozzle.tank }) else { continue }
                    let grade = tanks[ti].tank.grade
                    let diesel = VolumeCorrection.isDiesel(grade)
                    let asked = diesel ? min(200, max(5, exp(rng.normal(mean: log(50), sd: 0.6))))
                        : min(120, max(3, exp(rng.normal(mean: log(30), sd: 0.45))))
                    var error = meterError[nozzle.id] ?? 0
                    for case .nozzleShortFill(let n, let percent, let from) in scenario.faults where n == nozzle.id && now >= from {
                        error += percent / 100
                    }
                    // The customer buys by the meter; what leaves the tank is the meter's figure over its error.
                    let metered = (asked * 100).rounded() / 100
                    let gross = metered / (1 + error)
                    let tcVolume = gross * tanks[ti].vcf
                    guard tanks[ti].tcL > tcVolume + 300 else { continue }
                    let flow = min(nozzle.maxFlowLPM * 0.9, (diesel ? 30 : 22) + rng.uniform() * 18)
                    tanks[ti].draws.append([tcVolume, tcVolume / max(1, metered / flow)])
                    let started = now.adding(seconds: rng.uniform() * 50)
                    let ended = started.adding(seconds: (metered / flow * 60).rounded())
                    busyUntil[nozzle.id] = ended.adding(seconds: 30)
                    var price = scenario.prices[grade] ?? 7.5
                    for case .priceAboveCeiling(let g, let p, let from, let until) in scenario.faults
                    where g == grade && ended >= from && ended < until {
                        price = p
                    }
                    for case .totalizerReset(let n, let at) in scenario.faults where n == nozzle.id && now >= at && !resetDone.contains(n) {
                        resetDone.insert(n)
                        totalizer[n] = 0
                    }
                    let before = totalizer[nozzle.id] ?? 0
                    totalizer[nozzle.id] = before + metered
                    emit(ended, .sale(Sale(
                        nozzle: nozzle.id, grade: grade, volumeL: metered, unitPrice: price,
                        amount: (metered * price * 100).rounded() / 100, startedAt: started.adding(seconds: posSkew),
                        endedAt: ended.adding(seconds: posSkew),
                        totalizerStartL: (before * 100).rounded() / 100, totalizerEndL: ((before + metered) * 100).rounded() / 100)))
                    if scenario.vapourMonitoring, !diesel {
                        var al = 1.09 + (alOffset[nozzle.id] ?? 0) + rng.normal(sd: 0.05)
                        for f in scenario.faults {
                            switch f {
                            case .vapourRecoveryFailure(let n, let ratio, let from) where n == nozzle.id && now >= from:
                                al = ratio + rng.normal(sd: 0.06)
                            case .falsifiedVapour(let n, let from) where n == nozzle.id && now >= from:
                                al = 1.10 + rng.normal(sd: 0.0015)
                            default: break
                            }
                        }
                        emit(ended.adding(seconds: 1), .vapourReading(VapourReading(
                            nozzle: nozzle.id, at: ended.adding(seconds: 1 + posSkew), alRatio: (max(0, al) * 1000).rounded() / 1000)))
                    }
                }
            }

            // Gauge readings (unless the gauge is down).
            var gaugeUp = true
            for case .gaugeOffline(let from, let length) in scenario.faults where now >= from && now < from.adding(seconds: length * 60) {
                gaugeUp = false
            }
            // The collector's outages (gauge profile): stretches without any reading.
            while let o = outages.first, o.to <= now { outages.removeFirst() }
            let collectorUp = outages.first.map { now < $0.from } ?? true
            if m % readingEvery == 0, gaugeUp, collectorUp {
                let at = now.adding(seconds: 30)
                for i in tanks.indices {
                    let t = tanks[i]
                    let grade = t.tank.grade
                    let h = t.geometry.height(trueVolumeL: t.grossL, near: t.heightMM)
                    tanks[i].heightMM = h
                    if gauge.missingShare > 0, gaugeRng.uniform() < gauge.missingShare { continue }
                    var sensedH = h + rng.normal(sd: gauge.heightNoiseMM)
                    if gauge.spikeShare > 0, gaugeRng.uniform() < gauge.spikeShare {
                        // A glitch: one reading off by centimetres, the next one back.
                        let size = gauge.spikeMM.lowerBound + gaugeRng.uniform() * (gauge.spikeMM.upperBound - gauge.spikeMM.lowerBound)
                        sensedH = max(0, sensedH + (gaugeRng.uniform() < 0.5 ? -size : size))
                    }
                    let measuredH = (sensedH * stepInverse).rounded() / stepInverse
                    let gross = t.geometry.nominalVolume(heightMM: measuredH)
                    let measuredC = ((t.fuelC + t.swingC + t.probeBiasC + rng.normal(sd: 0.01)) * 100).rounded() / 100
                    let tc = VolumeCorrection.to20C(volumeL: gross, temperatureC: measuredC, grade: grade)
                    emit(at, .tankReading(TankReading(
                        tank: t.tank.id, at: at.adding(seconds: gaugeSkew), volumeL: (gross * 10).rounded() / 10,
                        tcVolumeL: (tc * 10).rounded() / 10, heightMM: (measuredH * stepInverse).rounded() / stepInverse,
                        ullageL: ((t.geometry.capacityL - gross) * 10).rounded() / 10,
                        waterMM: (t.waterMM * 10).rounded() / 10, temperatureC: measuredC, status: 0)))
                }
            }
            if scenario.vapourMonitoring, m % 30 == 0 {
                for t in tanks where !VolumeCorrection.isDiesel(t.tank.grade) {
                    var pressure = -150 + 120 * sin((hour - 14) / 24 * 2 * .pi) + rng.normal(sd: 150)
                    for case .vapourRecoveryFailure(let n, _, let from) in scenario.faults
                    where now >= from && s.nozzle(n)?.tank == t.tank.id {
                        pressure += 700
                    }
                    emit(now.adding(seconds: 45), .vapourReading(VapourReading(
                        tank: t.tank.id, at: now.adding(seconds: 45 + gaugeSkew), pressurePa: pressure.rounded())))
                }
            }
        }
        out.sort { ($0.0, $0.1) < ($1.0, $1.1) }

        // Number as the collector does; a lost stretch leaves a hole in the seq.
        var gaps = scenario.faults.compactMap { f -> (Timestamp, Int)? in
            if case .seqGap(let at, let count) = f { return (at, count) }
            return nil
        }.sorted { $0.0 < $1.0 }
        var seq: Int64 = 0
        var result: [NumberedRecord] = []
        result.reserveCapacity(out.count)
        for (t, _, r) in out {
            while let g = gaps.first, g.0 <= t {
                seq += Int64(g.1)
                gaps.removeFirst()
            }
            seq += 1
            result.append(NumberedRecord(seq: seq, record: r))
        }
        return result
    }

    private mutating func startDelivery(_ t: inout TankState, declared: Double, now: Timestamp, airC: Double, minimum: Double = 1000) {
        guard declared >= minimum else { return }
        t.declaredL = declared
        var fraction = 1.0
        for case .shortDelivery(let tank, let fr, let from) in scenario.faults where tank == t.tank.id && now >= from { fraction = fr }
        t.deliveryRemainingL = declared * fraction * (1 + rng.normal(sd: scenario.gauge.declaredErrorSD))
        t.deliveryRatePerMin = 700
        t.deliveryStart = now
        t.deliveryC = airC + rng.normal(sd: 1.5)
    }

    /// Adds fuel at 20 °C volume `addTCL` arriving at `atC`; the tank mixes to the volume-weighted temperature.
    private func mix(_ t: inout TankState, addTCL: Double, atC: Double) {
        let total = t.tcL + addTCL
        t.fuelC = (t.fuelC * t.tcL + atC * addTCL) / total
        t.tcL = total
    }
}

extension Timestamp {
    var floorToMinute: Timestamp { Timestamp(microseconds: microseconds - microseconds % 60_000_000) }
}
