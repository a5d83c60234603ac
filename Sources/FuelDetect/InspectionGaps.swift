import FuelModel

/// One gap an inspection would find.
public struct InspectionGap: Sendable, Hashable, Codable {
    /// The kinds of gap the list names (the `kind` filter of `GET /v1/inspection-gaps`).
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case licenceMissing = "licence_missing"
        case licenceRevoked = "licence_revoked"
        case licenceExpired = "licence_expired"
        case licenceExpiring = "licence_expiring"
        case approvalMissing = "approval_missing"
        case hazardOpen = "hazard_open"
        case caseOpen = "case_open"
        case silent
        case daysWithoutData = "days_without_data"
        case alertOverdue = "alert_overdue"
        case inspectionOverdue = "inspection_overdue"
    }
    public var station: String
    public var city: String
    public var kind: Kind
    /// What it concerns: a licence kind, hazard or case id, alert id.
    public var subject: String
    public var detail: String
    /// The detail as a key and values for a catalogue.
    public var code: ReasonCode?
    /// For expiring licences: the 30/60/90-day window it falls in.
    public var withinDays: Int?
    /// A date the gap is about (expiry, opening, last record, last inspection).
    public var date: CivilDate?
    /// A count the gap is about (days, hours).
    public var count: Int?

    enum CodingKeys: String, CodingKey {
        case station, city, kind, subject, detail, code = "detail_code", withinDays = "within_days", date, count
    }
}

/// Lists inspection gaps province-wide (design: licences expired or expiring in 30/60/90 days,
/// missing approvals, open hazards and cases, silent stations, days without data, alerts left open
/// past their deadline, overdue inspections).
public struct InspectionGapFinder: Sendable {
    public var silentDays: Int
    public var inspectionIntervalDays: Int
    public static let expiryWindows = [30, 60, 90]

    public init(silentDays: Int = 3, inspectionIntervalDays: Int = 365) {
        self.silentDays = silentDays
        self.inspectionIntervalDays = inspectionIntervalDays
    }

    /// Every gap of one station today, from its registry entry and what the store knows of it.
    public func gaps(station s: Station, facts f: StationGapFacts, today: CivilDate, now: Timestamp) -> [InspectionGap] {
        var out: [InspectionGap] = []
        func add(_ kind: InspectionGap.Kind, _ subject: String, _ detail: String, _ code: ReasonCode, within: Int? = nil, date: CivilDate? = nil, count: Int? = nil) {
            out.append(InspectionGap(station: s.id, city: s.city, kind: kind, subject: subject, detail: detail, code: code, withinDays: within, date: date, count: count))
        }
        for kind in InspectionDocuments.licences {
            guard let l = s.licences[kind] else {
                add(.licenceMissing, kind, "no \(kind) licence on record", ReasonCode("licence_missing", ["licence": kind]))
                continue
            }
            if l.state == .revoked {
                add(.licenceRevoked, kind, "\(kind) licence \(l.number) is revoked", ReasonCode("licence_revoked", ["licence": kind, "number": l.number]), date: l.expires)
                continue
            }
            guard let e = l.expires else { continue }
            let days = Int(e.daysSinceEpoch - today.daysSinceEpoch)
            let p = ["licence": kind, "number": l.number, "expires": e.description, "days": "\(abs(days))"]
            if days < 0 {
                add(.licenceExpired, kind, "\(kind) licence \(l.number) expired on \(e), \(-days) days ago", ReasonCode("licence_expired_ago", p), date: e, count: -days)
            } else if let window = Self.expiryWindows.first(where: { days <= $0 }) {
                add(.licenceExpiring, kind, "\(kind) licence \(l.number) expires on \(e), in \(days) days", ReasonCode("licence_expiring", p), within: window, date: e, count: days)
            }
        }
        for kind in InspectionDocuments.approvals where s.approvals[kind] != true {
            let denied = s.approvals[kind] == false
            add(.approvalMissing, kind, denied ? "\(kind) approval is not granted" : "no \(kind) approval on record",
                ReasonCode(denied ? "approval_denied" : "approval_missing", ["approval": kind]))
        }
        for h in s.hazards where h.isOpen(on: today) {
            let age = Int(today.daysSinceEpoch - h.opened.daysSinceEpoch)
            add(.hazardOpen, h.id, "safety hazard \(h.id) open for \(age) days\(h.description.isEmpty ? "" : ": \(h.description)")",
                ReasonCode("hazard_open", ["id": h.id, "days": "\(age)", "description": h.description]), date: h.opened, count: age)
        }
        for c in s.cases where c.isOpen(on: today) {
            let age = Int(today.daysSinceEpoch - c.opened.daysSinceEpoch)
            add(.caseOpen, c.id, "\(c.serious ? "serious " : "")violation case \(c.id) open for \(age) days\(c.description.isEmpty ? "" : ": \(c.description)")",
                ReasonCode(c.serious ? "case_open_serious" : "case_open", ["id": c.id, "days": "\(age)", "description": c.description]), date: c.opened, count: age)
        }
        // Reporting obligations apply to operating stations only.
        guard s.status == .active else { return out }
        if let last = f.lastReceived {
            let days = Int(last.seconds(to: now) / 86_400)
            if days >= silentDays {
                add(.silent, "feed", "nothing received for \(days) days (last at \(last.rfc3339))", ReasonCode("silent", ["days": "\(days)", "last": last.rfc3339]),
                    date: CivilDate(daysSinceEpoch: last.microseconds / 86_400_000_000), count: days)
            }
        } else {
            add(.silent, "feed", "never sent a record", ReasonCode("never_sent"))
        }
        if let from = f.dataFrom {
            let expected = Int(today.daysSinceEpoch - from.daysSinceEpoch)
            let missing = expected - f.daysWithData
            if missing > 0 {
                add(.daysWithoutData, "\(today.year)", "\(missing) of \(expected) days since \(from) without any record",
                    ReasonCode("days_without_data", ["missing": "\(missing)", "expected": "\(expected)", "from": from.description]), date: from, count: missing)
            }
        }
        for a in f.overdueAlerts {
            add(.alertOverdue, "\(a.id)", "\(a.severity.rawValue) \(a.rule.rawValue) alert \(a.id) unresolved for \(Int(a.hoursOpen)) hours",
                ReasonCode("alert_overdue", ["severity": a.severity.rawValue, "rule": a.rule.rawValue, "id": "\(a.id)", "hours": "\(Int(a.hoursOpen))"]),
                count: Int(a.hoursOpen))
        }
        if let last = f.lastInspected {
            let age = Int(today.daysSinceEpoch - last.daysSinceEpoch)
            if age > inspectionIntervalDays {
                add(.inspectionOverdue, "inspection", "last inspected on \(last), \(age) days ago",
                    ReasonCode("inspection_overdue", ["last": last.description, "days": "\(age)"]), date: last, count: age)
            }
        } else {
            add(.inspectionOverdue, "inspection", "no inspection on record", ReasonCode("inspection_none"))
        }
        return out
    }

    /// Every detail code a gap gives (a console's catalogue names each `reason_<key>`).
    public static let detailKeys = [
        "licence_missing", "licence_revoked", "licence_expired_ago", "licence_expiring", "approval_denied", "approval_missing",
        "hazard_open", "case_open", "case_open_serious", "silent", "never_sent", "days_without_data", "alert_overdue",
        "inspection_overdue", "inspection_none",
    ]
}
