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
    /// For expiring licences: the 30/60/90-day window it falls in.
    public var withinDays: Int?
    /// A date the gap is about (expiry, opening, last record, last inspection).
    public var date: CivilDate?
    /// A count the gap is about (days, hours).
    public var count: Int?

    enum CodingKeys: String, CodingKey {
        case station, city, kind, subject, detail, withinDays = "within_days", date, count
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
        func add(_ kind: InspectionGap.Kind, _ subject: String, _ detail: String, within: Int? = nil, date: CivilDate? = nil, count: Int? = nil) {
            out.append(InspectionGap(station: s.id, city: s.city, kind: kind, subject: subject, detail: detail, withinDays: within, date: date, count: count))
        }
        for kind in InspectionDocuments.licences {
            guard let l = s.licences[kind] else {
                add(.licenceMissing, kind, "no \(kind) licence on record")
                continue
            }
            if l.state == .revoked {
                add(.licenceRevoked, kind, "\(kind) licence \(l.number) is revoked", date: l.expires)
                continue
            }
            guard let e = l.expires else { continue }
            let days = Int(e.daysSinceEpoch - today.daysSinceEpoch)
            if days < 0 {
                add(.licenceExpired, kind, "\(kind) licence \(l.number) expired on \(e), \(-days) days ago", date: e, count: -days)
            } else if let window = Self.expiryWindows.first(where: { days <= $0 }) {
                add(.licenceExpiring, kind, "\(kind) licence \(l.number) expires on \(e), in \(days) days", within: window, date: e, count: days)
            }
        }
        for kind in InspectionDocuments.approvals where s.approvals[kind] != true {
            add(.approvalMissing, kind, s.approvals[kind] == false ? "\(kind) approval is not granted" : "no \(kind) approval on record")
        }
        for h in s.hazards where h.isOpen(on: today) {
            let age = Int(today.daysSinceEpoch - h.opened.daysSinceEpoch)
            add(.hazardOpen, h.id, "safety hazard \(h.id) open for \(age) days\(h.description.isEmpty ? "" : ": \(h.description)")", date: h.opened, count: age)
        }
        for c in s.cases where c.isOpen(on: today) {
            let age = Int(today.daysSinceEpoch - c.opened.daysSinceEpoch)
            add(.caseOpen, c.id, "\(c.serious ? "serious " : "")violation case \(c.id) open for \(age) days\(c.description.isEmpty ? "" : ": \(c.description)")",
                date: c.opened, count: age)
        }
        // Reporting obligations apply to operating stations only.
        guard s.status == .active else { return out }
        if let last = f.lastReceived {
            let days = Int(last.seconds(to: now) / 86_400)
            if days >= silentDays {
                add(.silent, "feed", "nothing received for \(days) days (last at \(last.rfc3339))", date: CivilDate(daysSinceEpoch: last.microseconds / 86_400_000_000), count: days)
            }
        } else {
            add(.silent, "feed", "never sent a record")
        }
        if let from = f.dataFrom {
            let expected = Int(today.daysSinceEpoch - from.daysSinceEpoch)
            let missing = expected - f.daysWithData
            if missing > 0 { add(.daysWithoutData, "\(today.year)", "\(missing) of \(expected) days since \(from) without any record", date: from, count: missing) }
        }
        for a in f.overdueAlerts {
            add(.alertOverdue, "\(a.id)", "\(a.severity.rawValue) \(a.rule.rawValue) alert \(a.id) unresolved for \(Int(a.hoursOpen)) hours", count: Int(a.hoursOpen))
        }
        if let last = f.lastInspected {
            let age = Int(today.daysSinceEpoch - last.daysSinceEpoch)
            if age > inspectionIntervalDays { add(.inspectionOverdue, "inspection", "last inspected on \(last), \(age) days ago", date: last, count: age) }
        } else {
            add(.inspectionOverdue, "inspection", "no inspection on record")
        }
        return out
    }
}
