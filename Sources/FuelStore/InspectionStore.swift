import FuelModel
import Foundation
import Logging
import PostgresNIO

/// A pre-check verdict as recorded.
public struct RecordedInspection: Sendable, Hashable {
    public var id: Int64
    public var station: String
    public var year: Int
    public var asOf: CivilDate
    public var verdict: InspectionOutcome
    public var recordedBy: String
    public var recordedAt: Date
    /// The audit-chain position of the entry that records it.
    public var auditSeq: Int64
    /// Notifications queued with it.
    public var notifications: [Int64]
}

/// The annual inspection's data: the facts the pre-check needs and the verdicts recorded.
public struct InspectionStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Days with data in `year` up to `asOf`, unresolved critical alerts, and (when asked) the
    /// station's chain recomputed from its stored bodies.
    public func facts(station: String, year: Int, asOf: CivilDate, verifyChain: Bool = true) async throws -> InspectionFacts {
        let logger = database.logger
        let start = CivilDate(year: year, month: 1, day: 1).description
        var facts = try await database.connection("inspection facts") { conn in
            let days = try await conn.query("""
                SELECT count(*) FROM station_days WHERE station = \(station) AND day BETWEEN \(start)::date AND \(asOf.description)::date
                """, logger: logger).collect().first?.decode(Int.self) ?? 0
            var alerts: [Int64] = []
            for try await id in try await conn.query("""
                SELECT id FROM alerts WHERE station = \(station) AND severity = 'critical' AND status <> 'resolved' ORDER BY id
                """, logger: logger).decode(Int64.self) { alerts.append(id) }
            return InspectionFacts(daysWithData: days, unresolvedCriticalAlerts: alerts)
        }
        if verifyChain {
            let report = try await ChainAudit(database: database).verify(station: station)
            facts.chainRecordsChecked = report.recordsChecked
            if let (_, b) = report.firstBreak { facts.chainBreak = "\(b)" }
        }
        return facts
    }

    /// Records a verdict: the report, an audit-chain entry and the notifications (made from the new
    /// inspection's id), in one transaction.
    public func record(
        _ report: InspectionReport, actor: String, notifications: @escaping @Sendable (Int64) -> [OutboxMessage]
    ) async throws -> RecordedInspection {
        let logger = database.logger
        let json = String(decoding: try AlertStore.encoder.encode(report), as: UTF8.self)
        return try await database.transaction("record inspection") { tx in
            guard let row = try await tx.query("""
                INSERT INTO inspections (station, year, as_of, verdict, report, recorded_by)
                VALUES (\(report.station), \(report.year), \(report.asOf.description)::date, \(report.verdict.rawValue), \(json)::jsonb, \(actor))
                RETURNING id, recorded_at
                """, logger: logger).collect().first else { throw StoreError.migration("inspections insert returned nothing") }
            let (id, at) = try row.decode((Int64, Date).self)
            let failing = report.findings.filter { $0.outcome == .fail }.map(\.rule)
            let seq = try await AuditLog.append(
                actor: actor, action: "inspection.record",
                fields: [("inspection", .integer(id)), ("station", .string(report.station)), ("year", .integer(Int64(report.year))),
                         ("as_of", .string(report.asOf.description)), ("verdict", .string(report.verdict.rawValue)),
                         ("failing", .strings(failing))],
                on: tx, logger: logger)
            let ids = try await OutboxStore.enqueue(notifications(id), on: tx, logger: logger)
            return RecordedInspection(id: id, station: report.station, year: report.year, asOf: report.asOf, verdict: report.verdict,
                                      recordedBy: actor, recordedAt: at, auditSeq: seq, notifications: ids)
        }
    }

    /// The last recorded inspection of every station (for overdue inspections).
    public func lastRecorded() async throws -> [String: (year: Int, verdict: String, at: Date)] {
        let logger = database.logger
        return try await database.connection("last inspections") { conn in
            var out: [String: (Int, String, Date)] = [:]
            for try await (st, year, verdict, at) in try await conn.query("""
                SELECT DISTINCT ON (station) station, year, verdict, recorded_at FROM inspections ORDER BY station, recorded_at DESC
                """, logger: logger).decode((String, Int, String, Date).self) { out[st] = (year, verdict, at) }
            return out
        }
    }

    /// Per-station facts for the province-wide gap list: last arrival, days with data from the later
    /// of January 1 and the first day with data up to yesterday, the last inspection, and unresolved
    /// alerts older than their severity's deadline (hours since raised).
    public func gapFacts(today: CivilDate, alertDeadlineHours: [Severity: Double]) async throws -> [String: StationGapFacts] {
        let logger = database.logger
        let jan1 = CivilDate(year: today.year, month: 1, day: 1)
        let yesterday = today.adding(days: -1)
        let lastInspections = try await lastRecorded()
        return try await database.connection("inspection gaps") { conn in
            var out: [String: StationGapFacts] = [:]
            for try await (st, last) in try await conn.query("SELECT station, last_received_at FROM chain_heads", logger: logger)
                .decode((String, Date?).self) { out[st] = StationGapFacts(lastReceived: last.map(Timestamp.init)) }
            for try await (st, first, days) in try await conn.query("""
                SELECT station, to_char(GREATEST(min(day), \(jan1.description)::date), 'YYYY-MM-DD'),
                       count(*) FILTER (WHERE day >= \(jan1.description)::date AND day <= \(yesterday.description)::date)
                FROM station_days GROUP BY station
                """, logger: logger).decode((String, String, Int).self) {
                out[st, default: StationGapFacts()].dataFrom = CivilDate(iso: first)
                out[st, default: StationGapFacts()].daysWithData = days
            }
            let severities = alertDeadlineHours.keys.sorted()
            let hours = severities.map { alertDeadlineHours[$0]! }
            let severityNames = severities.map(\.rawValue)
            for try await (id, st, rule, severity, open) in try await conn.query("""
                SELECT a.id, a.station, a.rule, a.severity, extract(epoch FROM now() - a.raised_at)::float8 / 3600
                FROM alerts a JOIN UNNEST(\(severityNames)::text[], \(hours)::float8[]) AS d(severity, hours) ON d.severity = a.severity
                WHERE a.status <> 'resolved' AND a.raised_at < now() - make_interval(secs => d.hours * 3600)
                ORDER BY a.id
                """, logger: logger).decode((Int64, String, String, String, Double).self) {
                out[st, default: StationGapFacts()].overdueAlerts.append(OverdueAlert(id: id, rule: try AlertStore.value(rule, "rule"), severity: try AlertStore.value(severity, "severity"), hoursOpen: open))
            }
            for (st, i) in lastInspections {
                out[st, default: StationGapFacts()].lastInspected = LocalClock(timezone: "Asia/Shanghai").day(of: Timestamp(i.at))
            }
            return out
        }
    }
}
