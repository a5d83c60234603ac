import FuelModel
import FuelStore
import Foundation
import Hummingbird

/// Reporting coverage by city and the quarterly roll-up (Guizhou: 应报尽报, quotas per city, three
/// contacts per city), for any regulator:
/// - `GET /v1/cities/{code}/coverage`
/// - `GET /v1/reports/quarterly?year=Y&quarter=Q[&format=csv]`
public struct CitiesController: Sendable {
    let store: CityReportStore
    let registry: RegistryCache

    public init(store: CityReportStore, registry: RegistryCache) {
        self.store = store
        self.registry = registry
    }

    public func addRoutes(to group: RouterGroup<FuelRequestContext>) {
        group.get("cities/{code}/coverage", use: coverage)
        group.get("reports/quarterly", use: quarterly)
    }

    /// The province's clock: quarters and days are counted in China Standard Time.
    static let clock = LocalClock(timezone: "Asia/Shanghai")

    /// A calendar quarter: its days and the instants they span.
    struct Quarter {
        var year: Int
        var number: Int
        var firstDay: CivilDate { CivilDate(year: year, month: 3 * number - 2, day: 1) }
        var lastDay: CivilDate { let m = 3 * number; return CivilDate(year: year, month: m, day: CivilDate.daysIn(month: m, year: year)) }
        var from: Date { CitiesController.clock.instant(firstDay, hour: 0, minute: 0).date }
        var to: Date { CitiesController.clock.instant(lastDay.adding(days: 1), hour: 0, minute: 0).date }
        var label: String { "\(year)Q\(number)" }

        init(year: Int, number: Int) {
            self.year = year
            self.number = number
        }

        init(containing day: CivilDate) { self.init(year: day.year, number: (day.month - 1) / 3 + 1) }

        /// Days of the quarter up to `today` (all of them once it is over).
        func daysElapsed(today: CivilDate) -> Int {
            let end = min(lastDay, today)
            return max(0, Int(end.daysSinceEpoch - firstDay.daysSinceEpoch) + 1)
        }
    }

    static func percent(_ part: Int, of whole: Int) -> Double? {
        whole > 0 ? (Double(part) / Double(whole) * 1000).rounded() / 10 : nil
    }

    struct CoverageDTO: Encodable {
        var city: City
        var quarter: String
        var stationsRegistered: Int
        var stationsByStatus: [String: Int]
        var quota: Int?
        var registeredOfQuotaPct: Double?
        var reportingLast24h: Int
        var reportingThisQuarter: Int
        var coveragePct: Double?
        var openAlerts: [String: Int]
        var inspectionsThisYear: [String: Int]
        enum CodingKeys: String, CodingKey {
            case city, quarter, stationsRegistered = "stations_registered", stationsByStatus = "stations_by_status", quota
            case registeredOfQuotaPct = "registered_of_quota_pct", reportingLast24h = "reporting_last_24h"
            case reportingThisQuarter = "reporting_this_quarter", coveragePct = "coverage_pct", openAlerts = "open_alerts"
            case inspectionsThisYear = "inspections_this_year"
        }
    }

    @Sendable func coverage(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let code = try context.parameters.require("code")
        guard let city = registry.snapshot.registry.cities.first(where: { $0.code == code }) else {
            throw APIError(.notFound, "city \(code) is not in the registry")
        }
        let today = Self.clock.day(of: Timestamp(Date()))
        let q = Quarter(containing: today)
        let f = try await store.figures(city: code, firstDay: q.firstDay, lastDay: today, from: q.from, to: q.to, year: today.year)[code]
            ?? CityFigures(city: code)
        var inspections = f.inspections
        inspections["not_inspected"] = max(0, f.registered - f.inspections.values.reduce(0, +))
        return try JSONResponse.make(CoverageDTO(
            city: city, quarter: q.label, stationsRegistered: f.registered, stationsByStatus: f.byStatus, quota: city.quota,
            registeredOfQuotaPct: city.quota.flatMap { Self.percent(f.registered, of: $0) }, reportingLast24h: f.reporting24h,
            reportingThisQuarter: f.reportingInPeriod, coveragePct: Self.percent(f.reporting24h, of: city.quota ?? f.registered),
            openAlerts: f.openAlerts, inspectionsThisYear: inspections))
    }

    /// One city's line of the quarterly report.
    struct QuarterlyRow: Encodable {
        var code: String
        var name: String
        var quota: Int?
        var registered: Int
        var reporting: Int
        var coveragePct: Double?
        var dataDaysPct: Double?
        var alertsRaised: [String: Int]
        var alertsResolved: Int
        var inspections: [String: Int]
        var contacts: [Contact]
        enum CodingKeys: String, CodingKey {
            case code, name, quota, registered, reporting, coveragePct = "coverage_pct", dataDaysPct = "data_days_pct"
            case alertsRaised = "alerts_raised", alertsResolved = "alerts_resolved", inspections, contacts
        }
    }

    struct QuarterlyDTO: Encodable {
        var quarter: String
        var from: CivilDate
        var to: CivilDate
        var daysElapsed: Int
        var cities: [QuarterlyRow]
        enum CodingKeys: String, CodingKey { case quarter, from, to, daysElapsed = "days_elapsed", cities }
    }

    @Sendable func quarterly(_ request: Request, context: FuelRequestContext) async throws -> Response {
        _ = try context.requireRegulator(.viewer)
        let params = request.uri.queryParameters
        guard let yText = params.get("year"), let year = Int(yText), (2000...2200).contains(year) else {
            throw APIError(.badRequest, "year: required, 2000…2200 (e.g. ?year=2026&quarter=4)")
        }
        guard let qText = params.get("quarter"), let number = Int(qText), (1...4).contains(number) else {
            throw APIError(.badRequest, "quarter: required, 1…4")
        }
        let format = params.get("format") ?? "json"
        guard format == "json" || format == "csv" else { throw APIError(.badRequest, "format: expected json or csv, got \"\(format)\"") }
        let q = Quarter(year: year, number: number)
        let today = Self.clock.day(of: Timestamp(Date()))
        guard q.firstDay <= today else { throw APIError(.unprocessableContent, "quarter: \(q.label) has not started") }
        let figures = try await store.figures(firstDay: q.firstDay, lastDay: q.lastDay, from: q.from, to: q.to, year: year)
        let days = q.daysElapsed(today: today)
        let rows = registry.snapshot.registry.cities.map { c -> QuarterlyRow in
            let f = figures[c.code] ?? CityFigures(city: c.code)
            let active = f.byStatus["active"] ?? 0
            return QuarterlyRow(
                code: c.code, name: c.name, quota: c.quota, registered: f.registered, reporting: f.reportingInPeriod,
                coveragePct: Self.percent(f.reportingInPeriod, of: c.quota ?? f.registered),
                dataDaysPct: Self.percent(f.stationDaysWithData, of: active * days), alertsRaised: f.alertsRaised,
                alertsResolved: f.alertsResolved, inspections: f.inspections, contacts: c.contacts)
        }
        let report = QuarterlyDTO(quarter: q.label, from: q.firstDay, to: q.lastDay, daysElapsed: days, cities: rows)
        if format == "json" { return try JSONResponse.make(report) }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"fuelwarden-\(q.label).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: Self.csv(report))))
    }

    static func csv(_ r: QuarterlyDTO) -> String {
        var out = "quarter,city,name,quota,registered,reporting,coverage_pct,data_days_pct,alerts_critical,alerts_warning,alerts_info,"
            + "alerts_resolved,inspections_pass,inspections_needs_attention,inspections_fail,"
            + "leader,leader_phone,responsible,responsible_phone,liaison,liaison_phone\r\n"
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        func num(_ d: Double?) -> String { d.map { JSONText.number($0) } ?? "" }
        for c in r.cities {
            var cols = [r.quarter, c.code, field(c.name), c.quota.map(String.init) ?? "", "\(c.registered)", "\(c.reporting)", num(c.coveragePct),
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
