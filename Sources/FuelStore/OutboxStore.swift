import FuelModel
import Foundation
import Logging
import PostgresNIO

/// A notification to deliver: written in the transaction of what it reports, so it is sent if and
/// only if that committed.
public struct OutboxMessage: Sendable, Hashable {
    /// What happened: `inspection.fail`, `alert.critical`.
    public var topic: String
    /// Who it is for: `department:emergency_management`, `city:210100:responsible`, …
    public var recipient: String
    /// One line for a person.
    public var subject: String
    /// The JSON document delivered as the webhook body.
    public var payload: String

    public init(topic: String, recipient: String, subject: String, payload: String) {
        self.topic = topic
        self.recipient = recipient
        self.subject = subject
        self.payload = payload
    }
}

/// A notification in the outbox with its delivery state.
public struct OutboxItem: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable { case pending, delivered, failed }
    public var id: Int64
    public var topic: String
    public var recipient: String
    public var subject: String
    public var payload: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var createdAt: Date
    public var deliveredAt: Date?
    public var lastError: String?
}

/// One delivery attempt as logged.
public struct OutboxDelivery: Sendable, Hashable {
    public var outboxID: Int64
    public var attempt: Int
    public var at: Date
    public var url: String?
    public var httpStatus: Int?
    public var error: String?
    public var millis: Int
}

/// The webhook outbox: notifications queued with what they report, claimed by a notifier, every
/// attempt logged. Claims skip rows another daemon holds, so replicas never send the same row at
/// the same time.
public struct OutboxStore: Sendable {
    /// The topics messages are queued under.
    public static let topics = ["inspection.fail", "alert.critical"]

    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Queues messages inside the caller's transaction; returns their ids.
    @discardableResult
    static func enqueue(_ messages: [OutboxMessage], on tx: PostgresConnection, logger: Logger) async throws -> [Int64] {
        guard !messages.isEmpty else { return [] }
        var ids: [Int64] = []
        let rows = try await tx.query("""
            INSERT INTO outbox (topic, recipient, subject, payload)
            SELECT t, r, s, p::jsonb FROM UNNEST(\(messages.map(\.topic))::text[], \(messages.map(\.recipient))::text[],
                                                \(messages.map(\.subject))::text[], \(messages.map(\.payload))::text[]) AS u(t, r, s, p)
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids.sorted()
    }

    /// Routes a new critical alert to its station's city contacts (Guizhou 附件2: the responsible
    /// person and the liaison), one message each, in the alert's own transaction.
    static func routeCriticalAlert(id: Int64, signal s: AlertSignal, evidence: String, on tx: PostgresConnection, logger: Logger) async throws {
        let subject = "critical \(s.rule.rawValue) at \(s.station) (\(s.subject)), alert \(id)"
        try await tx.query("""
            INSERT INTO outbox (topic, recipient, subject, payload)
            SELECT 'alert.critical', 'city:' || c.code || ':' || (ct->>'role'), \(subject),
                   jsonb_build_object('topic', 'alert.critical', 'alert', \(id), 'rule', \(s.rule.rawValue), 'station', st.id,
                                      'station_name', st.name, 'city', c.code, 'city_name', c.name, 'subject', \(s.subject),
                                      'severity', 'critical', 'opened_at', \(s.openedAt.rfc3339), 'evidence', \(evidence)::jsonb,
                                      'seq_from', \(s.seqFrom), 'seq_to', \(s.seqTo), 'contact', ct)
            FROM stations st JOIN cities c ON c.code = st.city CROSS JOIN LATERAL jsonb_array_elements(c.contacts) AS ct
            WHERE st.id = \(s.station) AND ct->>'role' IN ('responsible', 'liaison')
            ORDER BY ct->>'role'
            """, logger: logger)
    }

    /// Queues messages on their own (not tied to another write).
    @discardableResult
    public func enqueue(_ messages: [OutboxMessage]) async throws -> [Int64] {
        let logger = database.logger
        return try await database.transaction("queue notifications") { tx in try await Self.enqueue(messages, on: tx, logger: logger) }
    }

    /// Claims up to `limit` pending messages that are due and whose recipient matches `recipients`
    /// (exact names, or prefixes ending in `:`), counting the attempt and holding them for `lease`
    /// seconds: a daemon that dies mid-send leaves the row to be retried after the lease.
    public func claimDue(recipients: [String], limit: Int, leaseSeconds: Double) async throws -> [OutboxItem] {
        let logger = database.logger
        let exact = recipients.filter { !$0.hasSuffix(":") }
        let prefixes = recipients.filter { $0.hasSuffix(":") }.map { $0 + "%" }
        guard !recipients.isEmpty else { return [] }
        return try await database.transaction("claim notifications") { tx in
            let rows = try await tx.query("""
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => \(leaseSeconds))
                WHERE id IN (
                    SELECT id FROM outbox
                    WHERE status = 'pending' AND next_attempt_at <= now()
                      AND (recipient = ANY(\(exact)::text[]) OR recipient LIKE ANY(\(prefixes)::text[]))
                    ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            var out: [OutboxItem] = []
            for try await row in rows { out.append(try Self.item(row)) }
            return out.sorted { $0.id < $1.id }
        }
    }

    /// How an attempt ended.
    public enum AttemptResult: Sendable, Hashable {
        case delivered
        /// A recoverable failure: try again at this time.
        case retry(at: Date)
        /// Not to be retried (refused by the receiver, or attempts exhausted).
        case failed
    }

    /// Logs an attempt and moves the message on.
    public func record(
        _ item: OutboxItem, url: String?, httpStatus: Int?, error: String?, millis: Int, result: AttemptResult
    ) async throws {
        let logger = database.logger
        try await database.transaction("log delivery") { tx in
            try await tx.query("""
                INSERT INTO outbox_deliveries (outbox_id, attempt, url, http_status, error, millis)
                VALUES (\(item.id), \(item.attempts), \(url), \(httpStatus), \(error), \(millis))
                """, logger: logger)
            switch result {
            case .delivered:
                try await tx.query(
                    "UPDATE outbox SET status = 'delivered', delivered_at = now(), last_error = NULL WHERE id = \(item.id)", logger: logger)
            case .retry(let at):
                try await tx.query(
                    "UPDATE outbox SET next_attempt_at = \(at), last_error = \(error) WHERE id = \(item.id) AND status = 'pending'",
                    logger: logger)
            case .failed:
                try await tx.query("UPDATE outbox SET status = 'failed', last_error = \(error) WHERE id = \(item.id)", logger: logger)
            }
        }
    }

    /// Messages, newest first, optionally of one status, topic or recipient.
    public func list(status: OutboxItem.Status? = nil, topic: String? = nil, recipient: String? = nil, limit: Int = 200) async throws -> [OutboxItem] {
        let logger = database.logger
        return try await database.connection("list outbox") { conn in
            var out: [OutboxItem] = []
            for try await row in try await conn.query("""
                SELECT \(unescaped: Self.columns) FROM outbox
                WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                  AND (\(topic)::text IS NULL OR topic = \(topic))
                  AND (\(recipient)::text IS NULL OR recipient = \(recipient))
                ORDER BY id DESC LIMIT \(limit)
                """, logger: logger) { out.append(try Self.item(row)) }
            return out
        }
    }

    /// The delivery log of some messages, in attempt order.
    public func deliveries(of ids: [Int64]) async throws -> [OutboxDelivery] {
        let logger = database.logger
        guard !ids.isEmpty else { return [] }
        return try await database.connection("outbox deliveries") { conn in
            var out: [OutboxDelivery] = []
            for try await (id, attempt, at, url, status, error, millis) in try await conn.query("""
                SELECT outbox_id, attempt, at, url, http_status, error, millis FROM outbox_deliveries
                WHERE outbox_id = ANY(\(ids)) ORDER BY outbox_id, id
                """, logger: logger).decode((Int64, Int, Date, String?, Int?, String?, Int).self) {
                out.append(OutboxDelivery(outboxID: id, attempt: attempt, at: at, url: url, httpStatus: status, error: error, millis: millis))
            }
            return out
        }
    }

    static let columns = "id, topic, recipient, subject, payload::text, status, attempts, next_attempt_at, created_at, delivered_at, last_error"

    static func item(_ row: PostgresRow) throws -> OutboxItem {
        let (id, topic, recipient, subject, payload, status, attempts, next, created, delivered, error) =
            try row.decode((Int64, String, String, String, String, String, Int, Date, Date, Date?, String?).self)
        return OutboxItem(id: id, topic: topic, recipient: recipient, subject: subject, payload: payload,
                          status: OutboxItem.Status(rawValue: status) ?? .pending, attempts: attempts, nextAttemptAt: next,
                          createdAt: created, deliveredAt: delivered, lastError: error)
    }
}
