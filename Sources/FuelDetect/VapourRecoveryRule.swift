import FuelModel

/// Vapour recovery, per the online-monitoring practice for GB 20952-2020, and its falsification:
/// - per nozzle and local day, fills of at least `alMinFillL` (volume from the nozzle's sale just
///   before the reading; unknown counts) with A/L in `alMin…alMax`: a nozzle-day with at least
///   `alMinFills` fills and fewer than `alGoodShare` good ones is a warning day; `alWarningDays`
///   in a row raise `vapour_recovery` on the nozzle, a good day clears it;
/// - per tank and day, pressure outside `pressureMinPa…pressureMaxPa` in more than
///   `pressureBadShare` of the readings is a bad day; `pressureBadDays` in a row raise
///   `vapour_recovery` on `T1:pressure`, a good day clears it;
/// - a nozzle-day of at least `regularMinFills` A/L values with a standard deviation below
///   `regularMaxSD` is too regular for a real sensor: `falsified_telemetry` on the nozzle, cleared by a
///   day with natural spread.
/// Days are judged when the first reading of a later local day arrives.
struct VapourRecoveryRule: Hashable, Sendable, Codable {
    struct NozzleDay: Hashable, Sendable, Codable {
        var fills = 0
        var good = 0
        var sum = 0.0
        var sumSquares = 0.0
    }
    struct TankDay: Hashable, Sendable, Codable {
        var readings = 0
        var outside = 0
    }
    var day: CivilDate?
    var nozzles: [String: NozzleDay] = [:]
    var tanks: [String: TankDay] = [:]
    var warningStreak: [String: Int] = [:]
    var pressureStreak: [String: Int] = [:]
    var alerting: Set<String> = []
    var falsified: Set<String> = []
    var lastSale: [String: [Double]] = [:]  // nozzle → [ended µs, volume]
    var lastSeq: Int64 = 0

    mutating func sale(_ s: Sale) {
        lastSale[s.nozzle] = [Double(s.endedAt.microseconds), s.volumeL]
    }

    mutating func reading(_ r: VapourReading, chainSeq: Int64, profile: StationProfile, thresholds th: DetectionThresholds,
                          emit: inout [DetectorEvent]) {
        let today = profile.clock.day(of: r.at)
        if let d = day, today > d { close(d, at: r.at, profile: profile, thresholds: th, emit: &emit) }
        if day.map({ today > $0 }) ?? true { day = today }
        lastSeq = chainSeq
        if let nozzle = r.nozzle, let al = r.alRatio {
            if let last = lastSale[nozzle], let volume = last.last, Double(r.at.microseconds) - last[0] <= th.alSaleMatchSeconds * 1e6,
               volume < th.alMinFillL {
                return  // a small fill does not qualify
            }
            var d = nozzles[nozzle] ?? NozzleDay()
            d.fills += 1
            if al >= th.alMin && al <= th.alMax { d.good += 1 }
            // To a millionth, as a sum of ratios read to a thousandth is: repeated adding leaves the
            // last bits of a binary fraction that the stored state would spell out in full.
            d.sum = ((d.sum + al) * 1e6).rounded() / 1e6
            d.sumSquares = ((d.sumSquares + al * al) * 1e6).rounded() / 1e6
            nozzles[nozzle] = d
        }
        if let tank = r.tank, let p = r.pressurePa {
            var d = tanks[tank] ?? TankDay()
            d.readings += 1
            if p < th.pressureMinPa || p > th.pressureMaxPa { d.outside += 1 }
            tanks[tank] = d
        }
    }

    private mutating func close(_ d: CivilDate, at: Timestamp, profile: StationProfile, thresholds th: DetectionThresholds,
                                emit: inout [DetectorEvent]) {
        let station = profile.station.id
        for (nozzle, n) in nozzles.sorted(by: { $0.key < $1.key }) {
            if n.fills >= th.alMinFills {
                let share = Double(n.good) / Double(n.fills)
                let fp = AlertSignal.fingerprint(rule: .vapourRecovery, station: station, subject: nozzle)
                if share < th.alGoodShare {
                    warningStreak[nozzle, default: 0] += 1
                    if warningStreak[nozzle, default: 0] >= th.alWarningDays {
                        alerting.insert(nozzle)
                        emit.append(.raise(AlertSignal(
                            rule: .vapourRecovery, station: station, subject: nozzle, severity: .warning, openedAt: at,
                            evidence: [
                                "finding": .text("A/L out of \(JSONText.number(th.alMin))–\(JSONText.number(th.alMax)) on too many fills"),
                                "warning_days": .integer(Int64(warningStreak[nozzle, default: 0])), "day": .text(d.description),
                                "qualifying_fills": .integer(Int64(n.fills)), "good_share": .number(share),
                                "mean_al": .number(n.sum / Double(n.fills)),
                            ],
                            seqFrom: lastSeq, seqTo: lastSeq)))
                    }
                } else {
                    warningStreak[nozzle] = 0
                    if alerting.remove(nozzle) != nil {
                        emit.append(.clear(fingerprint: fp, at: at, reason: "\(d): \(Int((share * 100).rounded()))% of fills within A/L range"))
                    }
                }
            }
            if n.fills >= th.regularMinFills {
                let mean = n.sum / Double(n.fills)
                let sd = max(0, n.sumSquares / Double(n.fills) - mean * mean).squareRoot()
                let fp = AlertSignal.fingerprint(rule: .falsifiedTelemetry, station: station, subject: nozzle)
                if sd < th.regularMaxSD {
                    falsified.insert(nozzle)
                    emit.append(.raise(AlertSignal(
                        rule: .falsifiedTelemetry, station: station, subject: nozzle, severity: .critical, openedAt: at,
                        evidence: [
                            "finding": .text("A/L readings too regular for a real sensor"), "day": .text(d.description),
                            "fills": .integer(Int64(n.fills)), "mean_al": .number(mean), "sd_al": .number(sd),
                            "min_natural_sd": .number(th.regularMaxSD),
                        ],
                        seqFrom: lastSeq, seqTo: lastSeq)))
                } else if sd >= th.regularClearFactor * th.regularMaxSD, falsified.remove(nozzle) != nil {
                    emit.append(.clear(fingerprint: fp, at: at, reason: "\(d): A/L readings show natural spread"))
                }
            }
        }
        for (tank, t) in tanks.sorted(by: { $0.key < $1.key }) where t.readings >= 12 {
            let subject = "\(tank):pressure"
            let share = Double(t.outside) / Double(t.readings)
            let fp = AlertSignal.fingerprint(rule: .vapourRecovery, station: station, subject: subject)
            if share > th.pressureBadShare {
                pressureStreak[tank, default: 0] += 1
                if pressureStreak[tank, default: 0] >= th.pressureBadDays {
                    alerting.insert(subject)
                    emit.append(.raise(AlertSignal(
                        rule: .vapourRecovery, station: station, subject: subject, severity: .warning, openedAt: at,
                        evidence: [
                            "finding": .text("tank pressure outside \(JSONText.number(th.pressureMinPa))…\(JSONText.number(th.pressureMaxPa)) Pa"),
                            "bad_days": .integer(Int64(pressureStreak[tank, default: 0])), "day": .text(d.description),
                            "readings": .integer(Int64(t.readings)), "outside_share": .number(share),
                        ],
                        seqFrom: lastSeq, seqTo: lastSeq)))
                }
            } else {
                pressureStreak[tank] = 0
                if alerting.remove(subject) != nil {
                    emit.append(.clear(fingerprint: fp, at: at, reason: "\(d): tank pressure within range"))
                }
            }
        }
        nozzles = [:]
        tanks = [:]
    }
}

extension VapourRecoveryRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        switch c.entry.record {
        case .sale(let s):
            sale(s)
        case .vapourReading(let v):
            let (chainSeq, profile, th) = (c.chainSeq, c.profile, c.thresholds)
            c.emitting { reading(v, chainSeq: chainSeq, profile: profile, thresholds: th, emit: &$0) }
        default:
            break
        }
    }
}
