import FuelModel

/// A gauge reading reduced to what the rules compare: volume at 20 °C and where it sits in the ledger.
public struct GaugePoint: Hashable, Sendable {
    public var at: Timestamp
    /// Volume at 20 °C (the gauge's own figure, or corrected from its temperature).
    public var tcVolumeL: Double
    public var temperatureC: Double?
    public var chainSeq: Int64
    /// The gauge's height (mm), when it reports one.
    public var heightMM: Double?
}

extension GaugePoint: Codable {
    private enum CodingKeys: String, CodingKey { case at, tcVolumeL, temperatureC, chainSeq, heightMM }

    /// Stored as a flat list — microseconds, litres, °C, chain seq, mm (nulls for what the gauge did
    /// not say) — because the detector keeps dozens of readings per tank; states saved with keys decode too.
    public init(from decoder: any Decoder) throws {
        if let flat = try? decoder.singleValueContainer().decode(FigureList.self).values {
            guard flat.count == 5, let at = flat[0], let tc = flat[1], let seq = flat[3], let micros = Int64(exactly: at),
                  let chainSeq = Int64(exactly: seq) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "gauge point: expected 5 figures"))
            }
            self.init(at: Timestamp(microseconds: micros), tcVolumeL: tc, temperatureC: flat[2], chainSeq: chainSeq, heightMM: flat[4])
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(at: try c.decode(Timestamp.self, forKey: .at), tcVolumeL: try c.decode(Double.self, forKey: .tcVolumeL),
                  temperatureC: try c.decodeIfPresent(Double.self, forKey: .temperatureC), chainSeq: try c.decode(Int64.self, forKey: .chainSeq),
                  heightMM: try c.decodeIfPresent(Double.self, forKey: .heightMM))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(FigureList(optional: [Double(at.microseconds), tcVolumeL, temperatureC, Double(chainSeq), heightMM]))
    }
}

/// Consecutive readings of one tank and the sales (at 20 °C) metered between them.
public struct GaugeStep: Hashable, Sendable {
    public var tank: String
    public var previous: GaugePoint?
    public var current: GaugePoint
    /// Sales from this tank's nozzles that flowed since `previous`, corrected to 20 °C.
    public var salesTCL: Double
    /// What sales recorded since the last step flowed *before* `previous` (a fill is recorded when it
    /// ends: a truck's five-minute fill spans several readings of a gauge read every minute). Those
    /// litres left the tank in steps already handed on; a rule that spans steps (a delivery's rise)
    /// takes the part inside its span, where counting them in this step would make fuel appear.
    public var earlierSales: [TimedVolume] = []

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

/// Follows each tank's gauge and attributes sales to tanks through the nozzle map, and keeps
/// glitches out: a reading whose height jumps from the last one by at least the glitch threshold
/// is held until the next reading shows whether it stays (a delivery, a big sale: it is passed on
/// then) or comes back (a glitch: it is dropped and counted in the tank's gauge quality). Other
/// readings pass at once, so a gauge without glitches is judged exactly as before. Three readings
/// cannot say *which* of the last two is the glitch — a delivery's last reading followed by a
/// reading spiking down looks like a spike up that came back — so the reading that came back is
/// held too, and the fourth says: back at the held level, the one that came back was the glitch.
struct TankTracker: Hashable, Sendable, Codable {
    var last: [String: GaugePoint] = [:]
    var salesSince: [String: Double] = [:]
    /// What each tank's readings say about its gauge.
    var quality: [String: GaugeQuality] = [:]
    /// A reading held to see whether it is a glitch, by tank, and the sales that came meanwhile.
    var held: [String: GaugePoint] = [:]
    var heldSales: [String: [TimedVolume]] = [:]
    /// The reading that came back after a held one (which of the two is the glitch, the next says).
    var returned: [String: GaugePoint] = [:]
    /// Per tank, the parts of sales recorded since its last reading that flowed before it (see
    /// ``GaugeStep/earlierSales``), handed on with the next step.
    var earlier: [String: [TimedVolume]] = [:]

    init() {}

    /// States saved before gauge quality and glitch holding were kept decode with none yet.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        last = try c.decode([String: GaugePoint].self, forKey: .last)
        salesSince = try c.decode([String: Double].self, forKey: .salesSince)
        quality = try c.decodeIfPresent([String: GaugeQuality].self, forKey: .quality) ?? [:]
        held = try c.decodeIfPresent([String: GaugePoint].self, forKey: .held) ?? [:]
        heldSales = try c.decodeIfPresent([String: [TimedVolume]].self, forKey: .heldSales) ?? [:]
        returned = try c.decodeIfPresent([String: GaugePoint].self, forKey: .returned) ?? [:]
        earlier = try c.decodeIfPresent([String: [TimedVolume]].self, forKey: .earlier) ?? [:]
    }

    /// Tanks whose held reading stands below their last reading handed on.
    var heldFalling: Set<String> {
        Set(held.compactMap { tank, h in last[tank].map { h.tcVolumeL < $0.tcVolumeL } == true ? tank : nil })
    }

    /// Counts a sale against its tank at 20 °C (the tank's last temperature); answers the tank and litres.
    mutating func sale(_ s: Sale, profile: StationProfile) -> (tank: String, tcL: Double)? {
        guard let tank = profile.tankOf(nozzle: s.nozzle) else { return nil }
        let temp = last[tank.id]?.temperatureC ?? 20
        let tc = StoredLitres.rounded(VolumeCorrection.to20C(volumeL: s.volumeL, temperatureC: temp, grade: tank.grade))
        var sale = TimedVolume(from: s.startedAt, to: s.endedAt, litres: tc)
        // The part that flowed before the last reading handed on belongs to steps already passed
        // (until 2026-12-07 it was counted in the next one: on a millimetre gauge read every minute
        // a truck's 200 L fill recorded at its end showed as 200 L arriving in a minute where the
        // gauge ticked up a step — a false undeclared delivery, 0.9 a station-month).
        if let passed = last[tank.id]?.at, sale.from < passed {
            let before = sale.to <= passed ? tc : StoredLitres.rounded(sale.litres(from: sale.from, to: passed))
            earlier[tank.id, default: []].append(TimedVolume(from: sale.from, to: min(sale.to, passed), litres: before))
            sale = TimedVolume(from: min(sale.to, passed), to: sale.to, litres: StoredLitres.rounded(tc - before))
        }
        if held[tank.id] != nil {
            // Split at the held reading's time when it is passed on.
            heldSales[tank.id, default: []].append(sale)
        } else {
            salesSince[tank.id] = StoredLitres.rounded(salesSince[tank.id, default: 0] + sale.litres)
        }
        quality[tank.id, default: GaugeQuality()].sale()
        return (tank.id, tc)
    }

    /// The steps this reading lets the rules see: none while a reading is held, one as a rule, two
    /// when a held reading is passed on with this one.
    mutating func reading(_ r: TankReading, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds) -> [GaugeStep] {
        let grade = profile.station.tank(r.tank)?.grade ?? ""
        let tc = r.tcVolumeL ?? r.temperatureC.map { VolumeCorrection.to20C(volumeL: r.volumeL, temperatureC: $0, grade: grade) } ?? r.volumeL
        let point = GaugePoint(at: r.at, tcVolumeL: tc, temperatureC: r.temperatureC, chainSeq: chainSeq, heightMM: r.heightMM)
        quality[r.tank, default: GaugeQuality()].reading(heightMM: r.heightMM, at: r.at)
        var steps: [GaugeStep] = []
        let threshold = glitchThreshold(r.tank, thresholds)
        if let n = returned.removeValue(forKey: r.tank), let h = held.removeValue(forKey: r.tank) {
            // Held `h`, then `n` came back from it: this reading says which was the glitch.
            let sales = heldSales.removeValue(forKey: r.tank) ?? []
            let (toH, toN, all) = (Self.litres(sales, upTo: h.at), Self.litres(sales, upTo: n.at), Self.litres(sales))
            quality[r.tank, default: GaugeQuality()].glitch()
            // Back at the held level: the reading that came back never happened; else the held one.
            let (kept, soldToKept) = Self.isGlitch(before: h, held: n, after: point, soldBefore: toN - toH, soldAfter: all - toN,
                                                   threshold: threshold, returnShare: thresholds.glitchReturnShare) ? (h, toH) : (n, toN)
            steps.append(pass(kept, tank: r.tank, sales: (salesSince[r.tank] ?? 0) + soldToKept))
            salesSince[r.tank] = StoredLitres.rounded(all - soldToKept)
        } else if let h = held[r.tank] {
            let sales = heldSales[r.tank] ?? []
            // Sales that came while the reading was held, split at its time (a fill may straddle it).
            let upTo = Self.litres(sales, upTo: h.at)
            let after = Self.litres(sales) - upTo
            if let a = last[r.tank],
               Self.isGlitch(before: a, held: h, after: point, soldBefore: (salesSince[r.tank] ?? 0) + upTo, soldAfter: after,
                             threshold: threshold, returnShare: thresholds.glitchReturnShare) {
                // It jumped and came back — or this one is the glitch: held too, until the next reading.
                returned[r.tank] = point
                return steps
            }
            // It stayed: pass it on with the sales up to its time; the rest belong to the next step.
            held[r.tank] = nil
            heldSales[r.tank] = nil
            steps.append(pass(h, tank: r.tank, sales: (salesSince[r.tank] ?? 0) + upTo))
            salesSince[r.tank] = StoredLitres.rounded(after)
        }
        // The noise (a median) is looked at only for a jump past the fixed minimum: most readings are not.
        if let a = last[r.tank], case let jump = Self.jump(from: a, to: point, sold: salesSince[r.tank] ?? 0), jump >= thresholds.glitchMinMM,
           jump >= threshold {
            held[r.tank] = point
            return steps
        }
        steps.append(pass(point, tank: r.tank, sales: salesSince[r.tank] ?? 0))
        return steps
    }

    /// Hands `point` to the rules as the tank's next step and makes it the last reading.
    private mutating func pass(_ point: GaugePoint, tank: String, sales: Double) -> GaugeStep {
        let step = GaugeStep(tank: tank, previous: last[tank], current: point, salesTCL: sales,
                             earlierSales: earlier.removeValue(forKey: tank) ?? [])
        last[tank] = point
        salesSince[tank] = 0
        return step
    }

    /// The height jump (mm) that makes a reading suspect: at least `glitchMinMM`, and `glitchSigmas`
    /// times the tank's measured noise (rounding included) once it is known. (A gauge without
    /// heights never jumps, so is never held.)
    func glitchThreshold(_ tank: String, _ th: DetectionThresholds) -> Double {
        Self.glitchThreshold(noiseMM: quality[tank]?.noiseMM, th)
    }

    /// The same for a gauge of measured noise `noiseMM` (nil: not known yet).
    static func glitchThreshold(noiseMM: Double?, _ th: DetectionThresholds) -> Double {
        max(th.glitchMinMM, th.glitchSigmas * (noiseMM ?? 0))
    }

    /// How far (mm) reading `b` stands from where reading `a` and the litres `sold` between them
    /// put it, the litres turned into millimetres by the gauge's own chart between the two: on a
    /// busy tank read every 15–30 minutes the level drops centimetres between readings, and a
    /// reading held for that alone would hold every reading — and every judgement on it — an
    /// interval late.
    static func jump(from a: GaugePoint, to b: GaugePoint, sold: Double = 0) -> Double {
        guard let ha = a.heightMM, let hb = b.heightMM else { return 0 }
        guard hb != ha, sold > 0 else { return abs(hb - ha) }
        return abs(hb - (ha - sold / litresPerMM(a, ha, b, hb)))
    }

    /// Litres a millimetre between two readings by the gauge's own chart (each reading's volume is
    /// its height's); their heights must differ.
    static func litresPerMM(_ a: GaugePoint, _ ha: Double, _ b: GaugePoint, _ hb: Double) -> Double {
        abs(b.tcVolumeL - a.tcVolumeL) / abs(hb - ha)
    }

    /// A held reading is a glitch when it stood away from the readings on both sides, in the same
    /// direction, by at least the threshold, and the next reading came back near the one before —
    /// all after the litres sold meanwhile (`soldBefore` the held reading, `soldAfter` it): on a
    /// gauge read every 15 minutes a busy tank drops centimetres between readings, and a spike must
    /// not pass for a delivery because the level it came back to is lower. Litres become millimetres
    /// by the gauge's own chart between the two readings (each reading's volume is its height's).
    static func isGlitch(before a: GaugePoint, held h: GaugePoint, after n: GaugePoint, soldBefore: Double = 0, soldAfter: Double = 0,
                         threshold: Double, returnShare: Double) -> Bool {
        guard let ha = a.heightMM, let hh = h.heightMM, let hn = n.heightMM, hh != ha else { return false }
        let litresPerMM = Self.litresPerMM(a, ha, h, hh)
        let (s1, s2) = litresPerMM > 0 ? (soldBefore / litresPerMM, soldAfter / litresPerMM) : (0, 0)
        let up = hh - (ha - s1), back = hh - s2 - hn
        guard up * back > 0, min(abs(up), abs(back)) >= threshold else { return false }
        return abs(hn - (ha - s1 - s2)) <= returnShare * min(abs(up), abs(back))
    }

    /// The litres of `sales` that flowed before `end` (all of them without one).
    static func litres(_ sales: [TimedVolume], upTo end: Timestamp? = nil) -> Double {
        sales.reduce(0) { sum, sale in sum + (end.map { sale.litres(from: distantPast, to: $0) } ?? sale.litres) }
    }

    static let distantPast = Timestamp(microseconds: Int64.min / 2)
}
