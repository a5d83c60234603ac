import FuelModel

/// The annual-inspection pre-check (Liaoning item 9). A station fails when an environmental or
/// planning approval is missing, its business licence, hazardous-chemicals trading licence or oil
/// retail approval certificate has expired or been revoked, it has an unremedied safety hazard, or
/// an open serious-violation case. Everything else that an inspector should look at (a licence
/// about to expire, thin data, open critical alerts, a chain that does not recompute, an open
/// minor case) makes it "needs attention".
public struct InspectionPrecheck: Sendable {
    /// A licence expiring within this many days of the as-of date needs attention.
    public var expiryWarningDays = 30
    /// Share of the year's days with data below which data coverage needs attention.
    public var minimumDataCoverage = 0.95

    public init(expiryWarningDays: Int = 30, minimumDataCoverage: Double = 0.95) {
        self.expiryWarningDays = expiryWarningDays
        self.minimumDataCoverage = minimumDataCoverage
    }

    /// The as-of date for `year` seen on `today`: the year's last day once it is over, else today.
    public static func asOf(year: Int, today: CivilDate) -> CivilDate {
        let end = CivilDate(year: year, month: 12, day: 31)
        return today < end ? today : end
    }

    /// The pre-check's verdict for `year` as of `asOf`: every rule's outcome with its reason and evidence.
    public func evaluate(station s: Station, year: Int, asOf: CivilDate, facts: InspectionFacts) -> InspectionReport {
        var findings: [InspectionFinding] = []
        for kind in InspectionDocuments.licences { findings.append(licence(kind, s.licences[kind], asOf: asOf)) }
        for kind in InspectionDocuments.approvals { findings.append(approval(kind, s.approvals[kind])) }
        findings.append(status(s.status))
        findings.append(hazards(s.hazards, asOf: asOf))
        findings.append(cases(s.cases, asOf: asOf))
        findings.append(dataCoverage(facts.daysWithData, year: year, asOf: asOf))
        findings.append(criticalAlerts(facts.unresolvedCriticalAlerts))
        findings.append(chain(facts))
        let verdict = findings.map(\.outcome).max() ?? .pass
        return InspectionReport(station: s.id, year: year, asOf: asOf, verdict: verdict, findings: findings)
    }

    static let licenceNames = [
        "business": "business licence", "hazardous_chemicals": "hazardous-chemicals trading licence",
        "retail_approval": "oil retail approval certificate",
    ]

    /// Every reason code a pre-check gives (a console's catalogue names each `reason_<key>`).
    public static let reasonKeys = [
        "licence_missing", "licence_revoked", "licence_not_yet_issued", "licence_no_expiry", "licence_expired", "licence_expiring",
        "licence_valid", "approval_granted", "approval_denied", "approval_missing", "station_active", "station_suspended",
        "station_revoked", "hazards_none", "hazards_open", "cases_serious", "cases_open", "cases_none", "coverage_not_started",
        "coverage", "coverage_below", "critical_alerts_none", "critical_alerts_open", "chain_broken", "chain_intact",
    ]

    func licence(_ kind: String, _ l: Licence?, asOf: CivilDate) -> InspectionFinding {
        let rule = "licence.\(kind)", name = Self.licenceNames[kind] ?? kind
        guard let l else {
            return InspectionFinding(rule: rule, outcome: .fail, reason: "no \(name) on record", code: ReasonCode("licence_missing", ["licence": kind]))
        }
        var ev: [String: EvidenceValue] = ["number": .text(l.number), "state": .text(l.state.rawValue)]
        if let i = l.issued { ev["issued"] = .text(i.description) }
        if let e = l.expires { ev["expires"] = .text(e.description) }
        func code(_ key: String, _ more: [String: String] = [:]) -> ReasonCode {
            ReasonCode(key, ["licence": kind, "number": l.number].merging(more) { a, _ in a })
        }
        if l.state == .revoked { return InspectionFinding(rule: rule, outcome: .fail, reason: "\(name) \(l.number) is revoked", code: code("licence_revoked"), evidence: ev) }
        if let i = l.issued, i > asOf {
            return InspectionFinding(rule: rule, outcome: .needsAttention, reason: "\(name) \(l.number) is issued only on \(i)",
                                     code: code("licence_not_yet_issued", ["issued": i.description]), evidence: ev)
        }
        guard let e = l.expires else {
            return InspectionFinding(rule: rule, outcome: .pass, reason: "\(name) \(l.number) is valid without an expiry date", code: code("licence_no_expiry"), evidence: ev)
        }
        let days = Int(e.daysSinceEpoch - asOf.daysSinceEpoch)
        ev["days_to_expiry"] = .integer(Int64(days))
        if days < 0 {
            return InspectionFinding(rule: rule, outcome: .fail, reason: "\(name) \(l.number) expired on \(e)", code: code("licence_expired", ["expires": e.description]), evidence: ev)
        }
        if days <= expiryWarningDays {
            return InspectionFinding(rule: rule, outcome: .needsAttention, reason: "\(name) \(l.number) expires on \(e), in \(days) days",
                                     code: code("licence_expiring", ["expires": e.description, "days": "\(days)"]), evidence: ev)
        }
        return InspectionFinding(rule: rule, outcome: .pass, reason: "\(name) \(l.number) valid until \(e)", code: code("licence_valid", ["expires": e.description]), evidence: ev)
    }

    func approval(_ kind: String, _ granted: Bool?) -> InspectionFinding {
        let rule = "approval.\(kind)", p = ["approval": kind]
        switch granted {
        case true?: return InspectionFinding(rule: rule, outcome: .pass, reason: "\(kind) approval on record", code: ReasonCode("approval_granted", p), evidence: ["granted": .text("true")])
        case false?: return InspectionFinding(rule: rule, outcome: .fail, reason: "\(kind) approval is not granted", code: ReasonCode("approval_denied", p), evidence: ["granted": .text("false")])
        case nil: return InspectionFinding(rule: rule, outcome: .fail, reason: "no \(kind) approval on record", code: ReasonCode("approval_missing", p))
        }
    }

    func status(_ st: StationStatus) -> InspectionFinding {
        let ev: [String: EvidenceValue] = ["status": .text(st.rawValue)]
        let code = ReasonCode("station_\(st.rawValue)")
        switch st {
        case .active: return InspectionFinding(rule: "station.status", outcome: .pass, reason: "station is active", code: code, evidence: ev)
        case .suspended: return InspectionFinding(rule: "station.status", outcome: .needsAttention, reason: "station is suspended", code: code, evidence: ev)
        case .revoked: return InspectionFinding(rule: "station.status", outcome: .fail, reason: "station's operation is revoked", code: code, evidence: ev)
        }
    }

    func hazards(_ all: [SafetyHazard], asOf: CivilDate) -> InspectionFinding {
        let open = all.filter { $0.isOpen(on: asOf) }
        guard !open.isEmpty else {
            return InspectionFinding(rule: "safety_hazards", outcome: .pass, reason: "no unremedied safety hazard", code: ReasonCode("hazards_none"),
                                     evidence: ["recorded": .integer(Int64(all.count))])
        }
        let items = open.map { ($0.id, $0.opened, $0.description) }
        return InspectionFinding(
            rule: "safety_hazards", outcome: .fail, reason: "\(open.count) unremedied safety hazard\(open.count == 1 ? "" : "s"): \(Self.list(items))",
            code: ReasonCode("hazards_open", ["count": "\(open.count)", "list": Self.list(items, word: "")]),
            evidence: ["open": .text(open.map(\.id).joined(separator: ",")), "oldest_opened": .text(open.map(\.opened).min()!.description)])
    }

    /// Ids with their opening day and description: `H-1 (opened 2026-03-01: …); H-2 (…)`; without
    /// the word `opened` for a catalogue's value.
    static func list(_ items: [(id: String, opened: CivilDate, description: String)], word: String = "opened ") -> String {
        items.map { "\($0.id) (\(word)\($0.opened)\($0.description.isEmpty ? "" : ": \($0.description)"))" }.joined(separator: "; ")
    }

    func cases(_ all: [ViolationCase], asOf: CivilDate) -> InspectionFinding {
        let open = all.filter { $0.isOpen(on: asOf) }
        let serious = open.filter(\.serious), minor = open.filter { !$0.serious }
        var ev: [String: EvidenceValue] = ["recorded": .integer(Int64(all.count))]
        if !serious.isEmpty { ev["open_serious"] = .text(serious.map(\.id).joined(separator: ",")) }
        if !minor.isEmpty { ev["open_other"] = .text(minor.map(\.id).joined(separator: ",")) }
        if !serious.isEmpty {
            let items = serious.map { ($0.id, $0.opened, $0.description) }
            return InspectionFinding(rule: "violation_cases", outcome: .fail,
                                     reason: "open serious-violation case\(serious.count == 1 ? "" : "s"): \(Self.list(items))",
                                     code: ReasonCode("cases_serious", ["count": "\(serious.count)", "list": Self.list(items, word: "")]),
                                     evidence: ev)
        }
        if !minor.isEmpty {
            return InspectionFinding(rule: "violation_cases", outcome: .needsAttention,
                                     reason: "\(minor.count) open case\(minor.count == 1 ? "" : "s") (not serious): \(minor.map(\.id).joined(separator: ", "))",
                                     code: ReasonCode("cases_open", ["count": "\(minor.count)", "list": minor.map(\.id).joined(separator: ", ")]), evidence: ev)
        }
        return InspectionFinding(rule: "violation_cases", outcome: .pass, reason: "no open violation case", code: ReasonCode("cases_none"), evidence: ev)
    }

    func dataCoverage(_ days: Int, year: Int, asOf: CivilDate) -> InspectionFinding {
        let start = CivilDate(year: year, month: 1, day: 1)
        let expected = max(0, Int(asOf.daysSinceEpoch - start.daysSinceEpoch) + 1)
        var ev: [String: EvidenceValue] = ["days_with_data": .integer(Int64(days)), "days_in_period": .integer(Int64(expected))]
        guard expected > 0 else {
            return InspectionFinding(rule: "data_coverage", outcome: .pass, reason: "the year has not started", code: ReasonCode("coverage_not_started"), evidence: ev)
        }
        let share = Double(days) / Double(expected)
        ev["coverage"] = .number((share * 10_000).rounded() / 10_000)
        let text = "data on \(days) of \(expected) days (\(Self.percent(share)) %) from \(start) to \(asOf)"
        let p = ["days": "\(days)", "expected": "\(expected)", "percent": Self.percent(share), "from": start.description, "to": asOf.description,
                 "minimum": Self.percent(minimumDataCoverage)]
        if share < minimumDataCoverage {
            return InspectionFinding(rule: "data_coverage", outcome: .needsAttention,
                                     reason: "\(text), below \(Self.percent(minimumDataCoverage)) %", code: ReasonCode("coverage_below", p), evidence: ev)
        }
        return InspectionFinding(rule: "data_coverage", outcome: .pass, reason: text, code: ReasonCode("coverage", p), evidence: ev)
    }

    /// A share as a percentage with one decimal (FuelDetect stays free of Foundation's formatting).
    static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    func criticalAlerts(_ ids: [Int64]) -> InspectionFinding {
        guard !ids.isEmpty else {
            return InspectionFinding(rule: "critical_alerts", outcome: .pass, reason: "no unresolved critical alert", code: ReasonCode("critical_alerts_none"))
        }
        return InspectionFinding(
            rule: "critical_alerts", outcome: .needsAttention,
            reason: "\(ids.count) unresolved critical alert\(ids.count == 1 ? "" : "s")", code: ReasonCode("critical_alerts_open", ["count": "\(ids.count)"]),
            evidence: ["alert_ids": .text(ids.map(String.init).joined(separator: ",")), "count": .integer(Int64(ids.count))])
    }

    func chain(_ f: InspectionFacts) -> InspectionFinding {
        var ev: [String: EvidenceValue] = ["records_checked": .integer(f.chainRecordsChecked)]
        if let b = f.chainBreak {
            ev["break"] = .text(b)
            return InspectionFinding(rule: "chain", outcome: .needsAttention,
                                     reason: "the station's records no longer recompute to their chain (\(b)): refer for investigation",
                                     code: ReasonCode("chain_broken", ["break": b]), evidence: ev)
        }
        return InspectionFinding(rule: "chain", outcome: .pass, reason: "\(f.chainRecordsChecked) records recompute to the chain head",
                                 code: ReasonCode("chain_intact", ["count": "\(f.chainRecordsChecked)"]), evidence: ev)
    }
}
