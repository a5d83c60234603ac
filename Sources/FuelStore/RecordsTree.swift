import FuelLedger
import Logging
import NIOCore
import PostgresNIO

/// Each station's RFC 9162 tree over its records' link hashes (leaf i = record i's chain hash):
/// its frontier is kept in `chain_heads.records_frontier` by the append, its root goes into every
/// checkpoint, and audit paths are cut from the ledger's stored hashes.
public enum RecordsTree {
    /// The stored frontier of a station whose head is `headSeq`, or (when missing or not matching
    /// the head) one built from the ledger's link hashes.
    static func frontier(station: String, headSeq: Int64, stored: ByteBuffer?, suite: LedgerSuite, on conn: PostgresConnection,
                         logger: Logger) async throws -> MerkleFrontier {
        if let stored, let f = MerkleFrontier(size: headSeq, bytes: Array(buffer: stored), suite: suite) { return f }
        var f = MerkleFrontier(suite: suite)
        var leaves: Int64 = 0
        for try await hash in try await conn.query(
            "SELECT hash FROM ledger WHERE station = \(station) AND chain_seq <= \(headSeq) ORDER BY chain_seq", logger: logger
        ).decode(ByteBuffer.self) { f.append(leafData: Array(buffer: hash)); leaves += 1 }
        // Built from the ledger only when all of the chain is in it (archived months' leaves are in files).
        guard leaves == headSeq else {
            throw StoreError.invalid("the records tree of \(station) is missing and the database holds \(leaves) of its \(headSeq) records (are its first months archived?): it cannot be rebuilt from the database")
        }
        return f
    }

    /// The link hashes of records `after`+1…`size` of a station, in order (the tree's leaf data;
    /// records up to `after` are archived).
    static func linkHashes(station: String, after: Int64 = 0, size: Int64, on conn: PostgresConnection, logger: Logger) async throws -> [Digest32] {
        var out: [Digest32] = []
        out.reserveCapacity(Int(max(0, size - after)))
        for try await hash in try await conn.query(
            "SELECT hash FROM ledger WHERE station = \(station) AND chain_seq > \(after) AND chain_seq <= \(size) ORDER BY chain_seq", logger: logger
        ).decode(ByteBuffer.self) { out.append(Array(buffer: hash)) }
        return out
    }
}
