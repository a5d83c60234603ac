import FuelModel

/// Daily book-vs-gauge reconciliation per tank, at 20 °C (after 40 CFR 280.43's variance rule).
///
/// A tank's day runs from its last reading of the previous local day to its last reading of this
/// one, so days chain without gaps. Book stock = opening gauge + declared deliveries − sales;
/// variance = closing gauge − book. Sales and deliveries count by the time their fuel moved (a fill
/// in progress at the closing reading is split), so a day is judged once the data is
/// `settleMinutes` past its closing reading and late records have arrived. The alert clears after a
/// day within the threshold.
struct ReconciliationRule: Hashable, Sendable, Codable {
    struct Day: Hashable, Sendable, Codable {
        var day: CivilDate
        var opening: GaugePoint
        var closing: GaugePoint
        /// First day of a period merged because a delivery straddled its closing reading.
        var since: CivilDate?
        /// Sales already known to lie wholly inside the day (summed, so the state stays small).
        var salesTCL = 0.0
    }
    /// The open day per tank.
    var days: [String: Day] = [:]
    /// Days past their closing reading, waiting for late records.
    var closed: [String: Day] = [:]
    /// Sales not yet known to lie wholly inside one day.
    var sales: [String: [TimedVolume]] = [:]
    var deliveries: [String: [TimedVolume]] = [:]
    /// Recent gauge rises per tank (fuel entering), kept for a few hours: rises less than the margin
    /// apart are one span, so a delivery read every minute costs one span, not thirty times.
    var rises: [String: [TimeSpan]] = [:]
    var alerting: Set<String> = []
    /// Closed days per tank for the cumulative rule: [variance, sales] (oldest first).
    var history: [String: [[Double]]] = [:]

    mutating func sale(tank: String, _ volume: TimedVolume) {
        sales[tank, default: []].append(volume)
        // A gauge silent for weeks must not grow the state without bound.
        // A bound on the state's size (a tank whose days never close), not a detection parameter.
        if sales[tank]!.count > 50_000 { sales[tank]!.removeFirst(10_000) }
    }

    mutating func delivery(_ d: Delivery) {
        deliveries[d.tank, default: []].append(TimedVolume(from: d.startedAt, to: d.endedAt, litres: d.declaredVolumeL))
    }

    mutating func step(_ s: GaugeStep, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        if s.gaugeChangeL > thresholds.riseStepL {
            let at = s.current.at, margin = thresholds.reconciliationMarginMinutes * 60
            if let last = rises[s.tank]?.indices.last, rises[s.tank]![last].to.seconds(to: at) <= margin {
                rises[s.tank]![last].to = max(rises[s.tank]![last].to, at)
            } else {
                rises[s.tank, default: []].append(TimeSpan(from: at, to: at))
            }
            rises[s.tank]!.removeAll { $0.to.seconds(to: at) > thresholds.reconciliationRiseHours * 3600 }
        }
        if let c = closed[s.tank], c.closing.at.seconds(to: s.current.at) >= thresholds.settleMinutes * 60 {
            settle(c, tank: s.tank, profile: profile, thresholds: thresholds, emit: &emit)
        }
        let today = profile.clock.day(of: s.current.at)
        guard var d = days[s.tank] else {
            days[s.tank] = Day(day: today, opening: s.current, closing: s.current)
            return
        }
        if today > d.day {
            if let c = closed[s.tank] { settle(c, tank: s.tank, profile: profile, thresholds: thresholds, emit: &emit) }
            closed[s.tank] = d
            d = Day(day: today, opening: d.closing, closing: d.closing)
        }
        d.closing = s.current
        // Sales that began after the opening reading and ended by this one are the open day's.
        if var pending = sales[s.tank] {
            let opening = d.opening.at, now = s.current.at
            for v in pending where v.from >= opening && v.to <= now { d.salesTCL = StoredLitres.rounded(d.salesTCL + v.litres) }
            pending.removeAll { $0.from >= opening && $0.to <= now }
            sales[s.tank] = pending
        }
        days[s.tank] = d
    }

    private mutating func settle(_ d: Day, tank: String, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        closed[tank] = nil
        // A delivery in progress at the closing reading (a delivery record around it, or the gauge
        // rising) cannot be split by time: the ticket's clock and the gauge's disagree by minutes at
        // 700 L a minute. Judge the two days as one instead.
        let margin = thresholds.reconciliationMarginMinutes * 60
        let delivering = deliveries[tank]?.contains { $0.from.adding(seconds: -margin) <= d.closing.at && d.closing.at <= $0.to.adding(seconds: margin) } == true
            // Rises in a span are less than the margin apart, so a span within the margin holds a rise within it.
            || rises[tank]?.contains { $0.from.adding(seconds: -margin) <= d.closing.at && d.closing.at <= $0.to.adding(seconds: margin) } == true
        if delivering, var open = days[tank], open.opening == d.closing {
            open.opening = d.opening
            open.since = d.since ?? d.day
            open.salesTCL = StoredLitres.rounded(open.salesTCL + d.salesTCL)
            days[tank] = open
            return
        }
        let sold = d.salesTCL + (sales[tank] ?? []).reduce(0) { $0 + $1.litres(from: d.opening.at, to: d.closing.at) }
        let delivered = (deliveries[tank] ?? []).reduce(0) { $0 + $1.litres(from: d.opening.at, to: d.closing.at) }
        // What remains of a fill across the closing reading belongs to the next day.
        sales[tank] = (sales[tank] ?? []).compactMap { v in
            guard v.to > d.closing.at else { return nil }
            guard v.from < d.closing.at else { return v }
            return TimedVolume(from: d.closing.at, to: v.to, litres: v.litres(from: d.closing.at, to: v.to))
        }
        deliveries[tank]?.removeAll { $0.to <= d.closing.at }
        close(d, tank: tank, salesTCL: sold, deliveriesL: delivered, profile: profile, thresholds: thresholds, emit: &emit)
    }

    private mutating func close(_ d: Day, tank: String, salesTCL: Double, deliveriesL: Double, profile: StationProfile,
                                thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let book = d.opening.tcVolumeL + deliveriesL - salesTCL
        let variance = d.closing.tcVolumeL - book
        cumulative(d, tank: tank, variance: variance, salesTCL: salesTCL, profile: profile, thresholds: thresholds, emit: &emit)
        let allowed = salesTCL * thresholds.reconciliationPercent / 100 + thresholds.reconciliationFixedL
            + deliveriesL * thresholds.reconciliationDeliveryPercent / 100
        emit.append(.measured(DailyFigure(kind: .reconciliationVariance, subject: tank, day: d.day, at: d.closing.at, value: variance,
                                          bandLow: -allowed, bandHigh: allowed)))
        let fp = AlertSignal.fingerprint(rule: .reconciliationVariance, station: profile.station.id, subject: tank)
        if abs(variance) > allowed {
            alerting.insert(tank)
            emit.append(.raise(AlertSignal(
                rule: .reconciliationVariance, station: profile.station.id, subject: tank,
                severity: abs(variance) > thresholds.reconciliationCriticalFactor * allowed ? .critical : .warning, openedAt: d.closing.at,
                evidence: [
                    "day": .text(d.since.map { "\($0)…\(d.day)" } ?? d.day.description),
                    "direction": .text(variance < 0 ? "loss" : "gain"),
                    "variance_l": .number(variance),
                    "allowed_l": .number(allowed),
                    "opening_tc_l": .number(d.opening.tcVolumeL),
                    "closing_tc_l": .number(d.closing.tcVolumeL),
                    "sales_tc_l": .number(salesTCL),
                    "deliveries_l": .number(deliveriesL),
                    "loss_rate_l_per_h": .number(-variance / max(d.opening.at.seconds(to: d.closing.at) / 3600, 1)),
                ],
                seqFrom: d.opening.chainSeq, seqTo: d.closing.chainSeq)))
        } else if alerting.remove(tank) != nil {
            emit.append(.clear(fingerprint: fp, at: d.closing.at,
                               reason: "day \(d.day) reconciled within \(JSONText.number((allowed * 10).rounded() / 10)) L"))
        }
    }

    /// The monthly rule of 40 CFR 280.43 on a rolling window: variance summed over the last
    /// `cumulativeDays` closed days beyond `cumulativePercent` of their throughput plus
    /// `cumulativeFixedL` (subject `T1:30d`). Judged once the window is full; clears when back within.
    private mutating func cumulative(_ d: Day, tank: String, variance: Double, salesTCL: Double, profile: StationProfile, thresholds th: DetectionThresholds,
                                     emit: inout [DetectorEvent]) {
        var h = history[tank] ?? []
        // Kept to the centilitre, in memory as in the stored state: a month of closed days at full
        // precision was a tenth of a station's state budget, and 30 roundings of half a centilitre
        // cannot move a verdict whose margin is hundreds of litres.
        h.append([(variance * 100).rounded() / 100, (salesTCL * 100).rounded() / 100])
        if h.count > th.cumulativeDays { h.removeFirst(h.count - th.cumulativeDays) }
        history[tank] = h
        guard h.count >= th.cumulativeDays else { return }
        let total = h.reduce(0) { $0 + $1[0] }
        let throughput = h.reduce(0) { $0 + $1[1] }
        let allowed = throughput * th.cumulativePercent / 100 + th.cumulativeFixedL
        let subject = "\(tank):\(th.cumulativeDays)d"
        let fp = AlertSignal.fingerprint(rule: .reconciliationVariance, station: profile.station.id, subject: subject)
        if abs(total) > allowed {
            alerting.insert(subject)
            emit.append(.raise(AlertSignal(
                rule: .reconciliationVariance, station: profile.station.id, subject: subject, severity: .warning, openedAt: d.closing.at,
                evidence: [
                    "through_day": .text(d.day.description), "days": .integer(Int64(h.count)),
                    "direction": .text(total < 0 ? "loss" : "gain"), "variance_l": .number(total), "throughput_l": .number(throughput),
                    "allowed_l": .number(allowed),
                ],
                seqFrom: d.opening.chainSeq, seqTo: d.closing.chainSeq)))
        } else if alerting.remove(subject) != nil {
            emit.append(.clear(fingerprint: fp, at: d.closing.at, reason: "\(th.cumulativeDays)-day variance within \(JSONText.number(allowed.rounded())) L"))
        }
    }
}

extension ReconciliationRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        switch c.entry.record {
        case .sale(let s):
            if let t = c.saleTank { sale(tank: t.tank, TimedVolume(from: s.startedAt, to: s.endedAt, litres: t.tcL)) }
        case .delivery(let d):
            delivery(d)
        case .tankReading:
            let (steps, profile, th) = (c.gaugeSteps, c.profile, c.thresholds)
            c.emitting { emit in for s in steps { self.step(s, profile: profile, thresholds: th, emit: &emit) } }
        default:
            break
        }
    }
}
