import FuelLedger
import FuelModel
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The audit chain: regulator actions and registry edits, hash-chained like a station's records.
public enum AuditLog {
    /// Appends an entry inside the caller's transaction (the head row lock serialises writers);
    /// returns its position in the audit chain.
    @discardableResult
    static func append(
        actor: String, action: String, fields: [(String, FieldValue)], on tx: PostgresConnection, logger: Logger
    ) async throws -> Int64 {
        guard let head = try await tx.query("SELECT head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE", logger: logger)
            .collect().first else { throw StoreError.migration("audit_head is missing") }
        let (seq, hash) = try head.decode((Int64, ByteBuffer).self)
        let now = Timestamp(Date())
        var body = "{\"action\":"
        JSONText.appendString(action, to: &body)
        body += ",\"actor\":"
        JSONText.appendString(actor, to: &body)
        body += ",\"at\":\"\(now.rfc3339)\""
        for (k, v) in fields {
            body += ","
            JSONText.appendString(k, to: &body)
            body += ":"
            v.appendJSON(to: &body)
        }
        body += "}"
        let suite = try await LedgerSuiteStore.current(on: tx, logger: logger)
        var appender = ChainAppender(headPosition: seq, headHash: Array(buffer: hash), suite: suite)
        let link = appender.append(body: Array(body.utf8))
        let prev = ByteBuffer(bytes: link.previous), h = ByteBuffer(bytes: link.hash)
        try await tx.query("""
            INSERT INTO audit_log (seq, at, actor, action, body, prev_hash, hash)
            VALUES (\(link.position), \(now.date), \(actor), \(action), \(body), \(prev), \(h))
            """, logger: logger)
        try await tx.query("UPDATE audit_head SET head_seq = \(link.position), head_hash = \(h) WHERE id = 1", logger: logger)
        return link.position
    }
}
