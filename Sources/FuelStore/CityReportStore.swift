import FuelModel
import Foundation
import Logging
import PostgresNIO

/// Per-city figures for a period (Guizhou: every obligated station reports, quotas per city,
/// quarterly progress).
public struct CityFigures: Sendable, Hashable {
    public var city: String
    public var registered = 0
    public var byStatus: [String: Int] = [:]
    /// Stations with any record received in the last 24 h (wall clock).
    public var reporting24h = 0
    /// Stations with data on at least one day of the period.
    public var reportingInPeriod = 0
    /// Station-days with data in the period.
    public var stationDaysWithData = 0
    /// Alerts still open or acknowledged, by severity.
    public var openAlerts: [String: Int] = [:]
    /// Alerts raised in the period, by severity, and how many of those are resolved.
    public var alertsRaised: [String: Int] = [:]
    public var alertsResolved = 0
    /// Latest recorded inspection verdict per station in the period's year, counted by verdict.
    public var inspections: [String: Int] = [:]

    public init(city: String) { self.city = city }
}

/// Reads the figures of city coverage and the quarterly report.
public struct CityReportStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Figures for every city (or one), for the days `firstDay…lastDay` and the instants `from..<to`.
    public func figures(city only: String? = nil, firstDay: CivilDate, lastDay: CivilDate, from: Date, to: Date, year: Int) async throws -> [String: CityFigures] {
        let logger = database.logger
        return try await database.connection("city figures") { conn in
            var out: [String: CityFigures] = [:]
            func with(_ city: String, _ change: (inout CityFigures) -> Void) {
                var f = out[city] ?? CityFigures(city: city)
                change(&f)
                out[city] = f
            }
            for try await code in try await conn.query(
                "SELECT code FROM cities WHERE (\(only)::text IS NULL OR code = \(only))", logger: logger
            ).decode(String.self) { out[code] = CityFigures(city: code) }
            for try await (city, status, n, recent) in try await conn.query("""
                SELECT s.city, s.status, count(*), count(*) FILTER (WHERE h.last_received_at > now() - interval '24 hours')
                FROM stations s LEFT JOIN chain_heads h ON h.station = s.id
                WHERE (\(only)::text IS NULL OR s.city = \(only)) GROUP BY 1, 2
                """, logger: logger).decode((String, String, Int, Int).self) {
                with(city) { $0.registered += n; $0.byStatus[status] = n; $0.reporting24h += recent }
            }
            for try await (city, stations, days) in try await conn.query("""
                SELECT s.city, count(DISTINCT d.station), count(*)
                FROM station_days d JOIN stations s ON s.id = d.station
                WHERE d.day BETWEEN \(firstDay.description)::date AND \(lastDay.description)::date AND (\(only)::text IS NULL OR s.city = \(only))
                GROUP BY 1
                """, logger: logger).decode((String, Int, Int).self) {
                with(city) { $0.reportingInPeriod = stations; $0.stationDaysWithData = days }
            }
            for try await (city, severity, open, raised, resolved) in try await conn.query("""
                SELECT s.city, a.severity, count(*) FILTER (WHERE a.status <> 'resolved'),
                       count(*) FILTER (WHERE a.raised_at >= \(from) AND a.raised_at < \(to)),
                       count(*) FILTER (WHERE a.raised_at >= \(from) AND a.raised_at < \(to) AND a.status = 'resolved')
                FROM alerts a JOIN stations s ON s.id = a.station
                WHERE (\(only)::text IS NULL OR s.city = \(only)) GROUP BY 1, 2
                """, logger: logger).decode((String, String, Int, Int, Int).self) {
                with(city) {
                    if open > 0 { $0.openAlerts[severity] = open }
                    if raised > 0 { $0.alertsRaised[severity] = raised }
                    $0.alertsResolved += resolved
                }
            }
            for try await (city, verdict, n) in try await conn.query("""
                SELECT s.city, i.verdict, count(*) FROM (
                    SELECT DISTINCT ON (station) station, verdict FROM inspections WHERE year = \(year) ORDER BY station, recorded_at DESC
                ) i JOIN stations s ON s.id = i.station
                WHERE (\(only)::text IS NULL OR s.city = \(only)) GROUP BY 1, 2
                """, logger: logger).decode((String, String, Int).self) {
                with(city) { $0.inspections[verdict] = n }
            }
            return out
        }
    }
}
