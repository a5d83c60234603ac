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
        let today = ReportQuarter.today
        let q = ReportQuarter(containing: today)
        let store = CityReportStore(database: self.store.database.forReading())
        let f = try await store.figures(city: code, firstDay: q.firstDay, lastDay: today, from: q.from, to: q.to, year: today.year)[code]
            ?? CityFigures(city: code)
        var inspections = f.inspections
        inspections["not_inspected"] = max(0, f.registered - f.inspections.values.reduce(0, +))
        return try JSONResponse.make(CoverageDTO(
            city: city, quarter: q.label, stationsRegistered: f.registered, stationsByStatus: f.byStatus, quota: city.quota,
            registeredOfQuotaPct: city.quota.flatMap { QuarterlyReport.percent(f.registered, of: $0) }, reportingLast24h: f.reporting24h,
            reportingThisQuarter: f.reportingInPeriod, coveragePct: QuarterlyReport.percent(f.reporting24h, of: city.quota ?? f.registered),
            openAlerts: f.openAlerts, inspectionsThisYear: inspections)).readFrom(store.database)
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
        let q = ReportQuarter(year: year, number: number)
        let today = ReportQuarter.today
        guard q.firstDay <= today else { throw APIError(.unprocessableContent, "quarter: \(q.label) has not started") }
        let store = CityReportStore(database: self.store.database.forReading())
        let report = try await QuarterlyReport.make(q, cities: registry.snapshot.registry.cities, today: today, store: store)
        if format == "json" { return try JSONResponse.make(report).readFrom(store.database) }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"fuelwarden-\(q.label).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: report.csv))).readFrom(store.database)
    }
}
