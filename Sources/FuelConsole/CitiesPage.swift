import FuelModel
import FuelStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/console/cities?year=Y&quarter=Q`: the province by city for a quarter — quota, registered,
/// reporting, coverage, days with data, alerts raised and open by severity, inspection verdicts and
/// the city's three contacts — with the CSV of the same report (`/console/reports/quarterly.csv`).
extension ConsoleController {
    /// The quarter a request names (the current one by default); one not yet begun is refused.
    func quarter(_ request: Request) throws -> ReportQuarter {
        let q = request.uri.queryParameters
        let today = ReportQuarter.today
        var quarter = ReportQuarter(containing: today)
        if let y = q.get("year").flatMap(Int.init), let n = q.get("quarter").flatMap(Int.init) {
            guard (2000...2200).contains(y), (1...4).contains(n) else { throw PageError(status: .badRequest, key: "error_title", detail: "year / quarter") }
            quarter = ReportQuarter(year: y, number: n)
        }
        guard quarter.firstDay <= today else { throw PageError(status: .unprocessableContent, key: "quarter_not_started", detail: quarter.label) }
        return quarter
    }

    func citiesPage(_ request: Request) async throws -> Response {
        let s = try await requireSignedIn(request)
        let q = try quarter(request)
        let lang = s.lang
        let t = texts.catalogue(lang)
        let report = try await QuarterlyReport.make(q, cities: directory.cities(), today: ReportQuarter.today, store: CityReportStore(database: database))
        var c = layout(title: t["cities_title"] ?? "", lang: lang, signedIn: s, path: "/console/cities?year=\(q.year)&quarter=\(q.number)")
        func pct(_ v: Double?) -> String { v.map { JSONText.number($0) + " %" } ?? "—" }
        c["quarter"] = q.label
        c["csvURL"] = "/console/reports/quarterly.csv?year=\(q.year)&quarter=\(q.number)"
        c["daysElapsed"] = report.daysElapsed
        let previous = q.number == 1 ? ReportQuarter(year: q.year - 1, number: 4) : ReportQuarter(year: q.year, number: q.number - 1)
        c["previousURL"] = "/console/cities?year=\(previous.year)&quarter=\(previous.number)"
        c["previousLabel"] = previous.label
        c["cities"] = report.cities.map { r -> [String: Any] in
            [
                "code": r.code, "name": r.name, "quota": r.quota.map(String.init) ?? "—", "registered": r.registered, "reporting": r.reporting,
                "coverage": pct(r.coveragePct), "dataDays": pct(r.dataDaysPct),
                "open": Severity.allCases.reversed().map { "\(t["severity_\($0.rawValue)"] ?? $0.rawValue) \(r.openAlerts[$0.rawValue] ?? 0)" }.joined(separator: " · "),
                "raised": Severity.allCases.reversed().map { "\(r.alertsRaised[$0.rawValue] ?? 0)" }.joined(separator: " / "),
                "resolved": r.alertsResolved,
                "inspections": ["pass", "needs_attention", "fail"].map { "\(t["verdict_\($0)"] ?? $0) \(r.inspections[$0] ?? 0)" }.joined(separator: " · "),
                "contacts": r.contacts.map { ["role": t["contact_\($0.role.rawValue)"] ?? $0.role.rawValue, "name": $0.name, "phone": $0.phone ?? ""] },
                "alertsURL": "/console/alerts?status=active&city=\(r.code)",
            ]
        }
        return ConsoleHeaders.html(templates.render("cities", c))
    }

    func quarterlyCSV(_ request: Request) async throws -> Response {
        _ = try await requireSignedIn(request)
        let q = try quarter(request)
        let report = try await QuarterlyReport.make(q, cities: directory.cities(), today: ReportQuarter.today, store: CityReportStore(database: database))
        var h = ConsoleHeaders.base
        h[.contentType] = "text/csv; charset=utf-8"
        h[.contentDisposition] = "attachment; filename=\"fuelwarden-\(q.label).csv\""
        h[.cacheControl] = "no-store"
        // A byte-order mark, so spreadsheet programs on Chinese Windows read the UTF-8 city names.
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: "\u{FEFF}" + report.csv)))
    }
}
