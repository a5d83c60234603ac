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
    /// The line as received. A push's lines are slices of the request body (no copy): the text is
    /// only made when a line is quarantined, which almost none are (push path CPU, issue 19).
    public var rawBytes: ByteBuffer
    public var source: RecordSource
    public var sourceSeq: Int64
    public var record: Record

    /// The line as received, as text (what quarantine stores).
    public var raw: String { String(buffer: rawBytes) }

    public init(line: Int, raw: String, source: RecordSource, sourceSeq: Int64, record: Record) {
        self.init(line: line, rawBytes: ByteBuffer(string: raw), source: source, sourceSeq: sourceSeq, record: record)
    }

    public init(line: Int, rawBytes: ByteBuffer, source: RecordSource, sourceSeq: Int64, record: Record) {
        self.line = line
        self.rawBytes = rawBytes
        self.source = source
        self.sourceSeq = sourceSeq
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

    /// Appends `requests` in one transaction and one commit, in the order given: each is judged
    /// against the ledger and the requests before it, so each gets exactly the outcome it would have
    /// got alone (idempotent on (source, source_seq) or the natural key, conflicting content
    /// rejected, quarantined and alerted, rejected input quarantined). A request for a station
    /// without a chain fails alone; a database error fails them all and commits none. When this
    /// returns, everything it reports is committed.
    /// - Parameter profile: where the time goes, when profiling.
    public func append(_ requests: [AppendRequest], profile: IngestProfile? = nil) async throws -> [Result<AppendOutcome, StoreError>] {
        guard !requests.isEmpty else { return [] }
        let logger = database.logger
        let suite = try await database.ledgerSuite()
        let stations = Set(requests.map(\.station))
        let what = stations.count == 1 ? "append to \(requests[0].station)" : "append \(requests.count) requests for \(stations.count) stations"
        let asked = ContinuousClock.now
        let (results, bodyEnded) = try await database.transaction(what) { tx in
            let began = ContinuousClock.now
            profile?.add(.begin, began - asked, pushes: requests.count)
            let results = try await Self.append(requests, suite: suite, on: tx, logger: logger, profile: profile)
            let ended = ContinuousClock.now
            return (results, ended)
        }
        profile?.add(.commit, ContinuousClock.now - bodyEnded, pushes: requests.count)
        return results
    }

    /// Appends `records` to `station`'s chain in one transaction (``append(_:)`` with one request).
    public func append(station: String, records: [IncomingRecord], rejected: [RejectedInput]) async throws -> AppendOutcome {
        try await append([.push(station: station, records: records, rejected: rejected)])[0].get()
    }

    /// Marks the station's feed alive without a record (an HJ 212 heartbeat, CN 9015, or an empty
    /// keep-alive): the stale-feed sweep reads `last_received_at`. False when the station has no chain.
    @discardableResult
    public func markAlive(station: String) async throws -> Bool {
        let logger = database.logger
        return try await database.connection("mark \(station) alive") { conn in
            try await conn.query("""
                UPDATE chain_heads SET last_received_at = greatest(last_received_at, now()) WHERE station = \(station) RETURNING 1
                """, logger: logger).collect().count == 1
        }
    }

    /// Appends records the daemon collected itself (ATG poller, HJ 212 listener): each is numbered
    /// with the next source sequence of `source` for the station, and its natural key makes a
    /// re-collected record a duplicate. Conflicting content under a known key is not possible
    /// (the key is what the content is identified by), so a re-sent key is always a no-op.
    public func appendCollected(station: String, source: RecordSource, records: [CollectedRecord], rejected: [RejectedInput]) async throws -> AppendOutcome {
        try await append([AppendRequest(station: station, records: .collected(source, records), rejected: rejected)])[0].get()
    }

    /// A station's committed entries after `cursor`, in chain order, as stored bodies.
    public func entries(station: String, after cursor: Int64, limit: Int) async throws -> [StoredEntry] {
        let logger = database.logger
        return try await database.connection("read \(station)") { conn in
            var out: [StoredEntry] = []
            let span = try await ReceivedSpan.after(station: station, seq: cursor, on: conn, logger: logger)
            let rows = try await conn.query(Self.entriesQuery(station: station, after: cursor, limit: limit, within: span), logger: logger)
            for try await (seq, source, sourceSeq, body, received) in rows.decode((Int64, String, Int64, String, Date).self) {
                out.append(StoredEntry(chainSeq: seq, source: RecordSource(rawValue: source) ?? .push, sourceSeq: sourceSeq, body: body,
                                       receivedAt: received))
            }
            return out
        }
    }
}

extension LedgerStore {
    /// What `entries(station:after:limit:)` asks: the reads past a frontier (detection, feeds), in
    /// `span` (`ReceivedSpan.after`: the months from the frontier's on).
    package static func entriesQuery(station: String, after cursor: Int64, limit: Int, within span: ReceivedSpan) -> PostgresQuery {
        """
        SELECT chain_seq, source, source_seq, body, received_at FROM ledger
        WHERE station = \(station) AND chain_seq > \(cursor) AND received_at >= \(span.from) AND received_at < \(span.until)
        ORDER BY chain_seq LIMIT \(limit)
        """
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
    /// One rejected input of one station's (or no station's) feed.
    struct Row {
        var station: String?
        var source: RecordSource
        var input: RejectedInput
    }

    static func insert(station: String?, source: RecordSource, _ rejects: [RejectedInput], on conn: PostgresConnection, logger: Logger) async throws {
        try await insert(rejects.map { Row(station: station, source: source, input: $0) }, on: conn, logger: logger)
    }

    /// One statement for all rows, in the order given.
    static func insert(_ rows: [Row], on conn: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        // An empty station name stands for none (the arrays cannot carry NULL).
        let stations = rows.map { $0.station ?? "" }
        let sources = rows.map(\.source.rawValue)
        let lines = rows.map { Int32(clamping: $0.input.line) }
        let seqs = rows.map { $0.input.seq ?? .min }
        // Keep raw input bounded: a quarantined line is evidence of what arrived, not a blob store.
        let raws = rows.map { storable(String($0.input.raw.prefix(65_536))) }
        let reasons = rows.map { storable($0.input.reason) }
        try await conn.query("""
            INSERT INTO quarantine (station, source, line, seq, raw, reason)
            SELECT NULLIF(st, ''), so, l, NULLIF(s, \(Int64.min)), r, why
            FROM UNNEST(\(stations)::text[], \(sources)::text[], \(lines)::integer[], \(seqs)::bigint[], \(raws)::text[], \(reasons)::text[])
                 WITH ORDINALITY AS u(st, so, l, s, r, why, n)
            ORDER BY n
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
    static let ledgerColumns = ["station", "chain_seq", "source", "source_seq", "kind", "at", "body", "content_hash", "prev_hash", "hash", "received_at"]
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// One ledger row. `scratch` is reused from row to row for the time's digits.
    static func row(
        into buf: inout ByteBuffer, station: String, chainSeq: Int64, source: String, sourceSeq: Int64, kind: String,
        at: Timestamp, body: [UInt8], contentHash: [UInt8], previous: [UInt8], hash: [UInt8], receivedAt: String,
        scratch: inout [UInt8]
    ) {
        text(station, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        buf.writeString(String(chainSeq))
        buf.writeInteger(UInt8(ascii: "\t"))
        text(source, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        buf.writeString(String(sourceSeq))
        buf.writeInteger(UInt8(ascii: "\t"))
        text(kind, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        scratch.removeAll(keepingCapacity: true)
        at.appendRFC3339(to: &scratch)
        buf.writeBytes(scratch)
        buf.writeInteger(UInt8(ascii: "\t"))
        escaped(body, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        bytea(contentHash, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        bytea(previous, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        bytea(hash, into: &buf)
        buf.writeInteger(UInt8(ascii: "\t"))
        buf.writeString(receivedAt)
        buf.writeInteger(UInt8(ascii: "\n"))
    }

    static func text(_ s: String, into buf: inout ByteBuffer) {
        if s.utf8.contains(where: isSpecial) { escaped(Array(s.utf8), into: &buf) } else { buf.writeString(s) }
    }

    private static func isSpecial(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "\\") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r")
    }

    /// Backslash, tab, newline and carriage return are the characters COPY text gives meaning to.
    static func escaped(_ bytes: [UInt8], into buf: inout ByteBuffer) {
        // Canonical bodies are JSON: tabs and newlines never occur raw, backslashes rarely.
        if !bytes.contains(where: isSpecial) {
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
