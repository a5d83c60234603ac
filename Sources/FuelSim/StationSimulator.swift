import FuelModel
import Foundation

/// A station simulated minute by minute: tanks whose true stock is tracked at 20 °C, fuel
/// temperature following a daily cycle (so gauge volume and 20 °C volume differ), sales with a
/// diurnal pattern inside opening hours, meters within their error, gauge noise, deliveries when a
/// tank runs low with declared volumes slightly off the truth, and the scenario's faults.
public struct StationSimulator: Sendable {
    public let scenario: StationScenario
    private var rng: SeededRandom

    public init(_ scenario: StationScenario) {
        self.scenario = scenario
        self.rng = SeededRandom(seed: scenario.seed)
    }

    struct TankState {
        var tank: Tank
        var tcL: Double
        var deliveryRemainingL = 0.0
        var deliveryRatePerMin = 0.0
        var deliveryStart: Timestamp?
        var declaredL = 0.0
        var undeclaredRemainingL = 0.0
    }

    /// Records in data-time order (the order a station's collector pushes them).
    public mutating func records() -> [Record] {
        let s = scenario.station
        let clock = LocalClock(timezone: s.timezone)
        var tanks = s.tanks.map { t in
            let random = 0.55 + 0.25 * rng.uniform()
            return TankState(tank: t, tcL: t.capacityL * (scenario.initialLevels[t.id] ?? random))
        }
        let meterError = Dictionary(uniqueKeysWithValues: s.nozzles.map { ($0.id, rng.normal(sd: 0.0008)) })
        var totalizer = Dictionary(uniqueKeysWithValues: s.nozzles.map { ($0.id, 100_000 + rng.uniform() * 50_000) })
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
        var deliveryNo = 0
        for m in 0..<minutes {
            let now = scenario.start.adding(seconds: Double(m * 60))
            let minuteOfDay = clock.minuteOfDay(now)
            let hour = Double(minuteOfDay) / 60
            let temp = 14 + 3 * sin((hour - 9) / 24 * 2 * .pi)

            // Faults and deliveries move fuel.
            for i in tanks.indices {
                for f in scenario.faults {
                    switch f {
                    case .leak(let tank, let rate, let from) where tank == tanks[i].tank.id && now >= from:
                        tanks[i].tcL -= rate / 60
                    case .undeclaredDelivery(let tank, let litres, let at) where tank == tanks[i].tank.id && now == at.floorToMinute:
                        tanks[i].undeclaredRemainingL = litres
                    case .phantomDelivery(let tank, let litres, let at) where tank == tanks[i].tank.id && now == at.floorToMinute:
                        deliveryNo += 1
                        emit(now.adding(seconds: 1800), .delivery(Delivery(
                            tank: tank, supplier: "SUP-001", batch: "LH-\(s.id)-\(deliveryNo)", billNo: "BL-\(s.id)-\(deliveryNo)",
                            grade: tanks[i].tank.grade, declaredVolumeL: litres, vehicle: "辽A\(10000 + deliveryNo)",
                            startedAt: now, endedAt: now.adding(seconds: 1800))))
                    default: break
                    }
                }
                if tanks[i].undeclaredRemainingL > 0 {
                    let step = min(tanks[i].undeclaredRemainingL, 100)
                    tanks[i].tcL += step
                    tanks[i].undeclaredRemainingL -= step
                }
                if tanks[i].deliveryRemainingL > 0 {
                    let step = min(tanks[i].deliveryRemainingL, tanks[i].deliveryRatePerMin)
                    tanks[i].tcL += step
                    tanks[i].deliveryRemainingL -= step
                    if tanks[i].deliveryRemainingL <= 0, let started = tanks[i].deliveryStart {
                        deliveryNo += 1
                        emit(now, .delivery(Delivery(
                            tank: tanks[i].tank.id, supplier: "SUP-00\(1 + deliveryNo % 2)",
                            batch: "LH-\(s.id)-\(deliveryNo)", billNo: "BL-\(s.id)-\(deliveryNo)", grade: tanks[i].tank.grade,
                            declaredVolumeL: tanks[i].declaredL, densityKgM3: VolumeCorrection.typicalDensity(grade: tanks[i].tank.grade),
                            vehicle: "辽A\(10000 + deliveryNo)", startedAt: started, endedAt: now)))
                        tanks[i].deliveryStart = nil
                    }
                } else if tanks[i].tcL < tanks[i].tank.capacityL * 0.3, s.hours.isOpen(minuteOfDay: minuteOfDay) {
                    let declared = ((tanks[i].tank.capacityL * 0.9 - tanks[i].tcL) / 1000).rounded(.down) * 1000
                    if declared >= 1000 {
                        tanks[i].declaredL = declared
                        var fraction = 1.0
                        for f in scenario.faults {
                            if case .shortDelivery(let tank, let fr, let from) = f, tank == tanks[i].tank.id, now >= from { fraction = fr }
                        }
                        tanks[i].deliveryRemainingL = declared * fraction * (1 + rng.normal(sd: 0.001))
                        tanks[i].deliveryRatePerMin = 700
                        tanks[i].deliveryStart = now
                    }
                }
            }

            // Sales.
            if s.status == .active, s.hours.isOpen(minuteOfDay: minuteOfDay), !s.nozzles.isEmpty {
                let diurnal = 0.35 + 0.65 * max(0, sin((hour - 5) / 17 * .pi))
                let lambda = scenario.fillsPerDay / 1440 * diurnal * 1.6
                for _ in 0..<rng.poisson(lambda) {
                    let first = Int(rng.uniform() * Double(s.nozzles.count)) % s.nozzles.count
                    let free = (0..<s.nozzles.count).map { s.nozzles[(first + $0) % s.nozzles.count] }
                        .first { (busyUntil[$0.id] ?? now) <= now }
                    guard let nozzle = free else { continue }  // every nozzle busy: the customer drives on
                    guard let ti = tanks.firstIndex(where: { $0.tank.id == nozzle.tank }) else { continue }
                    let grade = tanks[ti].tank.grade
                    let tcVolume = min(120, max(5, exp(rng.normal(mean: log(32), sd: 0.45))))
                    guard tanks[ti].tcL > tcVolume + 200 else { continue }
                    tanks[ti].tcL -= tcVolume
                    let gross = tcVolume / VolumeCorrection.factor(temperatureC: temp, grade: grade)
                    let metered = ((gross * (1 + (meterError[nozzle.id] ?? 0))) * 100).rounded() / 100
                    let flow = min(nozzle.maxFlowLPM * 0.9, 25 + rng.uniform() * 15)
                    let started = now.adding(seconds: rng.uniform() * 20)
                    let ended = started.adding(seconds: (metered / flow * 60).rounded())
                    busyUntil[nozzle.id] = ended.adding(seconds: 30)
                    var price = scenario.prices[grade] ?? 7.5
                    for f in scenario.faults {
                        if case .priceAboveCeiling(let g, let p, let from, let until) = f, g == grade, ended >= from, ended < until { price = p }
                    }
                    let before = totalizer[nozzle.id] ?? 0
                    totalizer[nozzle.id] = before + metered
                    emit(ended, .sale(Sale(
                        nozzle: nozzle.id, grade: grade, volumeL: metered, unitPrice: price,
                        amount: (metered * price * 100).rounded() / 100, startedAt: started, endedAt: ended,
                        totalizerStartL: (before * 100).rounded() / 100, totalizerEndL: ((before + metered) * 100).rounded() / 100)))
                }
            }

            // Gauge readings.
            if m % readingEvery == 0 {
                for t in tanks {
                    let grade = t.tank.grade
                    let gross = t.tcL / VolumeCorrection.factor(temperatureC: temp, grade: grade)
                    let noisyGross = gross + rng.normal(sd: 0.8)
                    let tc = (VolumeCorrection.to20C(volumeL: noisyGross, temperatureC: temp, grade: grade) * 10).rounded() / 10
                    emit(now.adding(seconds: 30), .tankReading(TankReading(
                        tank: t.tank.id, at: now.adding(seconds: 30), volumeL: (noisyGross * 10).rounded() / 10, tcVolumeL: tc,
                        heightMM: ((noisyGross / t.tank.capacityL) * 2500 * 10).rounded() / 10,
                        ullageL: ((t.tank.capacityL - noisyGross) * 10).rounded() / 10,
                        waterMM: 2.0, temperatureC: (temp * 10).rounded() / 10, status: 0)))
                }
            }
        }
        out.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        return out.map(\.2)
    }
}

extension Timestamp {
    var floorToMinute: Timestamp { Timestamp(microseconds: microseconds - microseconds % 60_000_000) }
}
