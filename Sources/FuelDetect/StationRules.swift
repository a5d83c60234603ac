import FuelModel

/// Sales that start outside the station's licensed opening hours (local time; a fill begun just
/// before closing is legal, and `afterHoursGraceMinutes` allow for the POS clock) or while it is suspended or revoked. Clears once a later local day
/// has gone by with sales only inside the hours.
struct AfterHoursRule: Hashable, Sendable, Codable {
    var lastViolationDay: CivilDate?
    var count = 0

    mutating func sale(_ s: Sale, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        let st = profile.station
        let minute = profile.clock.minuteOfDay(s.startedAt)
        let day = profile.clock.day(of: s.startedAt)
        let grace = Int(thresholds.afterHoursGraceMinutes.rounded())
        let outside = ![minute, minute - grace, minute + grace].contains { st.hours.isOpen(minuteOfDay: ($0 + 1440) % 1440) }
        let closed = st.status != .active
        let fp = AlertSignal.fingerprint(rule: .afterHoursSale, station: st.id, subject: "station")
        guard outside || closed else {
            if let last = lastViolationDay, day > last.adding(days: 1) {
                lastViolationDay = nil
                count = 0
                emit.append(.clear(fingerprint: fp, at: s.endedAt, reason: "sales since \(last.adding(days: 1)) are within licensed hours"))
            }
            return
        }
        lastViolationDay = day
        count += 1
        let local = "\(pad2(minute / 60)):\(pad2(minute % 60))"
        emit.append(.raise(AlertSignal(
            rule: .afterHoursSale, station: st.id, subject: "station", severity: closed ? .critical : .warning, openedAt: s.endedAt,
            evidence: [
                "reason": .text(closed ? "station is \(st.status.rawValue)" : "outside licensed hours \(st.hours)"),
                "sale_started_local": .text(local), "sale_started_at": .text(s.startedAt.rfc3339), "nozzle": .text(s.nozzle),
                "volume_l": .number(s.volumeL), "occurrences": .integer(Int64(count)),
            ],
            seqFrom: chainSeq, seqTo: chainSeq)))
    }
}

/// Tank safety from gauge readings: water above a height, level above the overfill share of
/// capacity, volume above the calibrated capacity (a hidden or re-strapped tank). Each condition is
/// its own alert (subject `T1:water`, `T1:level`, `T1:capacity`) and clears on a reading without it.
///
/// A delivery fills a tank to its highest level at its end, and a busy tank sells from it until the
/// gauge's next reading — 15 minutes later on many gauges: a tank filled to 97 % and read at 94.97 %
/// (seed 151, mm-15m-24h) was an overfill no reading showed. So the first reading after a delivery
/// also judges the level the delivery left: the reading plus what the tank's nozzles sold since its end.
struct TankSafetyRule: Hashable, Sendable, Codable {
    var alerting: Set<String> = []
    /// Per tank, the latest delivery's end and the litres its nozzles sold after it, until the tank's
    /// first reading after that end (nil: none yet, or a state saved before it was kept).
    var afterDelivery: [String: AfterDelivery]?

    struct AfterDelivery: Hashable, Sendable, Codable {
        var endedAt: Timestamp
        var soldL: Double
    }

    /// A reading later than this after the delivery's end no longer speaks for the level it left (another
    /// delivery may have come between).
    static let deliveryReach = 2 * 3600.0

    mutating func delivery(_ d: Delivery) {
        var tanks = afterDelivery ?? [:]
        tanks[d.tank] = AfterDelivery(endedAt: d.endedAt, soldL: 0)
        afterDelivery = tanks
    }

    mutating func sale(_ s: Sale, tank: String) {
        guard var a = afterDelivery?[tank], s.endedAt > a.endedAt else { return }
        a.soldL += s.volumeL
        afterDelivery?[tank] = a
    }

    /// The share of capacity the last delivery left, from this reading (its first after the delivery's end).
    mutating func deliveredLevel(_ r: TankReading, capacityL: Double) -> (percent: Double, soldL: Double)? {
        guard let a = afterDelivery?[r.tank], r.at > a.endedAt else { return nil }
        afterDelivery?[r.tank] = nil
        guard a.endedAt.seconds(to: r.at) <= Self.deliveryReach else { return nil }
        return ((r.volumeL + a.soldL) / capacityL * 100, a.soldL)
    }

    mutating func reading(_ r: TankReading, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        guard let tank = profile.station.tank(r.tank) else { return }
        let share = r.volumeL / tank.capacityL * 100
        let delivered = deliveredLevel(r, capacityL: tank.capacityL)
        let top = max(share, delivered?.percent ?? share)
        var level: Evidence = ["volume_l": .number(r.volumeL), "capacity_l": .number(tank.capacityL), "percent": .number(share)]
        if let delivered, delivered.percent > share {
            level["delivered_percent"] = .number(delivered.percent)
            level["sold_since_delivery_l"] = .number(delivered.soldL)
        }
        let conditions: [(String, Bool, Severity, Evidence)] = [
            ("water", (r.waterMM ?? 0) > thresholds.waterMaxMM, .warning,
             ["water_mm": .number(r.waterMM ?? 0), "limit_mm": .number(thresholds.waterMaxMM)]),
            ("level", top > thresholds.overfillPercent && share <= thresholds.overCapacityPercent, .warning, level),
            ("capacity", share > thresholds.overCapacityPercent, .critical,
             ["volume_l": .number(r.volumeL), "capacity_l": .number(tank.capacityL), "percent": .number(share)]),
        ]
        for (what, holds, severity, evidence) in conditions {
            let subject = "\(r.tank):\(what)"
            let fp = AlertSignal.fingerprint(rule: .tankSafety, station: profile.station.id, subject: subject)
            if holds {
                guard alerting.insert(subject).inserted else { continue }  // one raise per episode
                var e = evidence
                e["reading_at"] = .text(r.at.rfc3339)
                emit.append(.raise(AlertSignal(
                    rule: .tankSafety, station: profile.station.id, subject: subject, severity: severity, openedAt: r.at,
                    evidence: e, seqFrom: chainSeq, seqTo: chainSeq)))
            } else if alerting.remove(subject) != nil {
                emit.append(.clear(fingerprint: fp, at: r.at, reason: "\(what) back within limits"))
            }
        }
    }
}

/// Electronic totalizers that disagree with the sales: a sale's totalizer span unlike its volume,
/// a totalizer that went backwards, or one that jumped (fuel dispensed without a sale record).
/// Clears after 20 consistent sales on the nozzle.
struct TotalizerRule: Hashable, Sendable, Codable {
    var lastEnd: [String: Double] = [:]
    var cleanSince: [String: Int] = [:]
    var alerting: Set<String> = []

    mutating func sale(_ s: Sale, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        guard let start = s.totalizerStartL, let end = s.totalizerEndL else { return }
        let tolerance = thresholds.totalizerToleranceL + s.volumeL * thresholds.totalizerTolerancePercent / 100
        var problem: (String, Evidence)?
        if abs((end - start) - s.volumeL) > tolerance {
            problem = ("totalizer span differs from the sale volume",
                       ["totalizer_span_l": .number(end - start), "volume_l": .number(s.volumeL)])
        } else if let previous = lastEnd[s.nozzle], start < previous - tolerance {
            problem = ("totalizer went backwards", ["previous_end_l": .number(previous), "start_l": .number(start)])
        } else if let previous = lastEnd[s.nozzle], start > previous + tolerance {
            problem = ("totalizer jumped: fuel dispensed without a sale record",
                       ["previous_end_l": .number(previous), "start_l": .number(start), "unrecorded_l": .number(start - previous)])
        }
        lastEnd[s.nozzle] = end  // follow the totalizer as reported, so one fault is one finding
        let fp = AlertSignal.fingerprint(rule: .totalizerAnomaly, station: profile.station.id, subject: s.nozzle)
        if let (what, evidence) = problem {
            cleanSince[s.nozzle] = 0
            alerting.insert(s.nozzle)
            var e = evidence
            e["finding"] = .text(what)
            e["sale_ended_at"] = .text(s.endedAt.rfc3339)
            emit.append(.raise(AlertSignal(
                rule: .totalizerAnomaly, station: profile.station.id, subject: s.nozzle, severity: .critical, openedAt: s.endedAt,
                evidence: e, seqFrom: chainSeq, seqTo: chainSeq)))
        } else if alerting.contains(s.nozzle) {
            cleanSince[s.nozzle, default: 0] += 1
            if cleanSince[s.nozzle, default: 0] >= thresholds.totalizerClearSales {
                alerting.remove(s.nozzle)
                emit.append(.clear(fingerprint: fp, at: s.endedAt,
                                   reason: "\(thresholds.totalizerClearSales) consecutive sales consistent with the totalizer"))
            }
        }
    }
}

/// Feeds that stop: a tank whose readings cease for `readingGapMinutes` of the station's data
/// time (its other records go on), and devices reporting offline. Clears when data resumes. When
/// every tank of a station with several falls silent at once, the collector or the gauge console is
/// down, not each probe: one alert on subject `gauges` says so, and clears at the first reading;
/// the other tanks then have a full gap to report again before each is flagged on its own.
struct TelemetryGapRule: Hashable, Sendable, Codable {
    static let allGauges = "gauges"

    /// Per tank, when its silence is counted from: its newest reading, or the end of a station-wide
    /// silence that came after it.
    var lastReading: [String: Timestamp] = [:]
    var lastReadingSeq: [String: Int64] = [:]
    var alerting: Set<String> = []
    /// Per tank, when its newest reading was taken — what an alert reports, whatever its silence is
    /// counted from (nil: a state saved before it was kept; then the count's start stands in).
    var readAt: [String: Timestamp]?

    mutating func reading(_ r: TankReading, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds,
                          quality: [String: GaugeQuality], emit: inout [DetectorEvent]) {
        if lastReading.count > 1, !alerting.contains(Self.allGauges), let latest = lastReading.values.max(),
           let interval = quality[r.tank]?.intervalSeconds, case let span = thresholds.stationSilenceIntervals * interval,
           latest.seconds(to: r.at) > span {
            // No tank read for a while (an outage too short, or too quiet in sales, to be flagged as one):
            // every tank that was reading when it began has a full gap from now to report again, as after
            // a flagged outage. One already silent before it (a dead probe) keeps its silence.
            for (tank, last) in lastReading where last.seconds(to: latest) <= span { lastReading[tank] = max(last, r.at) }
        }
        lastReading[r.tank] = max(lastReading[r.tank] ?? r.at, r.at)
        readAt = readAt ?? lastReading
        readAt![r.tank] = max(readAt![r.tank] ?? r.at, r.at)
        lastReadingSeq[r.tank] = chainSeq
        if alerting.remove(Self.allGauges) != nil {
            for tank in lastReading.keys { lastReading[tank] = max(lastReading[tank]!, r.at) }
            emit.append(.clear(fingerprint: AlertSignal.fingerprint(rule: .telemetryGap, station: profile.station.id, subject: Self.allGauges),
                               at: r.at, reason: "readings resumed"))
        }
        if alerting.remove("tank \(r.tank)") != nil {
            emit.append(.clear(fingerprint: AlertSignal.fingerprint(rule: .telemetryGap, station: profile.station.id, subject: "tank \(r.tank)"),
                               at: r.at, reason: "readings resumed"))
        }
    }

    mutating func device(_ d: DeviceStatus, chainSeq: Int64, profile: StationProfile, emit: inout [DetectorEvent]) {
        let subject = "device \(d.device)"
        let fp = AlertSignal.fingerprint(rule: .telemetryGap, station: profile.station.id, subject: subject)
        if d.state == .offline {
            guard alerting.insert(subject).inserted else { return }
            emit.append(.raise(AlertSignal(
                rule: .telemetryGap, station: profile.station.id, subject: subject, severity: .warning, openedAt: d.at,
                evidence: ["state": .text(d.state.rawValue), "codes": .text(d.codes.joined(separator: ","))],
                seqFrom: chainSeq, seqTo: chainSeq)))
        } else if d.state == .online, alerting.remove(subject) != nil {
            emit.append(.clear(fingerprint: fp, at: d.at, reason: "device back online"))
        }
    }

    /// Checks every tank against the station's data clock: silent longer than `readingGapMinutes`
    /// and `readingGapIntervals` of the tank's own reading interval (a gauge read every 30 minutes
    /// that misses one reading is not offline).
    mutating func check(now: Timestamp, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds,
                        quality: [String: GaugeQuality] = [:], emit: inout [DetectorEvent]) {
        guard !alerting.contains(Self.allGauges) else { return }
        let silent = lastReading.filter { tank, last in
            last.seconds(to: now) > thresholds.readingSilence(intervalSeconds: quality[tank]?.intervalSeconds, lossShare: quality[tank]?.lossShare)
        }
        if lastReading.count > 1, silent.count == lastReading.count, !silent.keys.contains(where: { alerting.contains("tank \($0)") }) {
            alerting.insert(Self.allGauges)
            let last = silent.keys.map { readAt?[$0] ?? lastReading[$0]! }.max()!
            let lastSeq = lastReadingSeq.values.max() ?? chainSeq
            emit.append(.raise(AlertSignal(
                rule: .telemetryGap, station: profile.station.id, subject: Self.allGauges, severity: .warning, openedAt: now,
                evidence: ["last_reading_at": .text(last.rfc3339), "silent_minutes": .number(last.seconds(to: now) / 60),
                           "tanks": .text(silent.keys.sorted().joined(separator: ","))],
                seqFrom: min(lastSeq, chainSeq), seqTo: chainSeq)))
            return
        }
        for (tank, counted) in silent {
            let subject = "tank \(tank)"
            guard alerting.insert(subject).inserted else { continue }
            // The tank's own last reading; where its silence was counted from the end of a station-wide
            // one, that too (the minutes before it did not count against the probe).
            let last = readAt?[tank] ?? counted
            var evidence: Evidence = ["last_reading_at": .text(last.rfc3339), "silent_minutes": .number(last.seconds(to: now) / 60)]
            if counted > last { evidence["counted_from"] = .text(counted.rfc3339) }
            emit.append(.raise(AlertSignal(
                rule: .telemetryGap, station: profile.station.id, subject: subject, severity: .warning, openedAt: now,
                evidence: evidence, seqFrom: lastReadingSeq[tank] ?? chainSeq, seqTo: chainSeq)))
        }
    }
}

/// A station clock running ahead: records stamped later than the daemon received them (data
/// cannot come from the future; being late is ordinary buffering, so only ahead counts). Three
/// records in a row ahead by more than `clockAheadSeconds` raise `telemetry_gap` on subject
/// `clock`; a record within half of it clears.
struct ClockSkewRule: Hashable, Sendable, Codable {
    var ahead = 0
    var alerting = false

    mutating func observe(_ entry: LedgerEntry, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        guard let received = entry.receivedAt else { return }
        let skew = received.seconds(to: entry.record.at)
        let fp = AlertSignal.fingerprint(rule: .telemetryGap, station: profile.station.id, subject: "clock")
        if skew > thresholds.clockAheadSeconds {
            ahead += 1
            guard ahead >= thresholds.clockAheadRecords, !alerting else { return }
            alerting = true
            emit.append(.raise(AlertSignal(
                rule: .telemetryGap, station: profile.station.id, subject: "clock", severity: .warning, openedAt: entry.record.at,
                evidence: [
                    "finding": .text("records stamped ahead of the time they were received: the station's clock is fast"),
                    "ahead_seconds": .number(skew), "record_at": .text(entry.record.at.rfc3339), "received_at": .text(received.rfc3339),
                    "source": .text(entry.source.rawValue), "limit_seconds": .number(thresholds.clockAheadSeconds),
                ],
                seqFrom: entry.chainSeq, seqTo: entry.chainSeq)))
        } else {
            ahead = 0
            if alerting, skew < thresholds.clockAheadSeconds * thresholds.clockClearShare {
                alerting = false
                emit.append(.clear(fingerprint: fp, at: entry.record.at, reason: "records no longer stamped ahead of their receipt"))
            }
        }
    }
}

private func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

extension AfterHoursRule: SaleRule {}

extension TankSafetyRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        switch c.entry.record {
        case .tankReading(let r):
            let (chainSeq, profile, th) = (c.chainSeq, c.profile, c.thresholds)
            c.emitting { reading(r, chainSeq: chainSeq, profile: profile, thresholds: th, emit: &$0) }
        case .delivery(let d):
            delivery(d)
        case .sale(let s):
            if let tank = c.saleTank?.tank { sale(s, tank: tank) }
        default:
            break
        }
    }
}

extension TotalizerRule: SaleRule {}

extension TelemetryGapRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        let (record, chainSeq, profile, th, now) = (c.entry.record, c.chainSeq, c.profile, c.thresholds, c.now)
        let quality = c.gaugeQuality
        c.emitting { emit in
            switch record {
            case .tankReading(let r): reading(r, chainSeq: chainSeq, profile: profile, thresholds: th, quality: quality, emit: &emit)
            case .deviceStatus(let d): device(d, chainSeq: chainSeq, profile: profile, emit: &emit)
            default: break
            }
            check(now: now, chainSeq: chainSeq, profile: profile, thresholds: th, quality: quality, emit: &emit)
        }
    }
}

extension ClockSkewRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        let (e, profile, th) = (c.entry, c.profile, c.thresholds)
        c.emitting { observe(e, profile: profile, thresholds: th, emit: &$0) }
    }
}
