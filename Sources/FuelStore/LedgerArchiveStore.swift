import FuelLedger
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A station's stretch of chain in one period of the ledger.
public struct PeriodSpan: Sendable, Hashable {
    public var station: String
    public var firstSeq: Int64
    public var lastSeq: Int64
    public var records: Int64
    /// Per source, the highest source sequence in the period.
    public var maxSourceSeqs: [String: Int64]
    /// The hash the first record links to (its predecessor's, or the genesis).
    public var previousHash: Digest32
    /// What the chain after the period must link to: the hash of the period's last record as the
    /// database recorded it in the next record's `prev_hash`, or the station's head when the
    /// period holds the head.
    public var successorLinksTo: Digest32
}

/// The database side of archiving a period of the ledger (`fuelwarden archive`): what a period
/// holds, the anchors that let the chains go on without it, and detaching and dropping it. The
/// files are written and checked by the caller (``LedgerArchiver`` in FuelService) before
/// ``retire(_:spans:archive:)`` is called.
public struct LedgerArchiveStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Whether `name` is a partition name as migration 0014 makes them (it is put into SQL as an identifier).
    static func checked(_ name: String) throws -> String {
        guard name.hasPrefix("ledger_"), name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }) else {
            throw StoreError.invalid("\(name) is not a ledger partition")
        }
        return name
    }

    /// The live periods that may be archived: ended by `before` and by `now` (a month still being
    /// appended to is never archived), oldest first.
    public func archivable(before: Date, now: Date = Date()) async throws -> [LedgerPeriod] {
        try await LedgerPeriods(database: database).list().filter { !$0.archived && $0.ends <= before && $0.ends <= now }
    }

    /// The stations with records in `period`, each with its stretch and the hashes it links to.
    public func spans(in period: LedgerPeriod) async throws -> [PeriodSpan] {
        let table = try Self.checked(period.name)
        let logger = database.logger
        return try await database.longConnection("period \(table)") { conn in
            var spans: [String: PeriodSpan] = [:]
            let rows = try await conn.query(PostgresQuery(unsafeSQL: """
                SELECT station, min(chain_seq), max(chain_seq), count(*) FROM \(table) GROUP BY station ORDER BY station
                """), logger: logger)
            for try await (station, first, last, n) in rows.decode((String, Int64, Int64, Int64).self) {
                spans[station] = PeriodSpan(station: station, firstSeq: first, lastSeq: last, records: n, maxSourceSeqs: [:],
                                            previousHash: HashChain.genesis, successorLinksTo: HashChain.genesis)
            }
            let sources = try await conn.query(PostgresQuery(unsafeSQL: """
                SELECT station, source, max(source_seq) FROM \(table) GROUP BY station, source
                """), logger: logger)
            for try await (station, source, seq) in sources.decode((String, String, Int64).self) { spans[station]?.maxSourceSeqs[source] = seq }
            let anchors = try await ChainAudit.anchors(on: conn, logger: logger)
            for (station, span) in spans {
                var s = span
                // The first record's own prev_hash is what it links to; the file's check recomputes it.
                let firstLink = try await conn.query("SELECT prev_hash FROM ledger WHERE station = \(station) AND chain_seq = \(span.firstSeq)",
                                                     logger: logger).collect().first?.decode(ByteBuffer.self)
                s.previousHash = firstLink.map { Array(buffer: $0) } ?? HashChain.genesis
                // Periods are archived oldest first: each station's stretch goes on from what is archived already.
                let archivedUpTo = anchors[station]?.seq ?? 0
                guard span.firstSeq == archivedUpTo + 1 else {
                    throw StoreError.invalid("station \(station): \(period.name) begins at seq \(span.firstSeq), its archived chain ends at \(archivedUpTo)")
                }
                guard span.lastSeq - span.firstSeq + 1 == span.records else {
                    throw StoreError.invalid("station \(station): \(period.name) holds \(span.records) records for seqs \(span.firstSeq)…\(span.lastSeq): not one stretch")
                }
                if let next = try await conn.query("SELECT prev_hash FROM ledger WHERE station = \(station) AND chain_seq = \(span.lastSeq + 1)",
                                                   logger: logger).collect().first?.decode(ByteBuffer.self) {
                    s.successorLinksTo = Array(buffer: next)
                } else {
                    let head = try await conn.query("SELECT head_seq, head_hash FROM chain_heads WHERE station = \(station)", logger: logger)
                        .collect().first?.decode((Int64, ByteBuffer).self)
                    guard let (headSeq, headHash) = head, headSeq == span.lastSeq else {
                        throw StoreError.invalid("station \(station): the record after seq \(span.lastSeq) is missing, and that is not its head")
                    }
                    s.successorLinksTo = Array(buffer: headHash)
                }
                spans[station] = s
            }
            return spans.values.sorted { $0.station < $1.station }
        }
    }

    /// Records the period as archived (its files checked): each station's chain now begins after
    /// its last record there, resends of its sequences are refused, and the period names its archive.
    /// One transaction; the partition itself is dropped next by ``drop(_:)``.
    public func retire(_ period: LedgerPeriod, spans: [PeriodSpan], archive: String) async throws {
        let logger = database.logger
        let periodName = period.name
        _ = try await database.longConnection("retire \(periodName)") { conn in
            try await conn.withTransaction(logger: logger) { tx in
                // Each station's last record of the period, by its hash as the chain recorded it.
                let stations = spans.map(\.station), seqs = spans.map(\.lastSeq)
                let hashes = try await tx.query("""
                    SELECT l.station, l.hash FROM UNNEST(\(stations)::text[], \(seqs)::bigint[]) AS u(station, seq)
                    JOIN ledger l ON l.station = u.station AND l.chain_seq = u.seq
                    """, logger: logger).collect().map { try $0.decode((String, ByteBuffer).self) }
                guard hashes.count == spans.count else { throw StoreError.invalid("\(periodName): a station's last record is missing") }
                let lastHash = Dictionary(uniqueKeysWithValues: hashes)
                try await tx.query("""
                    INSERT INTO ledger_anchors (station, seq, hash, period)
                    SELECT * FROM UNNEST(\(stations)::text[], \(seqs)::bigint[], \(spans.map { lastHash[$0.station]! })::bytea[],
                                         \(Array(repeating: periodName, count: spans.count))::text[])
                    ON CONFLICT (station) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, period = EXCLUDED.period, archived_at = now()
                    WHERE ledger_anchors.seq < EXCLUDED.seq
                    """, logger: logger)
                let bySource = spans.flatMap { s in s.maxSourceSeqs.map { (s.station, $0.key, $0.value) } }
                try await tx.query("""
                    INSERT INTO ledger_archived_seqs (station, source, max_source_seq)
                    SELECT * FROM UNNEST(\(bySource.map(\.0))::text[], \(bySource.map(\.1))::text[], \(bySource.map(\.2))::bigint[])
                    ON CONFLICT (station, source) DO UPDATE SET max_source_seq = GREATEST(ledger_archived_seqs.max_source_seq, EXCLUDED.max_source_seq)
                    """, logger: logger)
                try await tx.query("""
                    UPDATE ledger_periods SET state = 'archived', archived_at = now(), archive = \(archive)::jsonb WHERE name = \(periodName)
                    """, logger: logger)
                // Its seqs are answered from ledger_archived_seqs from now on.
                try await tx.query("DELETE FROM ledger_source_ranges WHERE period = \(periodName)", logger: logger)
            }
        }
    }

    /// Detaches the archived period's partition without blocking the append (CONCURRENTLY) and
    /// drops it. Safe to run again after a stop halfway.
    public func drop(_ period: LedgerPeriod) async throws {
        let table = try Self.checked(period.name)
        let logger = database.logger
        _ = try await database.longConnection("drop \(table)") { conn in
            let state = try await conn.query("SELECT state FROM ledger_periods WHERE name = \(table)", logger: logger).collect().first?.decode(String.self)
            guard state == "archived" else { throw StoreError.invalid("\(table) is not archived; it is not dropped") }
            let attached = try await conn.query("""
                SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(\(table)) AND inhparent = 'ledger'::regclass)
                """, logger: logger).collect().first?.decode(Bool.self) ?? false
            if attached {
                // A detach stopped halfway is finished rather than started again.
                let pending = try await conn.query("""
                    SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(\(table))
                    """, logger: logger).collect().first?.decode(Bool.self) ?? false
                try await conn.query(PostgresQuery(unsafeSQL: "ALTER TABLE ledger DETACH PARTITION \(table) \(pending ? "FINALIZE" : "CONCURRENTLY")"),
                                     logger: logger)
            }
            try await conn.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)"), logger: logger)
        }
    }
}
