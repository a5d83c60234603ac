import FuelModel

/// Daily book-vs-gauge reconciliation per tank, at 20 °C (after 40 CFR 280.43's variance rule).
///
/// A tank's day runs from its last reading of the previous local day to its last reading of this
/// one, so days chain without gaps. Book stock = opening gauge + declared deliveries − sales;
/// variance = closing gauge − book. The alert clears after a day within the threshold.
struct ReconciliationRule: Hashable, Sendable, Codable {
    struct Day: Hashable, Sendable, Codable {
        var day: CivilDate
        var opening: GaugePoint
        var closing: GaugePoint
        var salesTCL: Double = 0
        var deliveriesL: Double = 0
    }
    var days: [String: Day] = [:]
    var alerting: Set<String> = []
    /// Closed days per tank for the cumulative rule: [variance, sales] (oldest first).
    var history: [String: [[Double]]] = [:]

    mutating func delivery(_ d: Delivery) {
        days[d.tank]?.deliveriesL += d.declaredVolumeL
    }

    mutating func step(_ s: GaugeStep, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let today = profile.clock.day(of: s.current.at)
        guard var d = days[s.tank] else {
            days[s.tank] = Day(day: today, opening: s.current, closing: s.current)
            return
        }
        if today > d.day {
            close(d, tank: s.tank, profile: profile, thresholds: thresholds, emit: &emit)
            d = Day(day: today, opening: d.closing, closing: d.closing)
        }
        d.closing = s.current
        d.salesTCL += s.salesTCL
        days[s.tank] = d
    }

    private mutating func close(_ d: Day, tank: String, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let book = d.opening.tcVolumeL + d.deliveriesL - d.salesTCL
        let variance = d.closing.tcVolumeL - book
        cumulative(d, tank: tank, variance: variance, profile: profile, thresholds: thresholds, emit: &emit)
        let allowed = d.salesTCL * thresholds.reconciliationPercent / 100 + thresholds.reconciliationFixedL
        let fp = AlertSignal.fingerprint(rule: .reconciliationVariance, station: profile.station.id, subject: tank)
        if abs(variance) > allowed {
            alerting.insert(tank)
            emit.append(.raise(AlertSignal(
                rule: .reconciliationVariance, station: profile.station.id, subject: tank,
                severity: abs(variance) > 2 * allowed ? .critical : .warning, openedAt: d.closing.at,
                evidence: [
                    "day": .text(d.day.description),
                    "direction": .text(variance < 0 ? "loss" : "gain"),
                    "variance_l": .number(variance),
                    "allowed_l": .number(allowed),
                    "opening_tc_l": .number(d.opening.tcVolumeL),
                    "closing_tc_l": .number(d.closing.tcVolumeL),
                    "sales_tc_l": .number(d.salesTCL),
                    "deliveries_l": .number(d.deliveriesL),
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
    private mutating func cumulative(_ d: Day, tank: String, variance: Double, profile: StationProfile, thresholds th: DetectionThresholds,
                                     emit: inout [DetectorEvent]) {
        var h = history[tank] ?? []
        h.append([variance, d.salesTCL])
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
