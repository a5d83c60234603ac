import FuelModel

/// Tank balance from the gauge and the meters, in the manner of continuous statistical leak
/// detection: the gauge's 20 °C drop over segments of about an hour is regressed on each nozzle's
/// metered volume (at 20 °C) and on time,
///
///     drop = Σₙ fₙ · volumeₙ + L · hours + noise,
///
/// where fₙ is nozzle n's meter factor (litres leaving the tank per litre metered) and L the rate
/// at which the tank loses fuel that nobody paid for. Segments in which fuel entered (a gauge rise
/// or a delivery window) are left out; a sale that straddles a segment boundary is split by time.
/// Per tank and local day the rule keeps only the regression's sufficient statistics, so a rolling
/// window is a sum of days. At each day's close it judges:
/// - **leak** (`leak_suspected`): L over `leakWindowDays` with its standard error — *fail* when
///   L > threshold (half the target rate) and significant at `leakZ`; *pass* when even L + 1.645·se
///   is below the target; otherwise *inconclusive*. Fail raises, pass clears.
/// - **meter drift** (`meter_drift`, per nozzle): over `meterWindowDays` a factor off by more than
///   `meterFlagPercent`, both absolutely and against the tank's other nozzles (so chart and
///   temperature errors common to the tank do not count), by `meterZ` standard errors beyond the
///   legal ±0.3 %.
/// - **stock gain** (`stock_gain`): over `stockGainDays`, metered sales exceeding the gauge's drop by
///   more than `stockGainPercent` — customers are being short-filled somewhere on the tank.
struct TankBalanceRule: Hashable, Sendable, Codable {
    struct PendingSale: Hashable, Sendable, Codable {
        var nozzle: Int
        var volume: TimedVolume
        var from: Timestamp { volume.from }
        var to: Timestamp { volume.to }
    }
    struct DayStats: Hashable, Sendable, Codable {
        var day: CivilDate
        var fit: LeastSquares
        var hours = 0.0
        var dropL = 0.0
        var salesL = 0.0
        var nozzleL: [Double] = []
        var segments = 0
    }
    struct Tank: Hashable, Sendable, Codable {
        var id: String
        var nozzles: [String]
        var anchor: GaugePoint?
        var candidates: [GaugePoint] = []
        var sales: [PendingSale] = []
        /// Data times at which the gauge rose or a delivery was in progress: segments across them are left out.
        var inflows: [TimeSpan] = []
        var days: [DayStats] = []
        var currentDay: CivilDate?
        var leakAlert = false
        var gainAlert = false
        var meterAlerts: Set<String> = []
    }

    /// A segment with no quiet end after this long is abandoned (see `step`).

    var tanks: [String: Tank] = [:]
    /// Latest end time of any sale at the station: a segment is settled only once the sales have
    /// caught up with it too, so a collector that sends readings ahead of sales is not misread.
    var salesClock: Timestamp?

    private func newTank(_ id: String, profile: StationProfile) -> Tank {
        Tank(id: id, nozzles: profile.station.nozzles.filter { $0.tank == id }.map(\.id).sorted())
    }

    mutating func sale(_ s: Sale, tank: String, tcL: Double, profile: StationProfile) {
        salesClock = max(salesClock ?? s.endedAt, s.endedAt)
        var t = tanks[tank] ?? newTank(tank, profile: profile)
        guard let n = t.nozzles.firstIndex(of: s.nozzle) else { return }
        t.sales.append(PendingSale(nozzle: n, volume: TimedVolume(from: s.startedAt, to: s.endedAt, litres: tcL)))
        tanks[tank] = t
    }

    mutating func delivery(_ d: Delivery, thresholds: DetectionThresholds) {
        let margin = thresholds.deliveryMarginMinutes * 60
        tanks[d.tank]?.inflows.append(TimeSpan(from: d.startedAt.adding(seconds: -margin), to: d.endedAt.adding(seconds: margin)))
    }

    mutating func step(_ s: GaugeStep, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        var t = tanks[s.tank] ?? newTank(s.tank, profile: profile)
        if let p = s.previous, s.gaugeChangeL > thresholds.riseStepL { t.inflows.append(TimeSpan(from: p.at, to: s.current.at)) }
        guard t.anchor != nil else {
            t.anchor = s.current
            tanks[s.tank] = t
            return
        }
        t.candidates.append(s.current)
        // Data time both feeds have reached; after two days without any sale the gauge alone counts.
        let gauge = s.current.at
        let now = salesClock.map { $0.seconds(to: gauge) > thresholds.salesClockLagDays * 86_400 ? gauge : min($0, gauge) } ?? gauge
        // A boundary must be quiet: no sale of the tank within `quietMinutes` of it, so that the clocks of
        // the POS and the gauge, which may disagree by a minute or two, cannot put a fill on the wrong side.
        let quiet = thresholds.quietMinutes * 60
        while let a = t.anchor,
              let end = t.candidates.first(where: { c in
                  a.at.seconds(to: c.at) >= thresholds.segmentMinutes * 60 && c.at.seconds(to: now) >= thresholds.settleMinutes * 60
                      && !t.sales.contains { $0.from.adding(seconds: -quiet) < c.at && $0.to.adding(seconds: quiet) > c.at }
              }) {
            settle(&t, to: averaged(t, at: end, within: quiet / 2), profile: profile, thresholds: thresholds, emit: &emit)
        }
        // Readings too early to end the segment or to be averaged into its end are not needed.
        if let a = t.anchor {
            let keepFrom = a.at.adding(seconds: thresholds.segmentMinutes * 60 - quiet)
            t.candidates.removeAll { $0.at < keepFrom }
        }
        // A bound on the state's size, not a detection parameter.
        if t.candidates.count > 2_000 { t.candidates.removeFirst(t.candidates.count - 2_000) }
        // A tank without a quiet moment for hours (sales back to back, or a sale feed stuck open)
        // yields no boundary: start again from the newest reading rather than let the search, which
        // scans every candidate against every pending sale, grow without bound.
        // Measured against the data time both feeds have reached, so readings sent ahead of sales are not cut.
        if let a = t.anchor, a.at.seconds(to: now) > thresholds.segmentMaxHours * 3600 {
            let restart = t.candidates.last { $0.at <= now } ?? s.current
            t.anchor = restart
            t.candidates.removeAll { $0.at <= restart.at }
            t.sales.removeAll { $0.to <= restart.at }
            t.inflows.removeAll { $0.to <= restart.at }
        }
        tanks[s.tank] = t
    }

    private mutating func settle(_ t: inout Tank, to end: GaugePoint, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        guard let start = t.anchor else { return }
        let clean = !t.inflows.contains { $0.overlaps(from: start.at, to: end.at) }
        if clean {
            var x = [Double](repeating: 0, count: t.nozzles.count + 1)
            for sale in t.sales { x[sale.nozzle] += sale.volume.litres(from: start.at, to: end.at) }
            let hours = start.at.seconds(to: end.at) / 3600
            x[t.nozzles.count] = hours
            let drop = start.tcVolumeL - end.tcVolumeL
            let day = profile.clock.day(of: end.at)
            if let current = t.currentDay, day > current {
                judge(&t, closing: current, at: end, profile: profile, thresholds: thresholds, emit: &emit)
            }
            t.currentDay = max(t.currentDay ?? day, day)
            if t.days.last?.day != day {
                t.days.append(DayStats(day: day, fit: LeastSquares(k: t.nozzles.count + 1),
                                       nozzleL: Array(repeating: 0, count: t.nozzles.count)))
                let keep = max(thresholds.leakWindowDays, thresholds.meterWindowDays, thresholds.stockGainDays) + 1
                if t.days.count > keep { t.days.removeFirst(t.days.count - keep) }
            }
            let i = t.days.count - 1
            t.days[i].fit.add(x: x, y: drop)
            t.days[i].hours += hours
            t.days[i].dropL += drop
            t.days[i].salesL += x.dropLast().reduce(0, +)
            t.days[i].segments += 1
            for n in t.nozzles.indices { t.days[i].nozzleL[n] += x[n] }
            judgeMeters(&t, through: day, at: end, profile: profile, thresholds: thresholds, emit: &emit)
        }
        t.anchor = end
        t.candidates.removeAll { $0.at <= end.at }
        t.sales.removeAll { $0.to <= end.at }
        t.inflows.removeAll { $0.to <= end.at }
    }

    /// Standard error of the mean of the days' leak rates (litres not explained by the fitted meter
    /// factors, per hour), weighted by hours; nil with fewer than `leakMinDays` days.
    private func batchStandardError(_ t: Tank, fit: LeastSquares.Fit, from: CivilDate, through day: CivilDate,
                                    thresholds th: DetectionThresholds) -> Double? {
        var rates: [(Double, Double)] = []
        for d in t.days where d.day >= from && d.day <= day && d.hours >= th.leakDayMinHours {
            var explained = 0.0
            for (n, litres) in d.nozzleL.enumerated() { explained += (fit.beta[n] ?? 1) * litres }
            rates.append(((d.dropL - explained) / d.hours, d.hours))
        }
        guard rates.count >= max(th.leakMinDays, 2) else { return nil }
        let weight = rates.reduce(0) { $0 + $1.1 }
        let mean = rates.reduce(0) { $0 + $1.0 * $1.1 } / weight
        let variance = rates.reduce(0) { $0 + $1.1 * ($1.0 - mean) * ($1.0 - mean) } / weight
        return (variance * Double(rates.count) / Double(rates.count - 1) / Double(rates.count)).squareRoot()
    }

    /// A quiet boundary's level as the mean of the readings within `span` of it (half the quiet
    /// margin, so clock skew cannot bring a fill into it; a leak moves the level by hundredths of a
    /// litre in minutes): averaging n readings divides the gauge's noise by √n. Near an inflow the
    /// single reading stands.
    private func averaged(_ t: Tank, at c: GaugePoint, within span: Double) -> GaugePoint {
        let from = c.at.adding(seconds: -span), to = c.at.adding(seconds: span)
        guard span > 0, !t.inflows.contains(where: { $0.overlaps(from: from, to: to) }) else { return c }
        let near = t.candidates.filter { $0.at >= from && $0.at <= to }
        guard near.count > 1 else { return c }
        var p = c
        p.tcVolumeL = near.reduce(0) { $0 + $1.tcVolumeL } / Double(near.count)
        return p
    }

    private func window(_ t: Tank, days: Int, through day: CivilDate) -> DayStats? {
        let from = day.adding(days: -(days - 1))
        var sum: DayStats?
        for d in t.days where d.day >= from && d.day <= day {
            if sum == nil {
                sum = d
            } else {
                sum!.fit.add(d.fit)
                sum!.hours += d.hours
                sum!.dropL += d.dropL
                sum!.salesL += d.salesL
                sum!.segments += d.segments
                for (i, v) in d.nozzleL.enumerated() where i < sum!.nozzleL.count { sum!.nozzleL[i] += v }
            }
        }
        return sum
    }

    private mutating func judge(_ t: inout Tank, closing day: CivilDate, at point: GaugePoint, profile: StationProfile,
                                thresholds th: DetectionThresholds, emit: inout [DetectorEvent]) {
        let station = profile.station.id
        let tankID = t.id
        let seqs = (point.chainSeq, point.chainSeq)

        // Leak test.
        if let w = window(t, days: th.leakWindowDays, through: day), w.hours >= th.leakMinHours, let fit = w.fit.fit(),
           let rate = fit.beta[t.nozzles.count], let olsSE = fit.se[t.nozzles.count] {
            // The regression's standard error assumes independent segments; errors that persist for
            // hours (temperature, evaporation, a gauge's own drift) make it too small. Batch means —
            // each day's leak rate with the window's meter factors — bound it from below.
            let se = max(olsSE, batchStandardError(t, fit: fit, from: day.adding(days: -(th.leakWindowDays - 1)), through: day, thresholds: th) ?? 0)
            let fp = AlertSignal.fingerprint(rule: .leakSuspected, station: station, subject: tankID)
            let verdict: LeakVerdict = rate > th.leakThresholdLPH && rate - th.leakZ * se > 0 ? .fail
                : rate + th.leakPassZ * se < th.leakTargetLPH ? .pass : .inconclusive
            if verdict == .fail {
                t.leakAlert = true
                emit.append(.raise(AlertSignal(
                    rule: .leakSuspected, station: station, subject: tankID, severity: .critical, openedAt: point.at,
                    evidence: [
                        "verdict": .text(verdict.rawValue), "leak_rate_l_per_h": .number(rate), "standard_error_l_per_h": .number(se),
                        "regression_se_l_per_h": .number(olsSE),
                        "ci95_low_l_per_h": .number(rate - 1.96 * se), "ci95_high_l_per_h": .number(rate + 1.96 * se),
                        "threshold_l_per_h": .number(th.leakThresholdLPH), "window_days": .integer(Int64(th.leakWindowDays)),
                        "hours": .number(w.hours), "residual_sd_l": .number(fit.residualSD), "segments": .integer(Int64(w.segments)), "through_day": .text(day.description),
                    ],
                    seqFrom: seqs.0, seqTo: seqs.1)))
            } else if verdict == .pass, t.leakAlert {
                t.leakAlert = false
                emit.append(.clear(fingerprint: fp, at: point.at,
                                   reason: "leak test passed: \(JSONText.number((rate * 1000).rounded() / 1000)) ± \(JSONText.number((1.96 * se * 1000).rounded() / 1000)) L/h"))
            }
        }

        // Stock gain.
        if let w = window(t, days: th.stockGainDays, through: day), w.salesL > th.stockGainMinSalesL, w.hours >= Double(th.stockGainDays) * 24 * th.stockGainMinCoverage {
            let gain = (w.salesL - w.dropL) / w.salesL * 100
            let fp = AlertSignal.fingerprint(rule: .stockGain, station: station, subject: tankID)
            if gain > th.stockGainPercent {
                t.gainAlert = true
                emit.append(.raise(AlertSignal(
                    rule: .stockGain, station: station, subject: tankID, severity: .warning, openedAt: point.at,
                    evidence: [
                        "gain_percent": .number(gain), "metered_tc_l": .number(w.salesL), "gauge_drop_tc_l": .number(w.dropL),
                        "limit_percent": .number(th.stockGainPercent), "window_days": .integer(Int64(th.stockGainDays)),
                        "through_day": .text(day.description),
                    ],
                    seqFrom: seqs.0, seqTo: seqs.1)))
            } else if t.gainAlert, gain < th.stockGainPercent * th.stockGainClearShare {
                t.gainAlert = false
                emit.append(.clear(fingerprint: fp, at: point.at, reason: "metered sales match the gauge's drop again"))
            }
        }
    }

    /// Meter factors, judged at every settled segment so a drifting nozzle is caught as soon as the
    /// window holds the evidence.
    private mutating func judgeMeters(_ t: inout Tank, through day: CivilDate, at point: GaugePoint, profile: StationProfile,
                                      thresholds th: DetectionThresholds, emit: inout [DetectorEvent]) {
        let station = profile.station.id
        let seqs = (point.chainSeq, point.chainSeq)
        if let w = window(t, days: th.meterWindowDays, through: day), w.hours >= Double(th.meterWindowDays) * 24 * th.meterMinCoverage,
           let fit = w.fit.fit() {
            let totals = w.nozzleL
            for (n, nozzle) in t.nozzles.enumerated() {
                let fp = AlertSignal.fingerprint(rule: .meterDrift, station: station, subject: nozzle)
                guard let f = fit.beta[n], let se = fit.se[n], f > th.meterMinFactor, totals[n] > th.meterMinLitres else { continue }
                let others = (0..<t.nozzles.count).filter { $0 != n && fit.beta[$0] != nil }
                // Reference: the tank's other nozzles (weighted by volume), so common-mode gauge errors cancel.
                var reference = 1.0, relativeSE = se
                if !others.isEmpty {
                    let weights = others.map { totals[$0] }
                    let total = weights.reduce(0, +)
                    reference = zip(others, weights).reduce(0.0) { $0 + fit.beta[$1.0]! * $1.1 / total }
                    var variance = fit.covariance[n][n]
                    for (a, wa) in zip(others, weights) {
                        variance -= 2 * wa / total * fit.covariance[n][a]
                        for (b, wb) in zip(others, weights) { variance += wa * wb / (total * total) * fit.covariance[a][b] }
                    }
                    relativeSE = max(0, variance).squareRoot()
                }
                let absolute = (1 / f - 1) * 100  // % the meter registers above what leaves the tank
                let relative = (reference / f - 1) * 100
                let sePct = relativeSE / f * 100
                let drifting = abs(absolute) > th.meterFlagPercent && abs(relative) > th.meterFlagPercent
                    && (abs(relative) - th.meterLegalPercent) / max(sePct, 1e-9) > th.meterZ
                    && absolute.sign == relative.sign
                if drifting {
                    t.meterAlerts.insert(nozzle)
                    emit.append(.raise(AlertSignal(
                        rule: .meterDrift, station: station, subject: nozzle, severity: absolute > 0 ? .critical : .warning, openedAt: point.at,
                        evidence: [
                            "finding": .text(absolute > 0 ? "meter registers more than it dispenses (customers short-filled)" : "meter registers less than it dispenses"),
                            "meter_factor": .number(f), "registration_error_percent": .number(absolute),
                            "versus_tank_nozzles_percent": .number(relative), "standard_error_percent": .number(sePct),
                            "legal_percent": .number(th.meterLegalPercent), "residual_sd_l": .number(fit.residualSD), "segments": .integer(Int64(fit.n)), "window_days": .integer(Int64(th.meterWindowDays)),
                            "metered_tc_l": .number(totals[n]), "through_day": .text(day.description),
                        ],
                        seqFrom: seqs.0, seqTo: seqs.1)))
                } else if t.meterAlerts.contains(nozzle), abs(relative) + th.meterClearSE * sePct < th.meterFlagPercent {
                    t.meterAlerts.remove(nozzle)
                    emit.append(.clear(fingerprint: fp, at: point.at, reason: "meter factor back within \(JSONText.number(th.meterFlagPercent))%"))
                }
            }
        }

    }
}

extension TankBalanceRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        switch c.entry.record {
        case .sale(let s):
            if let t = c.saleTank { sale(s, tank: t.tank, tcL: t.tcL, profile: c.profile) }
        case .delivery(let d):
            delivery(d, thresholds: c.thresholds)
        case .tankReading:
            let (steps, profile, th) = (c.gaugeSteps, c.profile, c.thresholds)
            c.emitting { emit in for s in steps { self.step(s, profile: profile, thresholds: th, emit: &emit) } }
        default:
            break
        }
    }
}

/// The leak test's answer for a tank (EPA SIR practice).
public enum LeakVerdict: String, Sendable, Hashable, Codable {
    /// The estimate exceeds the threshold and is significantly above zero: a leak is suspected.
    case fail
    /// Even the estimate plus `leakPassZ` standard errors is below the target rate.
    case pass
    /// Neither: not enough evidence either way yet.
    case inconclusive
}
