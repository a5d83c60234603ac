import FuelDetect
import FuelModel
import PropertyBased
import Testing

/// The annual-inspection pre-check and the gap list: exact cases per rule, and properties of the verdict.
@Suite struct InspectionPrecheckTests {
    static let asOf = CivilDate(year: 2026, month: 11, day: 21)

    /// A station that passes everything on 2026-11-21.
    static func station(_ change: (inout Station) -> Void = { _ in }) -> Station {
        var s = Station(
            id: "S1", name: "一号站", city: "210100",
            licences: [
                "business": Licence(number: "B1", issued: CivilDate(year: 2020, month: 1, day: 1), expires: CivilDate(year: 2029, month: 12, day: 31)),
                "hazardous_chemicals": Licence(number: "H1", expires: CivilDate(year: 2027, month: 12, day: 31)),
                "retail_approval": Licence(number: "R1", expires: CivilDate(year: 2030, month: 12, day: 31)),
            ],
            approvals: ["environmental": true, "planning": true])
        change(&s)
        return s
    }

    static let fullData = InspectionFacts(daysWithData: 325, chainRecordsChecked: 1000)

    func report(_ s: Station, facts: InspectionFacts = fullData, asOf: CivilDate = asOf) -> InspectionReport {
        InspectionPrecheck().evaluate(station: s, year: 2026, asOf: asOf, facts: facts)
    }

    func finding(_ r: InspectionReport, _ rule: String) -> InspectionFinding? { r.findings.first { $0.rule == rule } }

    @Test func aStationWithEverythingInOrderPasses() {
        let r = report(Self.station())
        #expect(r.verdict == .pass)
        #expect(r.findings.allSatisfy { $0.outcome == .pass }, "\(r.findings.filter { $0.outcome != .pass })")
        #expect(r.findings.map(\.rule) == [
            "licence.business", "licence.hazardous_chemicals", "licence.retail_approval", "approval.environmental", "approval.planning",
            "station.status", "safety_hazards", "violation_cases", "data_coverage", "critical_alerts", "chain",
        ])
    }

    @Test func anExpiredHazardousChemicalsLicenceFails() {
        let r = report(Self.station { $0.licences["hazardous_chemicals"]?.expires = CivilDate(year: 2026, month: 11, day: 20) })
        #expect(r.verdict == .fail)
        let f = finding(r, "licence.hazardous_chemicals")
        #expect(f?.outcome == .fail)
        #expect(f?.reason == "hazardous-chemicals trading licence H1 expired on 2026-11-20")
        #expect(f?.evidence["expires"] == .text("2026-11-20") && f?.evidence["days_to_expiry"] == .integer(-1))
    }

    @Test func aLicenceExpiringOnTheAsOfDayIsStillValid() {
        let r = report(Self.station { $0.licences["business"]?.expires = Self.asOf })
        #expect(finding(r, "licence.business")?.outcome == .needsAttention)
        #expect(r.verdict == .needsAttention)
    }

    @Test func expiryWarningWindowIsThirtyDays() {
        let in30 = report(Self.station { $0.licences["retail_approval"]?.expires = Self.asOf.adding(days: 30) })
        let in31 = report(Self.station { $0.licences["retail_approval"]?.expires = Self.asOf.adding(days: 31) })
        #expect(finding(in30, "licence.retail_approval")?.outcome == .needsAttention)
        #expect(finding(in31, "licence.retail_approval")?.outcome == .pass)
    }

    @Test func revokedOrMissingLicencesFail() {
        let revoked = report(Self.station { $0.licences["business"]?.state = .revoked })
        #expect(finding(revoked, "licence.business")?.outcome == .fail)
        #expect(finding(revoked, "licence.business")?.reason == "business licence B1 is revoked")
        let missing = report(Self.station { $0.licences["retail_approval"] = nil })
        #expect(finding(missing, "licence.retail_approval")?.reason == "no oil retail approval certificate on record")
        #expect(missing.verdict == .fail)
    }

    @Test func missingOrWithheldApprovalsFail() {
        let withheld = report(Self.station { $0.approvals["planning"] = false })
        #expect(finding(withheld, "approval.planning")?.outcome == .fail)
        let missing = report(Self.station { $0.approvals["environmental"] = nil })
        #expect(finding(missing, "approval.environmental")?.reason == "no environmental approval on record")
    }

    @Test func anUnremediedHazardFailsAndARemediedOneDoesNot() {
        let open = SafetyHazard(id: "HZ-1", description: "卸油口无静电接地", opened: CivilDate(year: 2026, month: 6, day: 1))
        let r = report(Self.station { $0.hazards = [open] })
        #expect(finding(r, "safety_hazards")?.outcome == .fail)
        #expect(finding(r, "safety_hazards")?.evidence["open"] == .text("HZ-1"))
        var fixed = open
        fixed.remedied = CivilDate(year: 2026, month: 7, day: 1)
        #expect(finding(report(Self.station { $0.hazards = [fixed] }), "safety_hazards")?.outcome == .pass)
        // Remedied after the as-of date: still open on it.
        fixed.remedied = Self.asOf.adding(days: 1)
        #expect(finding(report(Self.station { $0.hazards = [fixed] }), "safety_hazards")?.outcome == .fail)
    }

    @Test func anOpenSeriousCaseFailsAMinorOneNeedsAttention() {
        let opened = CivilDate(year: 2026, month: 3, day: 1)
        let serious = report(Self.station { $0.cases = [ViolationCase(id: "C1", description: "", serious: true, opened: opened)] })
        #expect(finding(serious, "violation_cases")?.outcome == .fail)
        let minor = report(Self.station { $0.cases = [ViolationCase(id: "C2", description: "", serious: false, opened: opened)] })
        #expect(finding(minor, "violation_cases")?.outcome == .needsAttention)
        #expect(minor.verdict == .needsAttention)
        let closed = report(Self.station {
            $0.cases = [ViolationCase(id: "C1", description: "", serious: true, opened: opened, closed: CivilDate(year: 2026, month: 4, day: 1))]
        })
        #expect(finding(closed, "violation_cases")?.outcome == .pass)
    }

    @Test func statusRevokedFailsSuspendedNeedsAttention() {
        #expect(finding(report(Self.station { $0.status = .revoked }), "station.status")?.outcome == .fail)
        #expect(finding(report(Self.station { $0.status = .suspended }), "station.status")?.outcome == .needsAttention)
    }

    @Test func dataCoverageCountsTheDaysOfTheYearUpToTheAsOfDay() {
        // 2026-01-01 … 2026-11-21 is 325 days; 95 % of it is 308.75.
        let thin = report(Self.station(), facts: InspectionFacts(daysWithData: 308))
        let f = finding(thin, "data_coverage")
        #expect(f?.outcome == .needsAttention)
        #expect(f?.evidence["days_in_period"] == .integer(325) && f?.evidence["days_with_data"] == .integer(308))
        #expect(f?.reason == "data on 308 of 325 days (94.8 %) from 2026-01-01 to 2026-11-21, below 95.0 %")
        #expect(finding(report(Self.station(), facts: InspectionFacts(daysWithData: 309)), "data_coverage")?.outcome == .pass)
    }

    @Test func criticalAlertsAndABrokenChainNeedAttention() {
        let r = report(Self.station(), facts: InspectionFacts(daysWithData: 325, unresolvedCriticalAlerts: [7, 9], chainBreak: "seq 12: hash mismatch"))
        #expect(finding(r, "critical_alerts")?.evidence["alert_ids"] == .text("7,9"))
        #expect(finding(r, "chain")?.outcome == .needsAttention)
        #expect(r.verdict == .needsAttention)
    }

    @Test func asOfIsTheYearsEndOnceItIsOver() {
        #expect(InspectionPrecheck.asOf(year: 2025, today: Self.asOf) == CivilDate(year: 2025, month: 12, day: 31))
        #expect(InspectionPrecheck.asOf(year: 2026, today: Self.asOf) == Self.asOf)
    }

    /// The verdict is the worst rule outcome, whatever mix of problems a station has.
    @Test func theVerdictIsTheWorstFinding() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...(1 << 9) - 1), Gen.int(in: -400...400), Gen.int(in: 0...325)) { mask, expiry, days in
            let s = Self.station { s in
                if mask & 1 != 0 { s.licences["business"]?.state = .revoked }
                if mask & 2 != 0 { s.licences["hazardous_chemicals"]?.expires = Self.asOf.adding(days: expiry) }
                if mask & 4 != 0 { s.approvals["planning"] = nil }
                if mask & 8 != 0 { s.hazards = [SafetyHazard(id: "H", description: "", opened: Self.asOf.adding(days: -3))] }
                if mask & 16 != 0 { s.cases = [ViolationCase(id: "C", description: "", serious: mask & 32 != 0, opened: Self.asOf)] }
                if mask & 64 != 0 { s.status = .suspended }
            }
            let facts = InspectionFacts(daysWithData: days, unresolvedCriticalAlerts: mask & 128 != 0 ? [1] : [],
                                        chainBreak: mask & 256 != 0 ? "broken" : nil)
            let r = report(s, facts: facts)
            #expect(r.verdict == r.findings.map(\.outcome).max())
            let mustFail = mask & 1 != 0 || (mask & 2 != 0 && expiry < 0) || mask & 4 != 0 || mask & 8 != 0 || (mask & 16 != 0 && mask & 32 != 0)
            #expect((r.verdict == .fail) == mustFail)
            #expect(r.findings.allSatisfy { !$0.reason.isEmpty })
            // Every finding also carries a code a catalogue knows, each placeholder's value present.
            #expect(r.findings.allSatisfy { f in f.code.map { InspectionPrecheck.reasonKeys.contains($0.key) } == true })
        }
    }
}

@Suite struct InspectionGapTests {
    static let today = CivilDate(year: 2026, month: 11, day: 21)
    static let now = Timestamp(rfc3339: "2026-11-21T04:00:00Z")!

    func gaps(_ s: Station, _ f: StationGapFacts = StationGapFacts(
        lastReceived: now.adding(seconds: -60), daysWithData: 324, dataFrom: CivilDate(year: 2026, month: 1, day: 1),
        lastInspected: CivilDate(year: 2026, month: 3, day: 1))) -> [InspectionGap] {
        InspectionGapFinder().gaps(station: s, facts: f, today: Self.today, now: Self.now)
    }

    @Test func aStationInOrderHasNoGaps() {
        #expect(gaps(InspectionPrecheckTests.station()).isEmpty)
    }

    @Test func expiringLicencesFallInThe30_60_90DayWindows() {
        for (days, window) in [(0, 30), (30, 30), (31, 60), (60, 60), (61, 90), (90, 90)] {
            let g = gaps(InspectionPrecheckTests.station { $0.licences["business"]?.expires = Self.today.adding(days: days) })
            let first = g.first
            #expect(g.map(\.kind) == [.licenceExpiring] && first?.withinDays == window && first?.count == days, "\(days) days: \(g)")
        }
        let later = gaps(InspectionPrecheckTests.station { $0.licences["business"]?.expires = Self.today.adding(days: 91) })
        #expect(later.isEmpty)
        let expired = gaps(InspectionPrecheckTests.station { $0.licences["business"]?.expires = Self.today.adding(days: -5) })
        let first = expired.first
        #expect(expired.map(\.kind) == [.licenceExpired] && first?.count == 5)
    }

    @Test func feedsDataAlertsAndInspectionsAreListed() {
        let f = StationGapFacts(
            lastReceived: Self.now.adding(seconds: -4 * 86_400), daysWithData: 300, dataFrom: CivilDate(year: 2026, month: 1, day: 1),
            lastInspected: CivilDate(year: 2025, month: 11, day: 1),
            overdueAlerts: [OverdueAlert(id: 42, rule: .undeclaredDelivery, severity: .critical, hoursOpen: 30)])
        let g = gaps(InspectionPrecheckTests.station(), f)
        #expect(g.map(\.kind) == [.silent, .daysWithoutData, .alertOverdue, .inspectionOverdue])
        #expect(g[0].count == 4)
        #expect(g[1].count == 24, "324 days since Jan 1 up to yesterday, 300 with data")
        #expect(g[2].subject == "42")
        #expect(g[3].count == 385)
        // A station that never sent anything and was never inspected.
        let never = gaps(InspectionPrecheckTests.station(), StationGapFacts())
        #expect(never.map(\.kind) == [.silent, .inspectionOverdue])
        #expect(g[2].code == ReasonCode("alert_overdue", ["severity": "critical", "rule": "undeclared_delivery", "id": "42", "hours": "30"]))
        #expect((g + never).allSatisfy { gap in gap.code.map { InspectionGapFinder.detailKeys.contains($0.key) } == true })
        // Reporting obligations are for operating stations.
        #expect(gaps(InspectionPrecheckTests.station { $0.status = .suspended }, StationGapFacts()).isEmpty)
    }
}
