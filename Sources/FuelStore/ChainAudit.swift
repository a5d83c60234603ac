import FuelLedger
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The outcome of recomputing every chain.
public struct VerificationReport: Sendable {
    public var stationsChecked = 0
    public var recordsChecked: Int64 = 0
    public var auditEntriesChecked: Int64 = 0
    /// The first broken chain: station (or `audit`) and the break.
    public var firstBreak: (chain: String, breakAt: ChainBreak)?
    /// The suite the chains were recomputed with.
    public var suite: LedgerSuite = .international

    public var isIntact: Bool { firstBreak == nil }
}

/// A station chain's last recomputation.
public struct ChainVerification: Sendable, Hashable {
    public var station: String
    public var verifiedAt: Date
    /// The head the chain was verified up to, and how many records that was.
    public var headSeq: Int64
    public var records: Int64
    public var intact: Bool
    /// Where and how it broke, when it did.
    public var `break`: String?
    /// When the chain was last recomputed whole (from its first record, or the first after its
    /// archived months), if this build ever did; the verifications between go on from the last.
    public var wholeAt: Date?
}

/// How much of a station's chain a verification recomputes.
public enum VerificationExtent: Sendable, Hashable {
    /// From its anchor (its first record, or the first after its archived months) to its head.
    case whole
    /// From where its last verification ended, when that one was intact and that position is still
    /// in the database (otherwise whole): the records added since, and the link to what was verified.
    case sinceLast
}

/// Recomputes each station's chain and the audit chain from the stored rows, streaming.
public struct ChainAudit: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Recomputes the chains (of `only`, or every station's and the audit chain) from their stored
    /// bodies up to their heads, keeping each station's outcome in `chain_verifications`.
    public func verify(station only: String? = nil, extent: VerificationExtent = .whole) async throws -> VerificationReport {
        let logger = database.logger
        let suite = try await database.ledgerSuite()
        return try await database.longConnection("chain verification") { conn in
            var report = VerificationReport()
            report.suite = suite
            var heads: [(String, Int64, [UInt8], Anchor)] = []
            for try await (st, seq, hash, anchorSeq, anchorHash) in try await conn.query("""
                SELECT h.station, h.head_seq, h.head_hash, COALESCE(a.seq, 0), COALESCE(a.hash, \(ByteBuffer(bytes: HashChain.genesis)))
                FROM chain_heads h LEFT JOIN ledger_anchors a ON a.station = h.station
                WHERE (\(only)::text IS NULL OR h.station = \(only)) ORDER BY h.station
                """, logger: logger
            ).decode((String, Int64, ByteBuffer, Int64, ByteBuffer).self) {
                heads.append((st, seq, Array(buffer: hash), Anchor(seq: anchorSeq, hash: Array(buffer: anchorHash))))
            }
            for (station, headSeq, headHash, anchor) in heads {
                // From the anchor (the records before it are archived, verified from their files), or
                // from where the last verification ended.
                var start = anchor
                if extent == .sinceLast, let last = try await Self.lastEnd(station: station, on: conn, logger: logger),
                   last.seq >= anchor.seq, last.seq <= headSeq {
                    start = last
                }
                var verifier = ChainVerifier(suite: suite, after: start.seq, hash: start.hash)
                // Up to the head read above: the station may append meanwhile (its rows and its head
                // move in one transaction), and rows past that head are the next verification's.
                // Bounded by the months holding them, so that a verification of a day's records reads that day's month.
                let span = try await ReceivedSpan.after(station: station, seq: start.seq, on: conn, logger: logger)
                let rows = try await conn.query("""
                    SELECT chain_seq, body, content_hash, prev_hash, hash FROM ledger
                    WHERE station = \(station) AND chain_seq > \(start.seq) AND chain_seq <= \(headSeq)
                      AND received_at >= \(span.from) AND received_at < \(span.until)
                    ORDER BY chain_seq
                    """, logger: logger)
                let whole = start == anchor
                let before = report.recordsChecked
                do {
                    for try await (seq, body, content, prev, hash) in rows.decode((Int64, String, ByteBuffer, ByteBuffer, ByteBuffer).self) {
                        try verifier.check(StoredLink(position: seq, body: Array(body.utf8), contentHash: Array(buffer: content),
                                                      previous: Array(buffer: prev), hash: Array(buffer: hash)))
                        report.recordsChecked += 1
                    }
                    try verifier.finish(headPosition: headSeq, headHash: headHash)
                } catch let b as ChainBreak {
                    report.firstBreak = (station, b)
                    try await Self.record(station: station, head: Anchor(seq: headSeq, hash: headHash), whole: whole,
                                          records: report.recordsChecked - before, break: "\(b)", on: conn, logger: logger)
                    return report
                }
                try await Self.record(station: station, head: Anchor(seq: headSeq, hash: headHash), whole: whole,
                                      records: report.recordsChecked - before, break: nil, on: conn, logger: logger)
                report.stationsChecked += 1
            }
            guard only == nil else { return report }
            var verifier = ChainVerifier(suite: suite)
            do {
                for try await (seq, body, prev, hash) in try await conn.query(
                    "SELECT seq, body, prev_hash, hash FROM audit_log ORDER BY seq", logger: logger
                ).decode((Int64, String, ByteBuffer, ByteBuffer).self) {
                    try verifier.check(StoredLink(position: seq, body: Array(body.utf8), contentHash: nil,
                                                  previous: Array(buffer: prev), hash: Array(buffer: hash)))
                    report.auditEntriesChecked += 1
                }
                if let head = try await conn.query("SELECT head_seq, head_hash FROM audit_head WHERE id = 1", logger: logger).collect().first {
                    let (seq, hash) = try head.decode((Int64, ByteBuffer).self)
                    try verifier.finish(headPosition: seq, headHash: Array(buffer: hash))
                }
            } catch let b as ChainBreak {
                report.firstBreak = ("audit", b)
            }
            return report
        }
    }

    /// Keeps a station's verification: when, up to which head, how many records, and the break if
    /// any; an intact one also where it ended (the head and its hash, where the next one may go on),
    /// and a whole one when. A broken one leaves where the last intact one ended, and the next
    /// verification recomputes the chain whole; a break stays until a whole recomputation finds the
    /// chain intact (a verification since the last, begun before the break was found, cannot clear it).
    static func record(station: String, head: Anchor, whole: Bool, records: Int64, break found: String?,
                       on conn: PostgresConnection, logger: Logger) async throws {
        let intact = found == nil
        try await conn.query("""
            INSERT INTO chain_verifications (station, verified_at, head_seq, records, intact, break, verified_seq, verified_hash, full_at)
            VALUES (\(station), now(), \(head.seq), \(records), \(intact), \(found),
                    CASE WHEN \(intact) THEN \(head.seq) END, CASE WHEN \(intact) THEN \(ByteBuffer(bytes: head.hash)) END,
                    CASE WHEN \(whole) THEN now() END)
            ON CONFLICT (station) DO UPDATE SET verified_at = now(), head_seq = EXCLUDED.head_seq, records = EXCLUDED.records,
                intact = EXCLUDED.intact, break = EXCLUDED.break,
                verified_seq = CASE WHEN EXCLUDED.intact THEN EXCLUDED.verified_seq ELSE chain_verifications.verified_seq END,
                verified_hash = CASE WHEN EXCLUDED.intact THEN EXCLUDED.verified_hash ELSE chain_verifications.verified_hash END,
                full_at = COALESCE(EXCLUDED.full_at, chain_verifications.full_at)
            -- Only a whole recomputation clears a break (one since the last cannot see an older record).
            WHERE chain_verifications.intact OR \(whole)
            """, logger: logger)
    }

    /// Where the station's last verification ended, when it was intact (nil when it broke: the next
    /// one starts from the beginning).
    static func lastEnd(station: String, on conn: PostgresConnection, logger: Logger) async throws -> Anchor? {
        try await conn.query("""
            SELECT verified_seq, verified_hash FROM chain_verifications
            WHERE station = \(station) AND intact AND verified_seq IS NOT NULL AND verified_hash IS NOT NULL
            """, logger: logger).collect().first.map { row in
            let (seq, hash) = try row.decode((Int64, ByteBuffer).self)
            return Anchor(seq: seq, hash: Array(buffer: hash))
        }
    }

    /// A station's last verification, if its chain was ever verified.
    public func lastVerification(station: String) async throws -> ChainVerification? {
        let logger = database.logger
        return try await database.connection("last verification") { conn in
            try await conn.query(
                "SELECT verified_at, head_seq, records, intact, break, full_at FROM chain_verifications WHERE station = \(station)", logger: logger
            ).collect().first.map { row in
                let (at, head, records, intact, found, wholeAt) = try row.decode((Date, Int64, Int64, Bool, String?, Date?).self)
                return ChainVerification(station: station, verifiedAt: at, headSeq: head, records: records, intact: intact, break: found,
                                         wholeAt: wholeAt)
            }
        }
    }

    /// The station whose chain was verified longest ago (or never), if that was more than `age`
    /// seconds ago: the background verifier's next one; whole when it was last recomputed whole
    /// more than its share of `wholeAge` seconds ago (between half and all of it, fixed per station:
    /// the whole recomputations spread over the days), or never, or its last verification broke;
    /// else since the last.
    public func stalestStation(olderThan age: Double, wholeOlderThan wholeAge: Double) async throws -> (station: String, extent: VerificationExtent)? {
        let logger = database.logger
        return try await database.connection("stalest chain") { conn in
            try await conn.query("""
                -- Each station's whole recomputations come every wholeAge × (0.5 … 1), by a share of its name's
                -- hash: chains first verified on one day are then recomputed whole on different days, not all at once.
                SELECT h.station, coalesce(v.intact AND v.full_at >= now() - make_interval(secs => \(wholeAge)
                                           * (1 - (abs(hashtext(h.station)::bigint) % 1000) / 2000.0)), false)
                FROM chain_heads h LEFT JOIN chain_verifications v ON v.station = h.station
                WHERE v.verified_at IS NULL OR v.verified_at < now() - make_interval(secs => \(age))
                ORDER BY v.verified_at NULLS FIRST, h.station LIMIT 1
                """, logger: logger).collect().first.map { row in
                let (station, recentlyWhole) = try row.decode((String, Bool).self)
                return (station, recentlyWhole ? .sinceLast : .whole)
            }
        }
    }

    /// Recomputes each station's chain from the stored bodies (not trusting stored hashes) up to the
    /// head a checkpoint recorded, and names every station whose recomputed head differs: a record
    /// changed, removed or inserted after the checkpoint was signed. Empty when all match.
    public func verify(against heads: [ChainHeadLeaf]) async throws -> [String] {
        let logger = database.logger
        let suite = try await database.ledgerSuite()
        return try await database.longConnection("checkpoint verification") { conn in
            var problems: [String] = []
            let anchors = try await Self.anchors(on: conn, logger: logger)
            for leaf in heads {
                // Records up to a station's anchor are archived: the recomputation starts from it.
                let anchor = anchors[leaf.station] ?? Anchor(seq: 0, hash: HashChain.genesis)
                var hash = anchor.hash
                var position = anchor.seq
                for try await (seq, body) in try await conn.query("""
                    SELECT chain_seq, body FROM ledger WHERE station = \(leaf.station) AND chain_seq > \(anchor.seq) AND chain_seq <= \(leaf.headSeq)
                    ORDER BY chain_seq
                    """, logger: logger).decode((Int64, String).self) {
                    position += 1
                    if seq != position { break }
                    hash = HashChain.link(previous: hash, position: seq, body: Array(body.utf8), suite: suite)
                }
                if position != leaf.headSeq {
                    problems.append("\(leaf.station): the checkpoint has \(leaf.headSeq) records, the ledger \(position) in order")
                } else if hash != leaf.headHash {
                    problems.append("\(leaf.station): records \(anchor.seq + 1)…\(leaf.headSeq) no longer hash to the checkpointed head \(leaf.headHash.hexString.prefix(16))…")
                }
            }
            return problems
        }
    }

    /// Where a station's chain in the database begins: its last archived record (seq 0 and the
    /// genesis hash when nothing of it is archived).
    public struct Anchor: Sendable, Hashable {
        public var seq: Int64
        public var hash: Digest32
        public init(seq: Int64, hash: Digest32) {
            self.seq = seq
            self.hash = hash
        }
    }

    /// Every station's anchor: where its chain in the database begins (absent: nothing archived).
    public func anchors() async throws -> [String: Anchor] {
        let logger = database.logger
        return try await database.connection("chain anchors") { conn in try await Self.anchors(on: conn, logger: logger) }
    }

    /// Every station's anchor (migration 0015; stations with nothing archived are absent).
    static func anchors(on conn: PostgresConnection, logger: Logger) async throws -> [String: Anchor] {
        var out: [String: Anchor] = [:]
        for try await (station, seq, hash) in try await conn.query("SELECT station, seq, hash FROM ledger_anchors", logger: logger)
            .decode((String, Int64, ByteBuffer).self) { out[station] = Anchor(seq: seq, hash: Array(buffer: hash)) }
        return out
    }
}
