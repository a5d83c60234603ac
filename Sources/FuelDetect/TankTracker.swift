import FuelModel

/// A gauge reading reduced to what the rules compare: volume at 20 °C and where it sits in the ledger.
public struct GaugePoint: Hashable, Sendable, Codable {
    public var at: Timestamp
    /// Volume at 20 °C (the gauge's own figure, or corrected from its temperature).
    public var tcVolumeL: Double
    public var temperatureC: Double?
    public var chainSeq: Int64
}

/// Consecutive readings of one tank and the sales (at 20 °C) metered between them.
public struct GaugeStep: Hashable, Sendable {
    public var tank: String
    public var previous: GaugePoint?
    public var current: GaugePoint
    /// Sales from this tank's nozzles recorded since `previous`, corrected to 20 °C.
    public var salesTCL: Double

    /// The gauge's own change between the readings.
    public var gaugeChangeL: Double {
        guard let p = previous else { return 0 }
        return current.tcVolumeL - p.tcVolumeL
    }

    /// Fuel that entered the tank between the readings (negative when it lost more than it sold).
    public var netInflowL: Double {
        guard let p = previous else { return 0 }
        return current.tcVolumeL - p.tcVolumeL + salesTCL
    }
}

/// Fuel that moved over an interval (a sale's metered litres at 20 °C, a delivery's declared ones),
/// assumed to flow evenly, so a record that straddles a reading is split between the two sides.
public struct TimedVolume: Hashable, Sendable, Codable {
    public var from: Timestamp
    public var to: Timestamp
    public var litres: Double

    /// The share of the litres that moved within `start…end`.
    public func litres(from start: Timestamp, to end: Timestamp) -> Double {
        let duration = from.seconds(to: to)
        guard duration > 0 else { return to > start && to <= end ? litres : 0 }
        let overlap = max(0, min(to, end).microseconds - max(from, start).microseconds)
        return litres * Double(overlap) / 1e6 / duration
    }
}

/// Follows each tank's gauge and attributes sales to tanks through the nozzle map.
struct TankTracker: Hashable, Sendable, Codable {
    var last: [String: GaugePoint] = [:]
    var salesSince: [String: Double] = [:]
    /// What each tank's readings say about its gauge.
    var quality: [String: GaugeQuality] = [:]

    init() {}

    /// States saved before gauge quality was kept decode with none yet (it is learnt again).
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        last = try c.decode([String: GaugePoint].self, forKey: .last)
        salesSince = try c.decode([String: Double].self, forKey: .salesSince)
        quality = try c.decodeIfPresent([String: GaugeQuality].self, forKey: .quality) ?? [:]
    }

    /// Counts a sale against its tank at 20 °C (the tank's last temperature); answers the tank and litres.
    mutating func sale(_ s: Sale, profile: StationProfile) -> (tank: String, tcL: Double)? {
        guard let tank = profile.tankOf(nozzle: s.nozzle) else { return nil }
        let temp = last[tank.id]?.temperatureC ?? 20
        let tc = VolumeCorrection.to20C(volumeL: s.volumeL, temperatureC: temp, grade: tank.grade)
        salesSince[tank.id, default: 0] += tc
        quality[tank.id, default: GaugeQuality()].sale()
        return (tank.id, tc)
    }

    mutating func reading(_ r: TankReading, chainSeq: Int64, profile: StationProfile) -> GaugeStep {
        let grade = profile.station.tank(r.tank)?.grade ?? ""
        let tc = r.tcVolumeL ?? r.temperatureC.map { VolumeCorrection.to20C(volumeL: r.volumeL, temperatureC: $0, grade: grade) } ?? r.volumeL
        let point = GaugePoint(at: r.at, tcVolumeL: tc, temperatureC: r.temperatureC, chainSeq: chainSeq)
        let step = GaugeStep(tank: r.tank, previous: last[r.tank], current: point, salesTCL: salesSince[r.tank] ?? 0)
        last[r.tank] = point
        salesSince[r.tank] = 0
        quality[r.tank, default: GaugeQuality()].reading(heightMM: r.heightMM, at: r.at)
        return step
    }
}
