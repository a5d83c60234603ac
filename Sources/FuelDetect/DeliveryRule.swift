import FuelModel

/// Deliveries against the gauge.
///
/// Consecutive readings where the gauge itself rises by more than a step form an episode (sales
/// alone never raise a gauge, however late their records arrive); the episode's inflow adds back
/// the sales metered meanwhile.
/// - An episode of at least `undeclaredMinL` with no delivery record for the tank within the match
///   window is an **undeclared delivery** (Veeder-Root alarm 28, "missing delivery ticket"), raised
///   once the grace period has passed in data time; a delivery record that arrives later resolves it.
/// - A delivery record whose matched inflow differs from the declared volume (both at 20 °C) beyond
///   tolerance is a **delivery mismatch** (short or over delivery); one with no inflow at all is a
///   phantom delivery (a ticket without fuel). Judged once the delivery has settled (grace after
///   its end); a later delivery to the tank that reconciles clears it.
/// - A delivery from a supplier that is unknown, unlicensed at the delivery date, or without a
///   batch number is a delivery mismatch on subject `T1:supplier`.
struct DeliveryRule: Hashable, Sendable, Codable {
    struct Episode: Hashable, Sendable, Codable {
        var tank: String
        var start: GaugePoint
        var end: GaugePoint
        var inflowL: Double
        var raised = false
    }
    struct Declared: Hashable, Sendable, Codable {
        var tank: String
        var from: Timestamp
        var to: Timestamp
        var billNo: String
        var volumeL: Double
        var chainSeq: Int64
        var gaugedL = 0.0
        var settled = false
    }

    /// Declared deliveries kept to explain rises: a bound on the state's size, not a detection parameter
    /// (they are forgotten after `deliveryKeepJudgedDays` anyway).
    static let maxDeclared = 64

    var open: [String: Episode] = [:]
    var pending: [Episode] = []
    var declared: [Declared] = []
    var mismatched: Set<String> = []
    /// Per tank, the last step when it fell further than its sales explain, by a glitch's height: a
    /// rise right after it is measured from before it (a reading spiking down just before a
    /// delivery is not a glitch — the level never comes back to it — and would count as fuel).
    /// Optional: states saved before it was kept decode without it.
    var fell: [String: Episode]?

    mutating func delivery(_ d: Delivery, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        var w = Declared(tank: d.tank, from: d.startedAt, to: d.endedAt, billNo: d.billNo, volumeL: d.declaredVolumeL, chainSeq: chainSeq)
        let explained = pending.filter { matches($0, w, thresholds) }
        pending = pending.filter { !matches($0, w, thresholds) }
        for e in explained {
            w.gaugedL = StoredLitres.rounded(w.gaugedL + e.inflowL)
            if e.raised {
                emit.append(.clear(fingerprint: fingerprint(.undeclaredDelivery, e.tank, profile), at: d.endedAt,
                                   reason: "delivery \(d.billNo) declared for the rise"))
            }
        }
        declared.append(w)
        if declared.count > Self.maxDeclared { declared.removeFirst(declared.count - Self.maxDeclared) }
        supplier(d, chainSeq: chainSeq, profile: profile, emit: &emit)
    }

    mutating func step(_ s: GaugeStep, held: Set<String> = [], heldFalling: Set<String> = [], gauges: [String: GaugeQuality] = [:],
                       profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let inflow = s.netInflowL
        let fellBefore = fell?.removeValue(forKey: s.tank)
        // Litres of sales recorded late that flowed inside an episode's earlier steps (from `start`).
        func earlier(since start: GaugePoint) -> Double {
            guard let prev = s.previous else { return 0 }
            return s.earlierSales.reduce(0) { $0 + $1.litres(from: start.at, to: prev.at) }
        }
        // A rise: the gauge itself rises — or, where a busy tank's sales over the interval outweigh a
        // load (a 222 L undeclared delivery read every 30 minutes at a 24-hour station: the gauge fell),
        // what entered it net of the litres sold inside the interval reaches an undeclared delivery's
        // size. Sales recorded after the reading that flowed before it are not counted there
        // (``GaugeStep/earlierSales``), so a late record cannot make one.
        let rises = s.gaugeChangeL > thresholds.riseStepL || (thresholds.riseNetInflow && inflow >= thresholds.undeclaredMinL)
        if rises, let prev = s.previous {
            if var e = open[s.tank] {
                e.end = s.current
                e.inflowL += inflow + earlier(since: e.start)
                open[s.tank] = e
            } else {
                var e = Episode(tank: s.tank, start: prev, end: s.current, inflowL: inflow)
                if let f = fellBefore, f.end.chainSeq == prev.chainSeq {
                    e.start = f.start
                    e.inflowL += f.inflowL + earlier(since: f.start)
                }
                open[s.tank] = e
            }
        } else if open[s.tank] == nil {
            // A rise not yet raised is measured to the latest reading until its grace ends: a delivery
            // stays in the tank, two spikes in a row (readings 30 mm up, then back) do not — the glitch
            // filter, which judges one reading by the next, passed them as a rise, and on a gauge read
            // every minute, where two of its 0.1 % spikes fall together a few times a station-year, that
            // was a false undeclared delivery (0.14 a station-month).
            for i in pending.indices where pending[i].tank == s.tank && !pending[i].raised {
                pending[i].inflowL += inflow + earlier(since: pending[i].end)
            }
            if var f = fellBefore, let prev = s.previous, f.end.chainSeq == prev.chainSeq, inflow < 0 {
                // A fall that goes on falling (two spikes down in a row, then back) is one fall.
                f.end = s.current
                f.inflowL += inflow + earlier(since: f.start)
                keepFall(f)
            } else if let prev = s.previous, Self.fellUnexplained(s, noiseMM: gauges[s.tank]?.noiseMM, thresholds: thresholds) {
                keepFall(Episode(tank: s.tank, start: prev, end: s.current, inflowL: inflow))
            }
        } else if var e = open.removeValue(forKey: s.tank) {
            // The episode is measured to the first reading that stopped rising (sales added back), not
            // to the last that rose: a delivery's last litres may fall in that step, and a spike on the
            // last rising reading (it is not a glitch: the level does not come back to where it was
            // before the delivery) would otherwise count as fuel.
            e.inflowL += inflow + earlier(since: e.start)
            // A rise near a delivery that was already judged is not that delivery's: its litres would
            // be added to a verdict nobody looks at again (an undeclared load an hour after a declared one
            // on a busy tank vanished that way).
            // One rise over two declared deliveries (a gauge read every 30 minutes merges a delivery and
            // another 40 minutes later into one) is shared in proportion to what each declared: the gauge
            // cannot tell which litres were whose, and all of them given to the last made the first a
            // "phantom" and the last "more fuel than declared".
            let during = declared.indices.filter { !declared[$0].settled && e.tank == declared[$0].tank
                && declared[$0].from <= e.end.at && e.start.at <= declared[$0].to }
            let declaredL = during.reduce(0) { $0 + declared[$1].volumeL }
            if during.count > 1, declaredL > 0 {
                for i in during { declared[i].gaugedL = StoredLitres.rounded(declared[i].gaugedL + e.inflowL * declared[i].volumeL / declaredL) }
            } else if let i = declared.lastIndex(where: { !$0.settled && matches(e, $0, thresholds) }) {
                declared[i].gaugedL = StoredLitres.rounded(declared[i].gaugedL + e.inflowL)
            } else if e.inflowL >= thresholds.undeclaredMinL {
                pending.append(e)
            } else {
                // A rise too small to be a delivery, while a rise not yet raised waits out its grace: part of
                // what that rise is measured by, as the falls are. Dropped, only the millimetre gauge's
                // ticks down counted there: a 203 L undeclared load read as 166 L went under 150 L by a
                // tick up lost and two ticks down kept (mm-5m, seed 101).
                for i in pending.indices where pending[i].tank == s.tank && !pending[i].raised { pending[i].inflowL += e.inflowL }
                if let prev = s.previous, Self.fellUnexplained(s, noiseMM: gauges[s.tank]?.noiseMM, thresholds: thresholds) {
                    // A rise of a step or two (a millimetre gauge's tick) that ends in a fall by a glitch's
                    // height: the fall is kept as any other, so a rise right after it is measured from before it
                    // (a spike down, then one up, on a gauge read every minute was 540 L "undeclared").
                    keepFall(Episode(tank: s.tank, start: prev, end: s.current, inflowL: inflow))
                }
            }
        }
        check(now: s.current.at, held: held, heldFalling: heldFalling, gauges: gauges, profile: profile, thresholds: thresholds, emit: &emit)
    }

    /// Keeps `f` as its tank's last fall (see ``fell``).
    private mutating func keepFall(_ f: Episode) {
        var kept = fell ?? [:]
        kept[f.tank] = f
        fell = kept
    }

    /// Raises pending episodes whose grace period has passed at data time `now`, and judges
    /// deliveries that have settled — not on a tank whose latest reading the tank tracker still
    /// holds (`held`): the rise it may carry has not been counted yet — nor on a tank whose gauge
    /// has not read since the delivery ended (`gauges`: a collector outage over a delivery must not
    /// make it a phantom; the gap is telemetry_gap's to report).
    mutating func check(now: Timestamp, held: Set<String> = [], heldFalling: Set<String> = [], gauges: [String: GaugeQuality] = [:],
                        profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let grace = thresholds.undeclaredGraceMinutes * 60
        // A rise is judged once its own gauge has read past the grace and that reading is not held
        // falling (it may be the level coming back): on a gauge read every 15 minutes the grace ended at
        // the same instant as the next reading, and another tank's reading at that instant judged the
        // rise before this tank's showed it gone. A held reading that rises (the next delivery filling
        // the tank) does not wait: an undeclared load 25 minutes before a declared one was otherwise
        // judged only with that delivery, past its deadline.
        func due(_ e: Episode) -> Bool {
            !e.raised && e.end.at.seconds(to: now) >= grace && !heldFalling.contains(e.tank)
                && (gauges[e.tank]?.lastAt).map { e.end.at.seconds(to: $0) >= grace } ?? true
        }
        pending.removeAll { due($0) && $0.inflowL < thresholds.undeclaredMinL }
        for i in pending.indices where due(pending[i]) {
            let e = pending[i]
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
        for i in declared.indices where !declared[i].settled {
            let w = declared[i]
            guard w.to.seconds(to: now) >= grace, open[w.tank] == nil, !held.contains(w.tank),
                  gauges[w.tank].map({ ($0.lastAt ?? w.to) > w.to }) ?? true else { continue }
            declared[i].settled = true
            judge(w, at: now, profile: profile, thresholds: thresholds, emit: &emit)
        }
        // Raised episodes stay until a late delivery record explains them or for deliveryKeepRaisedDays of data time.
        pending.removeAll { $0.raised && $0.end.at.seconds(to: now) > thresholds.deliveryKeepRaisedDays * 86_400 }
        declared.removeAll { $0.settled && $0.to.seconds(to: now) > thresholds.deliveryKeepJudgedDays * 86_400 }
    }

    private mutating func judge(_ w: Declared, at now: Timestamp, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let difference = w.gaugedL - w.volumeL
        let tolerance = max(w.volumeL * thresholds.deliveryTolerancePercent / 100, thresholds.deliveryToleranceL)
        let fp = fingerprint(.deliveryMismatch, w.tank, profile)
        guard abs(difference) > tolerance else {
            if mismatched.remove(w.tank) != nil {
                emit.append(.clear(fingerprint: fp, at: w.to, reason: "delivery \(w.billNo) matched the gauge"))
            }
            return
        }
        mismatched.insert(w.tank)
        let finding = w.gaugedL < thresholds.riseStepL ? "no fuel arrived (phantom delivery)" : difference < 0 ? "short delivery" : "more fuel than declared"
        emit.append(.raise(AlertSignal(
            rule: .deliveryMismatch, station: profile.station.id, subject: w.tank,
            severity: w.gaugedL < thresholds.riseStepL || abs(difference) > thresholds.deliveryCriticalFactor * tolerance ? .critical : .warning, openedAt: w.to,
            evidence: [
                "finding": .text(finding), "bill_no": .text(w.billNo), "declared_l": .number(w.volumeL),
                "gauged_l": .number(w.gaugedL), "difference_l": .number(difference), "tolerance_l": .number(tolerance),
            ],
            seqFrom: w.chainSeq, seqTo: w.chainSeq)))
    }

    private mutating func supplier(_ d: Delivery, chainSeq: Int64, profile: StationProfile, emit: inout [DetectorEvent]) {
        let subject = "\(d.tank):supplier"
        let fp = AlertSignal.fingerprint(rule: .deliveryMismatch, station: profile.station.id, subject: subject)
        let day = profile.clock.day(of: d.startedAt)
        var problem: String?
        if let s = profile.suppliers[d.supplier] {
            if let l = s.licence {
                if l.state == .revoked { problem = "supplier \(d.supplier)'s licence \(l.number) is revoked" }
                else if let exp = l.expires, exp < day { problem = "supplier \(d.supplier)'s licence \(l.number) expired on \(exp)" }
            } else {
                problem = "supplier \(d.supplier) has no wholesale licence on record"
            }
        } else if !profile.suppliers.isEmpty {
            problem = "supplier \(d.supplier) is not a registered wholesaler"
        }
        if problem == nil, d.batch == nil { problem = "delivery carries no batch / quality-certificate number" }
        if let problem {
            mismatched.insert(subject)
            emit.append(.raise(AlertSignal(
                rule: .deliveryMismatch, station: profile.station.id, subject: subject, severity: .critical, openedAt: d.endedAt,
                evidence: ["finding": .text(problem), "bill_no": .text(d.billNo), "supplier": .text(d.supplier),
                           "batch": .text(d.batch ?? "")],
                seqFrom: chainSeq, seqTo: chainSeq)))
        } else if mismatched.remove(subject) != nil {
            emit.append(.clear(fingerprint: fp, at: d.endedAt, reason: "delivery \(d.billNo) from a licensed supplier with a batch"))
        }
    }

    /// Whether a step fell below what its sales explain by at least a glitch's height (the tracker's
    /// own measure, ``TankTracker/jump(from:to:sold:)``); never on a gauge without heights.
    static func fellUnexplained(_ s: GaugeStep, noiseMM: Double?, thresholds th: DetectionThresholds) -> Bool {
        guard let p = s.previous, s.netInflowL < 0 else { return false }
        return TankTracker.jump(from: p, to: s.current, sold: s.salesTCL) >= TankTracker.glitchThreshold(noiseMM: noiseMM, th)
    }

    private func matches(_ e: Episode, _ w: Declared, _ t: DetectionThresholds) -> Bool {
        let slack = t.deliveryMatchMinutes * 60
        return e.tank == w.tank && w.from.adding(seconds: -slack) <= e.end.at && e.start.at <= w.to.adding(seconds: slack)
    }

    private func fingerprint(_ rule: AlertRule, _ tank: String, _ p: StationProfile) -> String {
        AlertSignal.fingerprint(rule: rule, station: p.station.id, subject: tank)
    }
}

extension DeliveryRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        let (record, chainSeq, gaugeSteps, now, profile, th) = (c.entry.record, c.chainSeq, c.gaugeSteps, c.now, c.profile, c.thresholds)
        let (held, heldFalling, gauges) = (c.heldTanks, c.heldFallingTanks, c.gaugeQuality)
        c.emitting { emit in
            switch record {
            case .delivery(let d): delivery(d, chainSeq: chainSeq, profile: profile, thresholds: th, emit: &emit)
            case .tankReading:
                for s in gaugeSteps {
                    step(s, held: held, heldFalling: heldFalling, gauges: gauges, profile: profile, thresholds: th, emit: &emit)
                }
            default: break
            }
            check(now: now, held: held, heldFalling: heldFalling, gauges: gauges, profile: profile, thresholds: th, emit: &emit)
        }
    }
}
