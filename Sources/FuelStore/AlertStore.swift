import FuelModel
import Foundation
import Logging
import PostgresNIO

/// An alert as regulators see it.
public struct AlertRecord: Sendable, Hashable {
    public var id: Int64
    public var fingerprint: String
    public var rule: AlertRule
    public var station: String
    public var city: String?
    public var subject: String
    public var severity: Severity
    public var status: AlertStatus
    public var openedAt: Date
    public var raisedAt: Date
    public var updatedAt: Date
    public var occurrences: Int
    /// Evidence as JSON text.
    public var evidenceJSON: String
    public var seqFrom: Int64?
    public var seqTo: Int64?
    public var acknowledgedAt: Date?
    public var acknowledgedBy: String?
    public var ackNote: String?
    public var resolvedAt: Date?
    public var resolvedBy: String?
    public var resolutionNote: String?
}

/// Filters of `GET /v1/alerts`.
public struct AlertFilter: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        case open, acknowledged, resolved
        /// Open or acknowledged.
        case active
        case all
    }
    public var status: Status = .active
    public var station: String?
    public var rule: AlertRule?
    public var city: String?
    public var severity: Severity?
    /// Only alerts whose condition was established at or after this time.
    public var since: Date?
    public var limit: Int = 500
    /// Only alerts after this one in the list's order (newest first): the next page.
    public var after: AlertCursor?

    public init() {}
}

/// A query-string filter value the alert list does not know; names the field (the API answers 400
/// with it, the console an error page).
public struct AlertQueryError: Error, CustomStringConvertible {
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
}

extension AlertFilter {
    /// `status`: open, acknowledged, resolved, active or all.
    public static func status(_ text: String) throws -> Status {
        guard let v = Status(rawValue: text) else {
            throw AlertQueryError(field: "status", message: "expected one of \(Status.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        return v
    }

    /// `rule`: one of the rules' names.
    public static func rule(_ text: String) throws -> AlertRule {
        guard let v = AlertRule(rawValue: text) else {
            throw AlertQueryError(field: "rule", message: "unknown rule \"\(text)\" (one of \(AlertRule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return v
    }

    /// `severity`: info, warning or critical.
    public static func severity(_ text: String) throws -> Severity {
        guard let v = Severity(rawValue: text) else { throw AlertQueryError(field: "severity", message: "expected info, warning or critical, got \"\(text)\"") }
        return v
    }

    /// `cursor`: a `next` the list gave.
    public static func cursor(_ text: String) throws -> AlertCursor {
        guard let v = AlertCursor(text) else { throw AlertQueryError(field: "cursor", message: "\"\(text)\" is not a cursor this API gave (use `next`)") }
        return v
    }
}

/// A place in the alert list (newest first by raise time, then id): where the next page starts.
/// Written as `<microseconds since 1970>_<id>`, opaque to clients.
public struct AlertCursor: Sendable, Hashable, CustomStringConvertible {
    public var raisedAtMicros: Int64
    public var id: Int64

    public init(raisedAtMicros: Int64, id: Int64) {
        self.raisedAtMicros = raisedAtMicros
        self.id = id
    }

    /// The cursor just past `alert`.
    public init(after alert: AlertRecord) {
        self.init(raisedAtMicros: Int64((alert.raisedAt.timeIntervalSince1970 * 1_000_000).rounded()), id: alert.id)
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "_")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = Int64(parts[1]), id > 0 else { return nil }
        self.init(raisedAtMicros: micros, id: id)
    }

    public var description: String { "\(raisedAtMicros)_\(id)" }
}

public enum AlertTransition: String, Sendable {
    case acknowledge = "ack"
    case resolve
}

/// Alert persistence: dedup by fingerprint, lifecycle open → acknowledged → resolved.
public struct AlertStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// Opens an alert, or updates the unresolved one with the same fingerprint. Returns its id and
    /// whether it is new.
    static func raise(_ s: AlertSignal, on conn: PostgresConnection, logger: Logger) async throws -> (id: Int64, isNew: Bool) {
        let evidence = String(decoding: try encoder.encode(s.evidence), as: UTF8.self)
        let row = try await conn.query("""
            WITH before AS (SELECT severity FROM alerts WHERE fingerprint = \(s.fingerprint) AND status <> 'resolved')
            INSERT INTO alerts (fingerprint, rule, station, subject, severity, status, opened_at, evidence, seq_from, seq_to)
            VALUES (\(s.fingerprint), \(s.rule.rawValue), \(s.station), \(s.subject), \(s.severity.rawValue), 'open',
                    \(s.openedAt.date), \(evidence)::jsonb, \(s.seqFrom), \(s.seqTo))
            ON CONFLICT (fingerprint) WHERE status <> 'resolved' DO UPDATE SET
                evidence = EXCLUDED.evidence,
                seq_to = GREATEST(alerts.seq_to, EXCLUDED.seq_to),
                severity = CASE WHEN EXCLUDED.severity = 'critical' OR alerts.severity = 'info'
                                THEN EXCLUDED.severity ELSE alerts.severity END,
                occurrences = alerts.occurrences + 1,
                updated_at = now()
            RETURNING id, (xmax = 0), severity, (SELECT severity FROM before)
            """, logger: logger).collect().first
        guard let row else { throw StoreError.conflict("alert \(s.fingerprint) was not stored") }
        let (id, isNew, severity, previous) = try row.decode((Int64, Bool, String, String?).self)
        // New critical alerts, and alerts that just became critical, go to the city's contacts.
        if severity == Severity.critical.rawValue && previous != Severity.critical.rawValue {
            try await OutboxStore.routeCriticalAlert(id: id, signal: s, evidence: evidence, on: conn, logger: logger)
        }
        return (id, isNew)
    }

    /// Resolves the unresolved alert with this fingerprint because its condition cleared.
    static func clear(fingerprint: String, reason: String, on conn: PostgresConnection, logger: Logger) async throws -> Int64? {
        try await conn.query("""
            UPDATE alerts SET status = 'resolved', resolved_at = now(), resolved_by = 'fuelwarden (condition cleared)',
                resolution_note = \(reason), updated_at = now()
            WHERE fingerprint = \(fingerprint) AND status <> 'resolved'
            RETURNING id
            """, logger: logger).collect().first?.decode(Int64.self)
    }

    static let columns = """
        a.id, a.fingerprint, a.rule, a.station, s.city, a.subject, a.severity, a.status, a.opened_at, a.raised_at,
        a.updated_at, a.occurrences, a.evidence::text, a.seq_from, a.seq_to, a.acknowledged_at, a.acknowledged_by,
        a.ack_note, a.resolved_at, a.resolved_by, a.resolution_note
        """

    /// A stored rule, severity or status as its enum; a value this build does not know is an error.
    static func value<E: RawRepresentable>(_ text: String, _ column: String) throws -> E where E.RawValue == String {
        guard let v = E(rawValue: text) else { throw StoreError.invalid("alerts.\(column): unknown value \"\(text)\"") }
        return v
    }

    static func decode(_ row: PostgresRow) throws -> AlertRecord {
        let r = row.makeRandomAccess()
        return AlertRecord(
            id: try r[0].decode(Int64.self), fingerprint: try r[1].decode(String.self), rule: try Self.value(r[2].decode(String.self), "rule"),
            station: try r[3].decode(String.self), city: try r[4].decode(String?.self), subject: try r[5].decode(String.self),
            severity: try Self.value(r[6].decode(String.self), "severity"), status: try Self.value(r[7].decode(String.self), "status"), openedAt: try r[8].decode(Date.self),
            raisedAt: try r[9].decode(Date.self), updatedAt: try r[10].decode(Date.self), occurrences: try r[11].decode(Int.self),
            evidenceJSON: try r[12].decode(String.self), seqFrom: try r[13].decode(Int64?.self), seqTo: try r[14].decode(Int64?.self),
            acknowledgedAt: try r[15].decode(Date?.self), acknowledgedBy: try r[16].decode(String?.self),
            ackNote: try r[17].decode(String?.self), resolvedAt: try r[18].decode(Date?.self),
            resolvedBy: try r[19].decode(String?.self), resolutionNote: try r[20].decode(String?.self))
    }

    public func list(_ f: AlertFilter) async throws -> [AlertRecord] {
        let logger = database.logger
        let statuses: [String] = switch f.status {
        case .open: ["open"]
        case .acknowledged: ["acknowledged"]
        case .resolved: ["resolved"]
        case .active: ["open", "acknowledged"]
        case .all: ["open", "acknowledged", "resolved"]
        }
        let limit = max(1, min(f.limit, 5000))
        let rule = f.rule?.rawValue, severity = f.severity?.rawValue
        let afterMicros = f.after?.raisedAtMicros, afterID = f.after?.id ?? 0
        return try await database.connection("list alerts") { conn in
            let rows = try await conn.query("""
                SELECT \(unescaped: Self.columns) FROM alerts a LEFT JOIN stations s ON s.id = a.station
                WHERE a.status = ANY(\(statuses))
                  AND (\(f.station)::text IS NULL OR a.station = \(f.station))
                  AND (\(rule)::text IS NULL OR a.rule = \(rule))
                  AND (\(f.city)::text IS NULL OR s.city = \(f.city))
                  AND (\(severity)::text IS NULL OR a.severity = \(severity))
                  AND (\(f.since)::timestamptz IS NULL OR a.opened_at >= \(f.since))
                  AND (\(afterMicros)::bigint IS NULL
                       OR (a.raised_at, a.id) < (timestamptz 'epoch' + \(afterMicros) * interval '1 microsecond', \(afterID)))
                ORDER BY a.raised_at DESC, a.id DESC LIMIT \(limit)
                """, logger: logger)
            var out: [AlertRecord] = []
            for try await row in rows { out.append(try Self.decode(row)) }
            return out
        }
    }

    public func get(id: Int64) async throws -> AlertRecord? {
        let logger = database.logger
        return try await database.connection("get alert") { conn in
            guard let row = try await conn.query(
                "SELECT \(unescaped: Self.columns) FROM alerts a LEFT JOIN stations s ON s.id = a.station WHERE a.id = \(id)",
                logger: logger).collect().first else { return nil }
            return try Self.decode(row)
        }
    }

    /// Acknowledges or resolves an alert by hand, recording the action in the audit chain.
    public func transition(id: Int64, _ t: AlertTransition, note: String, actor: String) async throws -> AlertRecord {
        let logger = database.logger
        return try await database.transaction("\(t.rawValue) alert") { tx in
            guard let status = try await tx.query("SELECT status FROM alerts WHERE id = \(id) FOR UPDATE", logger: logger)
                .collect().first?.decode(String.self) else {
                throw StoreError.notFound("alert \(id) does not exist")
            }
            switch (t, status) {
            case (_, "resolved"):
                throw StoreError.conflict("alert \(id) is already resolved")
            case (.acknowledge, "acknowledged"):
                throw StoreError.conflict("alert \(id) is already acknowledged")
            case (.acknowledge, _):
                try await tx.query("""
                    UPDATE alerts SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = \(actor),
                        ack_note = \(note), updated_at = now() WHERE id = \(id)
                    """, logger: logger)
            case (.resolve, _):
                try await tx.query("""
                    UPDATE alerts SET status = 'resolved', resolved_at = now(), resolved_by = \(actor),
                        resolution_note = \(note), updated_at = now() WHERE id = \(id)
                    """, logger: logger)
            }
            try await AuditLog.append(
                actor: actor, action: "alert.\(t.rawValue)",
                fields: [("alert", .integer(id)), ("note", .string(note)), ("previous_status", .string(status))],
                on: tx, logger: logger)
            guard let row = try await tx.query(
                "SELECT \(unescaped: Self.columns) FROM alerts a LEFT JOIN stations s ON s.id = a.station WHERE a.id = \(id)",
                logger: logger).collect().first else { throw StoreError.notFound("alert \(id) does not exist") }
            return try Self.decode(row)
        }
    }

    /// Alerts raised after `id` (by id, oldest first, at most `limit`): what a live stream sends next.
    public func raised(after id: Int64, limit: Int = 100) async throws -> [AlertRecord] {
        let logger = database.logger
        return try await database.connection("alerts after") { conn in
            let rows = try await conn.query("""
                SELECT \(unescaped: Self.columns) FROM alerts a LEFT JOIN stations s ON s.id = a.station
                WHERE a.id > \(id) ORDER BY a.id LIMIT \(limit)
                """, logger: logger)
            var out: [AlertRecord] = []
            for try await row in rows { out.append(try Self.decode(row)) }
            return out
        }
    }

    /// The channel a new alert's id is announced on at commit (migration 0011's trigger).
    public static let raisedChannel = "fuelwarden_alerts"

    /// Listens on one connection for the ids of alerts as their transactions commit, calling
    /// `onListening` once the LISTEN is in place and `onID` for each; returns when the task is
    /// cancelled, throws when the connection fails (the caller reconnects and catches up by id).
    public func listenForRaised(onListening: @escaping @Sendable () async -> Void, onID: @escaping @Sendable (Int64) async -> Void) async throws {
        try await database.longConnection("alert listener") { conn in
            try await conn.listen(on: Self.raisedChannel) { notifications in
                await onListening()
                for try await n in notifications {
                    if let id = Int64(n.payload) { await onID(id) }
                }
            }
        }
    }

    /// The alerts with these ids, by id.
    public func alerts(ids: [Int64]) async throws -> [AlertRecord] {
        guard !ids.isEmpty else { return [] }
        let logger = database.logger
        return try await database.connection("alerts by id") { conn in
            let rows = try await conn.query("""
                SELECT \(unescaped: Self.columns) FROM alerts a LEFT JOIN stations s ON s.id = a.station
                WHERE a.id = ANY(\(ids)::bigint[]) ORDER BY a.id
                """, logger: logger)
            var out: [AlertRecord] = []
            for try await row in rows { out.append(try Self.decode(row)) }
            return out
        }
    }

    /// The newest alert's id (0 when there is none): where a live stream without `Last-Event-ID` starts.
    public func latestID() async throws -> Int64 {
        let logger = database.logger
        return try await database.connection("latest alert") { conn in
            try await conn.query("SELECT COALESCE(max(id), 0)::bigint FROM alerts", logger: logger).collect().first?.decode(Int64.self) ?? 0
        }
    }

    /// Active alerts counted by severity and by rule (the board's summary), under the same
    /// station/city filters as the list.
    public func activeCounts(city: String? = nil, station: String? = nil) async throws -> (bySeverity: [Severity: Int], byRule: [AlertRule: Int]) {
        let logger = database.logger
        return try await database.connection("count active alerts") { conn in
            var sev: [Severity: Int] = [:], rules: [AlertRule: Int] = [:]
            let rows = try await conn.query("""
                SELECT a.severity, a.rule, count(*)::bigint FROM alerts a LEFT JOIN stations s ON s.id = a.station
                WHERE a.status <> 'resolved' AND (\(city)::text IS NULL OR s.city = \(city))
                  AND (\(station)::text IS NULL OR a.station = \(station))
                GROUP BY a.severity, a.rule
                """, logger: logger)
            for try await (s, r, n) in rows.decode((String, String, Int64).self) {
                if let s = Severity(rawValue: s) { sev[s, default: 0] += Int(n) }
                if let r = AlertRule(rawValue: r) { rules[r, default: 0] += Int(n) }
            }
            return (sev, rules)
        }
    }

    /// Open alerts by rule (for metrics).
    public func openCounts() async throws -> [String: Int] {
        let logger = database.logger
        return try await database.connection("count alerts") { conn in
            var out: [String: Int] = [:]
            for try await (rule, n) in try await conn.query(
                "SELECT rule, count(*)::bigint FROM alerts WHERE status <> 'resolved' GROUP BY rule", logger: logger
            ).decode((String, Int64).self) { out[rule] = Int(n) }
            return out
        }
    }
}
