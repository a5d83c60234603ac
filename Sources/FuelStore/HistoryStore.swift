import FuelLedger
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A ledger row as the history export gives it.
public struct HistoryRow: Sendable {
    public var chainSeq: Int64
    public var source: String
    public var sourceSeq: Int64
    public var kind: String
    public var at: Date
    /// The canonical body (JSON) the chain hashes.
    public var body: String
    public var hash: Digest32
}

/// A station's records in chain order, streamed from the database (constant memory), up to a
/// chain head read first so that the export and the head it names agree.
public struct HistoryStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// The station's chain head now, or nil when the station has no chain.
    public func head(station: String) async throws -> (seq: Int64, hash: Digest32)? {
        let logger = database.logger
        return try await database.connection("chain head") { conn in
            guard let row = try await conn.query("SELECT head_seq, head_hash FROM chain_heads WHERE station = \(station)", logger: logger)
                .collect().first else { return nil }
            let (seq, hash) = try row.decode((Int64, ByteBuffer).self)
            return (seq, Array(buffer: hash))
        }
    }

    /// Calls `each` for every record of `station` with chain seq ≤ `headSeq` and data time in
    /// [`from`, `to`), in chain order. No request deadline: a station-year is millions of rows.
    public func stream(station: String, from: Date?, to: Date?, through headSeq: Int64,
                       _ each: @escaping @Sendable (HistoryRow) async throws -> Void) async throws {
        let logger = database.logger
        try await database.client.withConnection { conn in
            let rows = try await conn.query("""
                SELECT chain_seq, source, source_seq, kind, at, body, hash FROM ledger
                WHERE station = \(station) AND chain_seq <= \(headSeq)
                  AND (\(from)::timestamptz IS NULL OR at >= \(from)) AND (\(to)::timestamptz IS NULL OR at < \(to))
                ORDER BY chain_seq
                """, logger: logger)
            for try await (seq, source, sourceSeq, kind, at, body, hash) in rows.decode((Int64, String, Int64, String, Date, String, ByteBuffer).self) {
                try await each(HistoryRow(chainSeq: seq, source: source, sourceSeq: sourceSeq, kind: kind, at: at, body: body, hash: Array(buffer: hash)))
            }
        }
    }
}
