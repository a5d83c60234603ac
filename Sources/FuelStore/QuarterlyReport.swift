import FuelModel
import Foundation

/// A calendar quarter in China Standard Time: its days and the instants they span.
public struct ReportQuarter: Sendable, Hashable {
    /// The province's clock: quarters and days are counted in China Standard Time.
    public static let clock = LocalClock(timezone: "Asia/Shanghai")

    public var year: Int
    public var number: Int
    public var firstDay: CivilDate { CivilDate(year: year, month: 3 * number - 2, day: 1) }
    public var lastDay: CivilDate { let m = 3 * number; return CivilDate(year: year, month: m, day: CivilDate.daysIn(month: m, year: year)) }
    public var from: Date { Self.clock.instant(firstDay, hour: 0, minute: 0).date }
    public var to: Date { Self.clock.instant(lastDay.adding(days: 1), hour: 0, minute: 0).date }
    public var label: String { "\(year)Q\(number)" }

    public init(year: Int, number: Int) {
        self.year = year
        self.number = number
    }

    public init(containing day: CivilDate) { self.init(year: day.year, number: (day.month - 1) / 3 + 1) }

    /// Today in China Standard Time.
    public static var today: CivilDate { clock.day(of: Timestamp(Date())) }

    /// Days of the quarter up to `today` (all of them once it is over).
    public func daysElapsed(today: CivilDate) -> Int {
        let end = min(lastDay, today)
        return max(0, Int(end.daysSinceEpoch - firstDay.daysSinceEpoch) + 1)
    }
}

/// The quarterly roll-up by city (Guizhou practice: 应报尽报, quotas per city, three contacts per
/// city): what `GET /v1/reports/quarterly` answers and the console's province page shows.
public struct QuarterlyReport: Sendable, Encodable {
    /// One city's line.
    public struct Row: Sendable, Encodable {
        public var code: String
        public var name: String
        public var quota: Int?
        public var registered: Int
        public var reporting: Int
        public var coveragePct: Double?
        public var dataDaysPct: Double?
        public var alertsRaised: [String: Int]
        public var alertsResolved: Int
        /// Alerts open or acknowledged now, by severity.
        public var openAlerts: [String: Int]
        public var inspections: [String: Int]
        public var contacts: [Contact]
        enum CodingKeys: String, CodingKey {
            case code, name, quota, registered, reporting, coveragePct = "coverage_pct", dataDaysPct = "data_days_pct"
            case alertsRaised = "alerts_raised", alertsResolved = "alerts_resolved", openAlerts = "open_alerts", inspections, contacts
        }
    }

    public var quarter: String
    public var from: CivilDate
    public var to: CivilDate
    public var daysElapsed: Int
    public var cities: [Row]
    enum CodingKeys: String, CodingKey { case quarter, from, to, daysElapsed = "days_elapsed", cities }

    /// `part` as a percentage of `whole` to one decimal (nil without a whole).
    public static func percent(_ part: Int, of whole: Int) -> Double? {
        whole > 0 ? (Double(part) / Double(whole) * 1000).rounded() / 10 : nil
    }

    /// The report for quarter `q` over `cities` (in the registry's order), as of `today`.
    public static func make(_ q: ReportQuarter, cities: [City], today: CivilDate, store: CityReportStore) async throws -> QuarterlyReport {
        let figures = try await store.figures(firstDay: q.firstDay, lastDay: q.lastDay, from: q.from, to: q.to, year: q.year)
        let days = q.daysElapsed(today: today)
        let rows = cities.map { c -> Row in
            let f = figures[c.code] ?? CityFigures(city: c.code)
            let active = f.byStatus["active"] ?? 0
            return Row(
                code: c.code, name: c.name, quota: c.quota, registered: f.registered, reporting: f.reportingInPeriod,
                coveragePct: percent(f.reportingInPeriod, of: c.quota ?? f.registered),
                dataDaysPct: percent(f.stationDaysWithData, of: active * days), alertsRaised: f.alertsRaised,
                alertsResolved: f.alertsResolved, openAlerts: f.openAlerts, inspections: f.inspections, contacts: c.contacts)
        }
        return QuarterlyReport(quarter: q.label, from: q.firstDay, to: q.lastDay, daysElapsed: days, cities: rows)
    }

    /// The report as CSV (RFC 4180: CRLF, fields with commas or quotes quoted), one line per city.
    public var csv: String {
        var out = "quarter,city,name,quota,registered,reporting,coverage_pct,data_days_pct,alerts_critical,alerts_warning,alerts_info,"
            + "alerts_resolved,inspections_pass,inspections_needs_attention,inspections_fail,"
            + "leader,leader_phone,responsible,responsible_phone,liaison,liaison_phone\r\n"
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        func num(_ d: Double?) -> String { d.map { JSONText.number($0) } ?? "" }
        for c in cities {
            var cols = [quarter, c.code, field(c.name), c.quota.map(String.init) ?? "", "\(c.registered)", "\(c.reporting)", num(c.coveragePct),
                        num(c.dataDaysPct)]
            cols += ["critical", "warning", "info"].map { "\(c.alertsRaised[$0] ?? 0)" }
            cols.append("\(c.alertsResolved)")
            cols += ["pass", "needs_attention", "fail"].map { "\(c.inspections[$0] ?? 0)" }
            for role in Contact.Role.allCases {
                let contact = c.contacts.first { $0.role == role }
                cols += [field(contact?.name ?? ""), field(contact?.phone ?? "")]
            }
            out += cols.joined(separator: ",") + "\r\n"
        }
        return out
    }
}
