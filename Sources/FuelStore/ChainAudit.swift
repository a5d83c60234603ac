import FuelLedger
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

    public var isIntact: Bool { firstBreak == nil }
}

/// Recomputes each station's chain and the audit chain from the stored rows, streaming.
public struct ChainAudit: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    public func verify(station only: String? = nil) async throws -> VerificationReport {
        let logger = database.logger
        return try await database.client.withConnection { conn in
            var report = VerificationReport()
            var heads: [(String, Int64, [UInt8])] = []
            for try await (st, seq, hash) in try await conn.query(
                "SELECT station, head_seq, head_hash FROM chain_heads WHERE (\(only)::text IS NULL OR station = \(only)) ORDER BY station",
                logger: logger
            ).decode((String, Int64, ByteBuffer).self) { heads.append((st, seq, Array(buffer: hash))) }
            for (station, headSeq, headHash) in heads {
                var verifier = ChainVerifier()
                let rows = try await conn.query("""
                    SELECT chain_seq, body, content_hash, prev_hash, hash FROM ledger WHERE station = \(station) ORDER BY chain_seq
                    """, logger: logger)
                do {
                    for try await (seq, body, content, prev, hash) in rows.decode((Int64, String, ByteBuffer, ByteBuffer, ByteBuffer).self) {
                        try verifier.check(StoredLink(position: seq, body: Array(body.utf8), contentHash: Array(buffer: content),
                                                      previous: Array(buffer: prev), hash: Array(buffer: hash)))
                        report.recordsChecked += 1
                    }
                    try verifier.finish(headPosition: headSeq, headHash: headHash)
                } catch let b as ChainBreak {
                    report.firstBreak = (station, b)
                    return report
                }
                report.stationsChecked += 1
            }
            guard only == nil else { return report }
            var verifier = ChainVerifier()
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

    /// Recomputes each station's chain from the stored bodies (not trusting stored hashes) up to the
    /// head a checkpoint recorded, and names every station whose recomputed head differs: a record
    /// changed, removed or inserted after the checkpoint was signed. Empty when all match.
    public func verify(against heads: [ChainHeadLeaf]) async throws -> [String] {
        let logger = database.logger
        return try await database.client.withConnection { conn in
            var problems: [String] = []
            for leaf in heads {
                var hash = HashChain.genesis
                var position: Int64 = 0
                for try await (seq, body) in try await conn.query("""
                    SELECT chain_seq, body FROM ledger WHERE station = \(leaf.station) AND chain_seq <= \(leaf.headSeq) ORDER BY chain_seq
                    """, logger: logger).decode((Int64, String).self) {
                    position += 1
                    if seq != position { break }
                    hash = HashChain.link(previous: hash, position: seq, body: Array(body.utf8))
                }
                if position != leaf.headSeq {
                    problems.append("\(leaf.station): the checkpoint has \(leaf.headSeq) records, the ledger \(position) in order")
                } else if hash != leaf.headHash {
                    problems.append("\(leaf.station): records 1…\(leaf.headSeq) no longer hash to the checkpointed head \(leaf.headHash.hexString.prefix(16))…")
                }
            }
            return problems
        }
    }
}
