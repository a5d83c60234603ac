import FuelLedger
import FuelModel
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A decoded, validated record on its way into the ledger.
public struct IncomingRecord: Sendable {
    /// 1-based line in the request (or packet number of a feed).
    public var line: Int
    public var raw: String
    public var source: RecordSource
    public var sourceSeq: Int64
    public var record: Record

    public init(line: Int, raw: String, source: RecordSource, sourceSeq: Int64, record: Record) {
        self.line = line
        self.raw = raw
        self.source = source
        self.sourceSeq = sourceSeq
        self.record = record
    }
}

/// Input that could not be decoded or validated; it goes to quarantine with the reason.
public struct RejectedInput: Sendable {
    public var line: Int
    public var raw: String
    public var seq: Int64?
    public var reason: String

    public init(line: Int, raw: String, seq: Int64?, reason: String) {
        self.line = line
        self.raw = raw
        self.seq = seq
        self.reason = reason
    }
}

/// A record a feed collected, identified by its natural key (e.g. `1/T1/2026-11-01T08:00:00Z`).
public struct CollectedRecord: Sendable {
    public var key: String
    /// Position in the feed's input (packet or reply number), for quarantine and logs.
    public var line: Int
    public var raw: String
    public var record: Record

    public init(key: String, line: Int = 0, raw: String, record: Record) {
        self.key = key
        self.line = line
        self.raw = raw
        self.record = record
    }
}

/// What one append committed.
public struct AppendOutcome: Sendable {
    public var accepted: Int = 0
    public var duplicates: Int = 0
    /// Rejections in line order: the caller's own plus the conflicts found here.
    public var rejected: [RejectedInput] = []
    /// Seq conflicts (same source sequence, other content) found in this append.
    public var conflicts: Int = 0
    /// The new chain head after the append.
    public var headSeq: Int64 = 0
    /// Counts by kind of what was appended and what was a duplicate (for metrics).
    public var appendedByKind: [RecordKind: Int] = [:]
    public var duplicatesByKind: [RecordKind: Int] = [:]
}

/// Appends a station's records to its hash chain.
public struct LedgerStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Appends `records` to `station`'s chain in one transaction: idempotent on (source, source_seq),
    /// conflicting content rejected, quarantined and alerted, rejected input quarantined; one
    /// multi-row insert for all rows. When this returns, everything it reports is committed.
    public func append(station: String, records: [IncomingRecord], rejected: [RejectedInput]) async throws -> AppendOutcome {
        let logger = database.logger
        return try await database.transaction("append to \(station)") { tx in
            try await Self.append(station: station, records: records, rejected: rejected, on: tx, logger: logger)
        }
    }

    static func append(
        station: String, records: [IncomingRecord], rejected: [RejectedInput], on tx: PostgresConnection, logger: Logger
    ) async throws -> AppendOutcome {
        guard let head = try await tx.query(
            "SELECT head_seq, head_hash, max_push_seq, records_frontier FROM chain_heads WHERE station = \(station) FOR UPDATE", logger: logger
        ).collect().first else {
            throw StoreError.notFound("station \(station) is not in the registry")
        }
        let (headSeq, headHashBuffer, maxPushSeq, frontierBytes) = try head.decode((Int64, ByteBuffer, Int64?, ByteBuffer?).self)
        var appender = ChainAppender(headPosition: headSeq, headHash: Array(buffer: headHashBuffer))

        // Bodies and content hashes, then the existing content of any source sequence already seen.
        let bodies = records.map { CanonicalEncoding.encode(station: station, source: $0.source, sourceSeq: $0.sourceSeq, record: $0.record) }
        let contents = bodies.map { HashChain.contentHash($0) }
        var existing: [String: Digest32] = [:]
        for src in Set(records.map(\.source)) {
            let seqs = records.filter { $0.source == src && (src != .push || $0.sourceSeq <= (maxPushSeq ?? -1)) }.map(\.sourceSeq)
            guard !seqs.isEmpty else { continue }
            let rows = try await tx.query(
                "SELECT source_seq, content_hash FROM ledger WHERE station = \(station) AND source = \(src.rawValue) AND source_seq = ANY(\(seqs))",
                logger: logger)
            for try await (seq, hash) in rows.decode((Int64, ByteBuffer).self) {
                existing["\(src.rawValue)/\(seq)"] = Array(buffer: hash)
            }
        }

        var outcome = AppendOutcome()
        var rejects = rejected
        // The records tree grows with the chain, read when the first record is appended; a station whose
        // tree was never built gets it from the ledger then, once.
        var frontier: MerkleFrontier? = nil
        var conflictSignals: [(record: IncomingRecord, recorded: Digest32, offered: Digest32)] = []
        // Rows go in with COPY (text format) inside the transaction: the fastest bulk path PostgreSQL
        // has, so the chain costs little more than the raw insert.
        var copy = ByteBuffer()
        var appended = 0
        var maxAt: Timestamp?
        var newMaxPush = maxPushSeq
        // Appended records per quarter hour (every real UTC offset is a multiple of 15 min), turned
        // into the station's local days by the database.
        var quarterHours: [Int64: Int64] = [:]
        // Tanks whose batch mix a delivery changes, from the earliest such delivery on.
        var deliveredTanks: [String: Timestamp] = [:]
        for (i, r) in records.enumerated() {
            let key = "\(r.source.rawValue)/\(r.sourceSeq)"
            if let prior = existing[key] {
                if prior == contents[i] {
                    outcome.duplicates += 1
                    outcome.duplicatesByKind[r.record.kind, default: 0] += 1
                } else {
                    outcome.conflicts += 1
                    conflictSignals.append((r, prior, contents[i]))
                    rejects.append(RejectedInput(
                        line: r.line, raw: r.raw, seq: r.sourceSeq,
                        reason: "seq: \(r.sourceSeq) is already recorded with different content (seq conflict)"))
                }
                continue
            }
            existing[key] = contents[i]
            if frontier == nil {
                frontier = try await RecordsTree.frontier(station: station, headSeq: headSeq, stored: frontierBytes, on: tx, logger: logger)
            }
            let link = appender.append(body: bodies[i])
            frontier?.append(leafData: link.hash)
            let at = r.record.at
            maxAt = max(maxAt ?? at, at)
            let us = at.microseconds
            quarterHours[(us >= 0 ? us / 900_000_000 : (us - 899_999_999) / 900_000_000) * 900, default: 0] += 1
            CopyText.row(
                into: &copy, station: station, chainSeq: link.position, source: r.source.rawValue, sourceSeq: r.sourceSeq,
                kind: r.record.kind.rawValue, at: at.rfc3339, body: bodies[i], contentHash: contents[i],
                previous: link.previous, hash: link.hash)
            appended += 1
            outcome.appendedByKind[r.record.kind, default: 0] += 1
            if case .delivery(let d) = r.record { deliveredTanks[d.tank] = min(deliveredTanks[d.tank] ?? d.startedAt, d.startedAt) }
            if r.source == .push { newMaxPush = max(newMaxPush ?? r.sourceSeq, r.sourceSeq) }
        }
        outcome.accepted = appended

        if appended > 0 {
            try await tx.copyFrom(table: "ledger", columns: CopyText.ledgerColumns, logger: logger) { writer in
                try await writer.write(copy)
            }
            let headHash = ByteBuffer(bytes: appender.headHash)
            let frontierBuffer = frontier.map { ByteBuffer(bytes: $0.bytes) }
            try await tx.query("""
                UPDATE chain_heads SET head_seq = \(appender.headPosition), head_hash = \(headHash), records_frontier = \(frontierBuffer),
                    max_push_seq = \(newMaxPush), last_record_at = GREATEST(last_record_at, \(maxAt?.date)),
                    last_received_at = now()
                WHERE station = \(station)
                """, logger: logger)
            try await tx.query("""
                INSERT INTO station_days (station, day, records)
                SELECT \(station), (to_timestamp(q) AT TIME ZONE s.timezone)::date, sum(n)
                FROM UNNEST(\(Array(quarterHours.keys))::bigint[], \(Array(quarterHours.values))::bigint[]) AS u(q, n)
                JOIN stations s ON s.id = \(station)
                GROUP BY 2
                ON CONFLICT (station, day) DO UPDATE SET records = station_days.records + EXCLUDED.records
                """, logger: logger)
            for (tank, from) in deliveredTanks.sorted(by: { $0.key < $1.key }) {
                try await ProvenanceStore.recompute(station: station, tank: tank, from: from, on: tx, logger: logger)
            }
        } else if !records.isEmpty {
            // Only duplicates or conflicts: the feed is alive all the same.
            try await tx.query("UPDATE chain_heads SET last_received_at = now() WHERE station = \(station)", logger: logger)
        }
        outcome.headSeq = appender.headPosition

        if !rejects.isEmpty {
            rejects.sort { $0.line < $1.line }
            try await QuarantineStore.insert(station: station, source: records.first?.source ?? .push, rejects, on: tx, logger: logger)
        }
        outcome.rejected = rejects

        for (r, prior, offered) in conflictSignals {
            let signal = AlertSignal(
                rule: .seqConflict, station: station, subject: r.source.rawValue, severity: .warning, openedAt: r.record.at,
                evidence: [
                    "source_seq": .integer(r.sourceSeq),
                    "line": .integer(Int64(r.line)),
                    "recorded_content_sha256": .text(prior.hexString),
                    "offered_content_sha256": .text(offered.hexString),
                ],
                seqFrom: appender.headPosition, seqTo: appender.headPosition)
            _ = try await AlertStore.raise(signal, on: tx, logger: logger)
        }
        return outcome
    }

    /// Appends records the daemon collected itself (ATG poller, HJ 212 listener): each is numbered
    /// with the next source sequence of `source` for the station, and its natural key makes a
    /// re-collected record a duplicate. Conflicting content under a known key is not possible
    /// (the key is what the content is identified by), so a re-sent key is always a no-op.
    public func appendCollected(station: String, source: RecordSource, records: [CollectedRecord], rejected: [RejectedInput]) async throws -> AppendOutcome {
        let logger = database.logger
        return try await database.transaction("collect for \(station)") { tx in
            guard try await tx.query("SELECT 1 FROM chain_heads WHERE station = \(station) FOR UPDATE", logger: logger)
                .collect().first != nil else {
                throw StoreError.notFound("station \(station) is not in the registry")
            }
            let keys = records.map(\.key)
            var known = Set<String>()
            if !keys.isEmpty {
                let rows = try await tx.query(
                    "SELECT natural_key FROM collected_keys WHERE station = \(station) AND source = \(source.rawValue) AND natural_key = ANY(\(keys))",
                    logger: logger)
                for try await key in rows.decode(String.self) { known.insert(key) }
            }
            var next = try await tx.query(
                "SELECT coalesce(max(source_seq), 0) FROM ledger WHERE station = \(station) AND source = \(source.rawValue)", logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
            var incoming: [IncomingRecord] = []
            var newKeys: [String] = []
            var newSeqs: [Int64] = []
            var duplicates: [RecordKind: Int] = [:]
            for r in records {
                guard known.insert(r.key).inserted else {
                    duplicates[r.record.kind, default: 0] += 1
                    continue
                }
                next += 1
                incoming.append(IncomingRecord(line: r.line, raw: r.raw, source: source, sourceSeq: next, record: r.record))
                newKeys.append(r.key)
                newSeqs.append(next)
            }
            if !newKeys.isEmpty {
                try await tx.query("""
                    INSERT INTO collected_keys (station, source, natural_key, source_seq)
                    SELECT \(station), \(source.rawValue), k, s FROM UNNEST(\(newKeys)::text[], \(newSeqs)::bigint[]) AS u(k, s)
                    """, logger: logger)
            }
            var outcome = try await Self.append(station: station, records: incoming, rejected: rejected, on: tx, logger: logger)
            outcome.duplicates += duplicates.values.reduce(0, +)
            outcome.duplicatesByKind.merge(duplicates, uniquingKeysWith: +)
            if incoming.isEmpty && !records.isEmpty {
                try await tx.query("UPDATE chain_heads SET last_received_at = now() WHERE station = \(station)", logger: logger)
            }
            return outcome
        }
    }

    /// A station's committed entries after `cursor`, in chain order, as stored bodies.
    public func entries(station: String, after cursor: Int64, limit: Int) async throws -> [StoredEntry] {
        let logger = database.logger
        return try await database.connection("read \(station)") { conn in
            var out: [StoredEntry] = []
            let rows = try await conn.query("""
                SELECT chain_seq, source, source_seq, body, received_at FROM ledger
                WHERE station = \(station) AND chain_seq > \(cursor) ORDER BY chain_seq LIMIT \(limit)
                """, logger: logger)
            for try await (seq, source, sourceSeq, body, received) in rows.decode((Int64, String, Int64, String, Date).self) {
                out.append(StoredEntry(chainSeq: seq, source: RecordSource(rawValue: source) ?? .push, sourceSeq: sourceSeq, body: body,
                                       receivedAt: received))
            }
            return out
        }
    }
}

/// A ledger row as stored: the canonical body still to be decoded.
public struct StoredEntry: Sendable, Hashable {
    public var chainSeq: Int64
    public var source: RecordSource
    public var sourceSeq: Int64
    public var body: String
    /// When the daemon committed it (wall clock).
    public var receivedAt: Date?
}

/// Rejected input, kept with its raw text and the reason.
public enum QuarantineStore {
    static func insert(station: String?, source: RecordSource, _ rejects: [RejectedInput], on conn: PostgresConnection, logger: Logger) async throws {
        let lines = rejects.map { Int32(clamping: $0.line) }
        let seqs = rejects.map { $0.seq ?? -1 }
        // Keep raw input bounded: a quarantined line is evidence of what arrived, not a blob store.
        let raws = rejects.map { storable(String($0.raw.prefix(65_536))) }
        let reasons = rejects.map { storable($0.reason) }
        try await conn.query("""
            INSERT INTO quarantine (station, source, line, seq, raw, reason)
            SELECT \(station), \(source.rawValue), l, NULLIF(s, -1), r, why
            FROM UNNEST(\(lines)::integer[], \(seqs)::bigint[], \(raws)::text[], \(reasons)::text[]) AS u(l, s, r, why)
            """, logger: logger)
    }

    /// PostgreSQL text cannot hold NUL: it is kept as the visible escape `\u0000` (a NUL in a
    /// rejected line must not make the whole push fail).
    static func storable(_ s: String) -> String {
        guard s.utf8.contains(0) else { return s }
        // By scalar: a NUL followed by a combining mark is one Character, which a string replace would miss.
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value == 0 { out.append(contentsOf: "\\u0000".unicodeScalars) } else { out.append(u) }
        }
        return String(out)
    }

    /// Quarantines input that never reached a station's chain (e.g. an unparsable request).
    public static func record(_ database: FuelDatabase, station: String?, source: RecordSource, _ rejects: [RejectedInput]) async throws {
        let logger = database.logger
        try await database.connection("quarantine") { conn in
            try await insert(station: station, source: source, rejects, on: conn, logger: logger)
        }
    }
}

/// PostgreSQL COPY text format for ledger rows.
enum CopyText {
    static let ledgerColumns = ["station", "chain_seq", "source", "source_seq", "kind", "at", "body", "content_hash", "prev_hash", "hash"]
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func row(
        into buf: inout ByteBuffer, station: String, chainSeq: Int64, source: String, sourceSeq: Int64, kind: String,
        at: String, body: [UInt8], contentHash: [UInt8], previous: [UInt8], hash: [UInt8]
    ) {
        text(station, into: &buf)
        buf.writeString("\t\(chainSeq)\t")
        text(source, into: &buf)
        buf.writeString("\t\(sourceSeq)\t")
        text(kind, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        buf.writeString(at)
        buf.writeInteger(UInt8(ascii: "\t"))
        escaped(body, into: &buf)
        for h in [contentHash, previous, hash] {
            buf.writeInteger(UInt8(ascii: "\t"))
            bytea(h, into: &buf)
        }
        buf.writeInteger(UInt8(ascii: "\n"))
    }

    static func text(_ s: String, into buf: inout ByteBuffer) { escaped(Array(s.utf8), into: &buf) }

    /// Backslash, tab, newline and carriage return are the characters COPY text gives meaning to.
    static func escaped(_ bytes: [UInt8], into buf: inout ByteBuffer) {
        // Canonical bodies are JSON: tabs and newlines never occur raw, backslashes rarely.
        if !bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            buf.writeBytes(bytes)
            return
        }
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"): buf.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buf.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buf.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buf.writeStaticString("\\r")
            default: buf.writeInteger(b)
            }
        }
    }

    /// `\\x` + hex: the bytea hex format, with its backslash escaped for COPY.
    static func bytea(_ bytes: [UInt8], into buf: inout ByteBuffer) {
        buf.writeStaticString("\\\\x")
        buf.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = hexDigits[Int(b >> 4)]
                out[2 * i + 1] = hexDigits[Int(b & 0x0F)]
            }
            return bytes.count * 2
        }
    }
}
