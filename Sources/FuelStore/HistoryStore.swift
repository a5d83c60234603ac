import FuelLedger
import FuelModel
import AsyncAlgorithms
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// How the history export writes a record; the text is made by PostgreSQL itself.
public enum HistoryLayout: String, Sendable {
    /// `{"chain_seq":N,"source":"…","source_seq":N,"kind":"…","at":"RFC 3339","hash":"hex","record":BODY}\n`
    case ndjson
    /// `chain_seq,source,source_seq,kind,at,hash,"BODY with "" doubled"\r\n`
    case csv

    /// The `at` column as `Timestamp.rfc3339` writes it: UTC, a fraction only when there is one
    /// (PostgreSQL's ISO output drops trailing zeros too; the stream sets DateStyle ISO). Several
    /// times cheaper than `to_char`, which cost a station-year export over a second.
    static let at = "replace((at AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z'"

    var lineSQL: String {
        switch self {
        case .ndjson:
            return """
                '{"chain_seq":' || chain_seq || ',"source":"' || source || '","source_seq":' || source_seq || ',"kind":"' || kind
                || '","at":"' || \(Self.at) || '","hash":"' || encode(hash, 'hex') || '","record":' || body || E'}\\n'
                """
        case .csv:
            return """
                chain_seq || ',' || source || ',' || source_seq || ',' || kind || ',' || \(Self.at) || ',' || encode(hash, 'hex')
                || ',"' || replace(body, '"', '""') || E'"\\r\\n'
                """
        }
    }
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

    /// Where the station's chain in the database begins: its last archived record (nil when
    /// nothing of it is archived). An export goes on from there.
    public func archivedThrough(station: String) async throws -> ChainAudit.Anchor? {
        let logger = database.logger
        return try await database.connection("archived through") { conn in
            try await conn.query("SELECT seq, hash FROM ledger_anchors WHERE station = \(station)", logger: logger).collect().first
                .map { row in
                    let (seq, hash) = try row.decode((Int64, ByteBuffer).self)
                    return ChainAudit.Anchor(seq: seq, hash: Array(buffer: hash))
                }
        }
    }

    /// Calls `each` with the records of `station` (chain seq in (`firstAfter`, `headSeq`], data time in
    /// [`from`, `to`)) in chain order, as lines of `layout`, `chunkRecords` records per call. Each
    /// chunk is one query that PostgreSQL answers with the lines already joined, so a station-year
    /// (millions of rows) costs a few hundred round trips instead of a decode per row. `parallel`
    /// connections fetch alternate chunks, each at most one chunk ahead of `each` (backpressure,
    /// constant memory). No request deadline.
    /// - Returns: the number of records.
    ///
    /// Whole-chain exports go through `cache` when given: a chunk of `chunkRecords` records that
    /// the head has passed never changes (the ledger is append-only), so it is read from the cache
    /// when there and stored there after it was made.
    @discardableResult
    public func stream(
        station: String, after firstAfter: Int64 = 0, from: Date?, to: Date?, through headSeq: Int64, layout: HistoryLayout, chunkRecords: Int64 = 5_000,
        parallel: Int = 2, cache: (any HistoryChunkCache)? = nil, _ each: @escaping @Sendable (ByteBuffer) async throws -> Void
    ) async throws -> Int {
        let logger = database.logger
        var bounds: (Int64, Int64) = (firstAfter + 1, headSeq)
        if from != nil || to != nil {
            let window = try await database.client.withConnection { conn in
                let spans = try await ReceivedSpan.window(station: station, from: from ?? .distantPast, to: to ?? .distantFuture, on: conn, logger: logger)
                return try await conn.query(Self.windowQuery(station: station, from: from, to: to, through: headSeq, within: spans), logger: logger)
                    .collect().first?.decode((Int64?, Int64?).self)
            }
            guard case let (lo?, hi?)? = window else { return 0 }
            bounds = (max(lo, firstAfter + 1), hi)
        }
        let (first, last) = bounds
        guard first <= last else { return 0 }
        let chunks = Int((last - first) / chunkRecords + 1)
        // Only chunks of a whole-chain export are aligned and complete: 1…n, n+1…2n, …
        let cache = (from == nil && to == nil && firstAfter == 0) ? cache : nil
        let workers = max(1, min(parallel, chunks))
        // One channel per worker; chunk i comes from worker i % workers, so reading them in turn keeps chain order.
        let channels = (0..<workers).map { _ in AsyncThrowingChannel<(Int, ByteBuffer?), any Error>() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    do {
                        try await database.client.withConnection { conn in
                            // ISO is PostgreSQL's default; a server configured otherwise must not change the export.
                            try await conn.query("SET datestyle TO 'ISO, YMD'", logger: logger)
                            for i in stride(from: w, to: chunks, by: workers) {
                                try Task.checkCancellation()
                                let start = first + Int64(i) * chunkRecords, end = min(last, start + chunkRecords - 1)
                                let complete = end - start + 1 == chunkRecords
                                if complete, let cache, let text = await cache.chunk(station: station, layout: layout, index: i, records: chunkRecords) {
                                    await channels[w].send((Int(chunkRecords), text))
                                    continue
                                }
                                let span = try await ReceivedSpan.of(station: station, seqs: start...end, on: conn, logger: logger)
                                let row = try await conn.query(Self.chunkQuery(station: station, seqs: start...end, from: from, to: to, layout: layout,
                                                                               within: span), logger: logger).collect().first
                                let (n, text) = try row?.decode((Int, ByteBuffer?).self) ?? (0, nil)
                                if complete, n == chunkRecords, let cache, let text {
                                    await cache.store(text, station: station, layout: layout, index: i, records: chunkRecords)
                                }
                                await channels[w].send((n, text))
                            }
                        }
                        channels[w].finish()
                    } catch {
                        channels[w].fail(error)
                    }
                }
            }
            var iterators = channels.map { $0.makeAsyncIterator() }
            var records = 0
            for i in 0..<chunks {
                guard let (n, text) = try await iterators[i % workers].next() else { throw StoreError.unavailable("history stream ended early") }
                records += n
                if let text { try await each(text) }
            }
            group.cancelAll()
            return records
        }
    }

    /// The chain positions of the records with data time in [`from`, `to`) (nil: unbounded), up to
    /// `headSeq`: their first and last. Read from the (station, kind, at) index, every kind named
    /// and the times as bounds; a plain min/max would be answered by walking the primary key
    /// backwards through the station's whole chain, filtering on time (1 s for a station-day at 10 M rows).
    /// Only the months that can hold such data times are read (`spans`: `ReceivedSpan.window`): the
    /// station's newest, and the closed spans whose data times overlap the window — a late record is
    /// found wherever it landed.
    package static func windowQuery(
        station: String, from: Date?, to: Date?, through headSeq: Int64, within spans: (newest: ReceivedSpan, closed: ReceivedSpan)
    ) -> PostgresQuery {
        let kinds = RecordKind.allCases.map(\.rawValue)
        let lower = from ?? .distantPast, upper = to ?? .distantFuture
        return """
            SELECT min(s), max(s) FROM (
                SELECT chain_seq AS s FROM ledger
                WHERE station = \(station) AND kind = ANY(\(kinds)::text[]) AND at >= \(lower) AND at < \(upper)
                  AND ((received_at >= \(spans.newest.from) AND received_at < \(spans.newest.until))
                       OR (received_at >= \(spans.closed.from) AND received_at < \(spans.closed.until)))
                OFFSET 0) w
            WHERE s <= \(headSeq)
            """
    }

    /// One chunk of an export: the count and the joined lines of the records at chain positions
    /// `seqs` with data time in [`from`, `to`), read from the months that hold those positions only
    /// (`span`: `ReceivedSpan.of`).
    package static func chunkQuery(
        station: String, seqs: ClosedRange<Int64>, from: Date?, to: Date?, layout: HistoryLayout, within span: ReceivedSpan
    ) -> PostgresQuery {
        """
        SELECT count(*), string_agg(\(unescaped: layout.lineSQL), '' ORDER BY chain_seq) FROM ledger
        WHERE station = \(station) AND chain_seq BETWEEN \(seqs.lowerBound) AND \(seqs.upperBound)
          AND received_at >= \(span.from) AND received_at < \(span.until)
          AND (\(from)::timestamptz IS NULL OR at >= \(from)) AND (\(to)::timestamptz IS NULL OR at < \(to))
        """
    }
}

/// Where complete export chunks are kept once made (they never change: the ledger is append-only).
public protocol HistoryChunkCache: Sendable {
    /// The text of chunk `index` (records index·n+1 … (index+1)·n), or nil when not cached.
    func chunk(station: String, layout: HistoryLayout, index: Int, records: Int64) async -> ByteBuffer?
    /// Keeps a chunk; failures are the cache's to log, never the export's.
    func store(_ text: ByteBuffer, station: String, layout: HistoryLayout, index: Int, records: Int64) async
}
