import FuelModel

/// A sale whose average flow exceeds what the nozzle can deliver (rated maximum plus tolerance):
/// the metered volume did not come out of that nozzle in that time.
struct ImpossibleSaleRule: Hashable, Sendable, Codable {
    var counts: [String: Int] = [:]

    mutating func sale(_ s: Sale, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        guard let nozzle = profile.station.nozzle(s.nozzle) else { return }
        let seconds = s.startedAt.seconds(to: s.endedAt)
        let limit = nozzle.maxFlowLPM * (1 + thresholds.flowTolerancePercent / 100)
        let flow = seconds > 0 ? s.volumeL / (seconds / 60) : .infinity
        guard flow > limit else { return }
        counts[s.nozzle, default: 0] += 1
        emit.append(.raise(AlertSignal(
            rule: .impossibleSale, station: profile.station.id, subject: s.nozzle, severity: .critical, openedAt: s.endedAt,
            evidence: [
                "volume_l": .number(s.volumeL),
                "duration_s": .number(seconds),
                "flow_lpm": flow.isFinite ? .number(flow) : .text("infinite"),
                "max_flow_lpm": .number(nozzle.maxFlowLPM),
                "sale_ended_at": .text(s.endedAt.rfc3339),
                "occurrences": .integer(Int64(counts[s.nozzle, default: 1])),
            ],
            seqFrom: chainSeq, seqTo: chainSeq)))
    }
}

/// A unit price above the regional ceiling in force (sales and posted price changes). Clears when
/// the grade next sells, or is posted, at or below the ceiling.
struct PriceCeilingRule: Hashable, Sendable, Codable {
    var alerting: Set<String> = []

    mutating func price(
        grade: String, unitPrice: Double, at: Timestamp, what: String, chainSeq: Int64,
        profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]
    ) {
        guard let ceiling = profile.ceiling(grade: grade, at: at) else { return }
        let fp = AlertSignal.fingerprint(rule: .priceAboveCeiling, station: profile.station.id, subject: grade)
        if unitPrice > ceiling.unitPrice + thresholds.priceToleranceYuan {
            alerting.insert(grade)
            emit.append(.raise(AlertSignal(
                rule: .priceAboveCeiling, station: profile.station.id, subject: grade, severity: .warning, openedAt: at,
                evidence: [
                    "unit_price": .number(unitPrice),
                    "ceiling": .number(ceiling.unitPrice),
                    "ceiling_region": .text(ceiling.region),
                    "ceiling_from": .text(ceiling.from.description),
                    "record": .text(what),
                ],
                seqFrom: chainSeq, seqTo: chainSeq)))
        } else if alerting.remove(grade) != nil {
            emit.append(.clear(fingerprint: fp, at: at, reason: "\(what) at \(unitPrice) is within the ceiling \(ceiling.unitPrice)"))
        }
    }
}

/// A rule that looks at sales alone.
protocol SaleRule: DetectionRule {
    mutating func sale(_ s: Sale, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent])
}

extension SaleRule {
    mutating func observe(_ c: inout RuleContext) {
        guard case .sale(let s) = c.entry.record else { return }
        let (chainSeq, profile, th) = (c.chainSeq, c.profile, c.thresholds)
        c.emitting { sale(s, chainSeq: chainSeq, profile: profile, thresholds: th, emit: &$0) }
    }
}

extension ImpossibleSaleRule: SaleRule {}

extension PriceCeilingRule: DetectionRule {
    mutating func observe(_ c: inout RuleContext) {
        let (chainSeq, profile, th) = (c.chainSeq, c.profile, c.thresholds)
        switch c.entry.record {
        case .sale(let s):
            c.emitting { price(grade: s.grade, unitPrice: s.unitPrice, at: s.endedAt, what: "sale on \(s.nozzle)",
                               chainSeq: chainSeq, profile: profile, thresholds: th, emit: &$0) }
        case .priceChange(let p):
            c.emitting { price(grade: p.grade, unitPrice: p.unitPrice, at: p.effectiveAt, what: "posted price",
                               chainSeq: chainSeq, profile: profile, thresholds: th, emit: &$0) }
        default:
            break
        }
    }
}
