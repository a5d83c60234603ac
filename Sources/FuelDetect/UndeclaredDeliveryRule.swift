import FuelModel

/// A gauge rise with no delivery record: fuel of unknown origin (Veeder-Root alarm 28, "missing
/// delivery ticket"). Consecutive readings where the gauge itself rises by more than a step form
/// an episode (sales alone never raise a gauge, however late their records arrive); the episode's
/// inflow adds back the sales metered meanwhile. an episode of at least `undeclaredMinL` must be matched by a delivery
/// record for the tank within the match window, or it is raised once the grace period has passed
/// in data time. A delivery record that arrives later resolves it.
struct UndeclaredDeliveryRule: Hashable, Sendable, Codable {
    struct Episode: Hashable, Sendable, Codable {
        var tank: String
        var start: GaugePoint
        var end: GaugePoint
        var inflowL: Double
        var raised = false
    }
    struct DeclaredWindow: Hashable, Sendable, Codable {
        var tank: String
        var from: Timestamp
        var to: Timestamp
    }

    var open: [String: Episode] = [:]
    var pending: [Episode] = []
    var declared: [DeclaredWindow] = []

    mutating func delivery(_ d: Delivery, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let w = DeclaredWindow(tank: d.tank, from: d.startedAt, to: d.endedAt)
        declared.append(w)
        if declared.count > 64 { declared.removeFirst(declared.count - 64) }
        let (explained, rest) = (pending.filter { matches($0, w, thresholds) }, pending.filter { !matches($0, w, thresholds) })
        pending = rest
        for e in explained where e.raised {
            emit.append(.clear(
                fingerprint: fingerprint(e, profile), at: d.endedAt,
                reason: "delivery \(d.billNo) declared for the rise"))
        }
    }

    mutating func step(_ s: GaugeStep, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let inflow = s.netInflowL
        if s.gaugeChangeL > thresholds.riseStepL, let prev = s.previous {
            if var e = open[s.tank] {
                e.end = s.current
                e.inflowL += inflow
                open[s.tank] = e
            } else {
                open[s.tank] = Episode(tank: s.tank, start: prev, end: s.current, inflowL: inflow)
            }
        } else if let e = open.removeValue(forKey: s.tank), e.inflowL >= thresholds.undeclaredMinL,
                  !declared.contains(where: { matches(e, $0, thresholds) }) {
            pending.append(e)
        }
        check(now: s.current.at, profile: profile, thresholds: thresholds, emit: &emit)
    }

    /// Raises pending episodes whose grace period has passed at data time `now`.
    mutating func check(now: Timestamp, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        for i in pending.indices where !pending[i].raised {
            let e = pending[i]
            guard e.end.at.seconds(to: now) >= thresholds.undeclaredGraceMinutes * 60 else { continue }
            pending[i].raised = true
            emit.append(.raise(AlertSignal(
                rule: .undeclaredDelivery, station: profile.station.id, subject: e.tank, severity: .critical,
                openedAt: e.end.at,
                evidence: [
                    "inflow_l": .number(e.inflowL),
                    "gauge_before_tc_l": .number(e.start.tcVolumeL),
                    "gauge_after_tc_l": .number(e.end.tcVolumeL),
                    "rise_from": .text(e.start.at.rfc3339),
                    "rise_to": .text(e.end.at.rfc3339),
                ],
                seqFrom: e.start.chainSeq, seqTo: e.end.chainSeq)))
        }
        // Raised episodes stay until a late delivery record explains them or for a week of data time.
        pending.removeAll { $0.raised && $0.end.at.seconds(to: now) > 7 * 86_400 }
        declared.removeAll { $0.to.seconds(to: now) > 3 * 86_400 }
    }

    private func matches(_ e: Episode, _ w: DeclaredWindow, _ t: DetectionThresholds) -> Bool {
        let slack = t.deliveryMatchMinutes * 60
        return e.tank == w.tank && w.from.adding(seconds: -slack) <= e.end.at && e.start.at <= w.to.adding(seconds: slack)
    }

    private func fingerprint(_ e: Episode, _ p: StationProfile) -> String {
        AlertSignal.fingerprint(rule: .undeclaredDelivery, station: p.station.id, subject: e.tank)
    }
}
