import Crypto
import FuelLedger
import FuelModel
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A checkpoint as stored: the signed tree head, the key that signed it and the leaves (heads).
public struct StoredCheckpoint: Sendable, Hashable {
    public var id: Int64
    public var checkpoint: Checkpoint
    /// The signer's public key: Ed25519's 32 raw bytes, or SM2's PEM text (`guomi`).
    public var publicKey: [UInt8]
    /// The tree's leaves in station order (`[{"station","seq","hash"}]` in the table).
    public var heads: [ChainHeadLeaf]
}

/// Signs and keeps checkpoints over the chain heads.
public struct CheckpointStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Every station's chain head now, with its records root, in station order.
    public func heads() async throws -> [ChainHeadLeaf] {
        let logger = database.logger
        let suite = try await database.ledgerSuite()
        let (heads, missing) = try await database.connection("chain heads") { conn in
            var out: [ChainHeadLeaf] = [], missing: [String] = []
            for try await (station, seq, hash, frontier) in try await conn.query(
                "SELECT station, head_seq, head_hash, records_frontier FROM chain_heads ORDER BY station COLLATE \"C\"", logger: logger
            ).decode((String, Int64, ByteBuffer, ByteBuffer?).self) {
                let f = frontier.flatMap { MerkleFrontier(size: seq, bytes: Array(buffer: $0), suite: suite) }
                    ?? (seq == 0 ? MerkleFrontier(suite: suite) : nil)
                if f == nil { missing.append(station) }
                out.append(ChainHeadLeaf(station: station, headSeq: seq, headHash: Array(buffer: hash), recordsRoot: f?.root))
            }
            return (out, missing)
        }
        var out = heads
        // Stations idle since the records tree was introduced: build theirs once, under the head's lock.
        for station in missing where !Task.isCancelled {
            let leaf = try await database.transaction("build records tree") { tx -> ChainHeadLeaf? in
                guard let row = try await tx.query(
                    "SELECT head_seq, head_hash, records_frontier FROM chain_heads WHERE station = \(station) FOR UPDATE", logger: logger
                ).collect().first else { return nil }
                let (seq, hash, stored) = try row.decode((Int64, ByteBuffer, ByteBuffer?).self)
                let f = try await RecordsTree.frontier(station: station, headSeq: seq, stored: stored, suite: suite, on: tx, logger: logger)
                try await tx.query("UPDATE chain_heads SET records_frontier = \(ByteBuffer(bytes: f.bytes)) WHERE station = \(station)", logger: logger)
                return ChainHeadLeaf(station: station, headSeq: seq, headHash: Array(buffer: hash), recordsRoot: f.root)
            }
            if let leaf, let i = out.firstIndex(where: { $0.station == station }) { out[i] = leaf }
        }
        return out
    }

    /// Signs the current heads and stores the checkpoint, unless no head moved since the latest one.
    /// Returns the new checkpoint, or nil when nothing changed.
    public func issue(origin: String, key: Curve25519.Signing.PrivateKey, at: Timestamp = Timestamp(.now)) async throws -> StoredCheckpoint? {
        try await issue(origin: origin, key: .ed25519(key), at: at)
    }

    /// Signs with a key of the ledger's suite (a key of the other suite is refused).
    public func issue(origin: String, key: CheckpointSigningKey, at: Timestamp = Timestamp(.now)) async throws -> StoredCheckpoint? {
        let suite = try await database.ledgerSuite()
        guard key.suite == suite else {
            throw StoreError.invalid("the checkpoint key is \(key.suite.signatureName) (\(key.suite.rawValue)) but the ledger is sealed with \(suite.summary)")
        }
        let heads = try await heads()
        if let last = try await latest(), last.heads == heads { return nil }
        let c = try Checkpoint.sign(heads: heads, origin: origin, at: at, key: key)
        let publicKey = try Self.publicKeyBytes(key.publicKey)
        let leaves = String(decoding: try JSONEncoder().encode(heads.map {
            HeadRow(station: $0.station, seq: $0.headSeq, hash: $0.headHash.hexString, recordsRoot: $0.recordsRoot?.hexString)
        }), as: UTF8.self)
        let logger = database.logger
        let id = try await database.connection("store checkpoint") { conn in
            try await conn.query("""
                INSERT INTO checkpoints (origin, tree_size, root, issued_at, signature, public_key, heads)
                VALUES (\(c.origin), \(c.treeSize), \(ByteBuffer(bytes: c.root)), \(c.issuedAt.date), \(ByteBuffer(bytes: c.signature)),
                        \(ByteBuffer(bytes: publicKey)), \(leaves)::jsonb)
                RETURNING id
                """, logger: logger).collect().first?.decode(Int64.self) ?? 0
        }
        return StoredCheckpoint(id: id, checkpoint: c, publicKey: publicKey, heads: heads)
    }

    /// The newest checkpoint, if any.
    public func latest() async throws -> StoredCheckpoint? {
        let logger = database.logger
        let suite = try await database.ledgerSuite()
        return try await database.connection("latest checkpoint") { conn in
            guard let row = try await conn.query("""
                SELECT id, origin, tree_size, root, issued_at, signature, public_key, heads::text FROM checkpoints ORDER BY id DESC LIMIT 1
                """, logger: logger).collect().first else { return nil }
            return try Self.stored(row, suite: suite)
        }
    }

    /// How a public key is stored: Ed25519's raw bytes, SM2's PEM text.
    static func publicKeyBytes(_ key: CheckpointPublicKey) throws -> [UInt8] {
        switch key {
        case .ed25519(let raw): raw
        case .sm2: Array(try key.text().utf8)
        }
    }

    static func stored(_ row: PostgresRow, suite: LedgerSuite) throws -> StoredCheckpoint {
        let (id, origin, size, root, issued, signature, key, headsText) =
            try row.decode((Int64, String, Int, ByteBuffer, Date, ByteBuffer, ByteBuffer, String).self)
        let c = Checkpoint(origin: origin, treeSize: size, root: Array(buffer: root), issuedAt: Timestamp(issued), signature: Array(buffer: signature),
                           suite: suite)
        return StoredCheckpoint(id: id, checkpoint: c, publicKey: Array(buffer: key), heads: try decodeHeads(headsText))
    }

    /// A leaf as stored in `checkpoints.heads`.
    struct HeadRow: Codable {
        var station: String
        var seq: Int64
        var hash: String
        var recordsRoot: String?
        enum CodingKeys: String, CodingKey { case station, seq, hash, recordsRoot = "records_root" }
    }

    static func decodeHeads(_ text: String) throws -> [ChainHeadLeaf] {
        try JSONDecoder().decode([HeadRow].self, from: Data(text.utf8)).map { row in
            guard let hash = [UInt8](hex: row.hash), hash.count == 32 else { throw StoreError.invalid("checkpoint heads: bad hash for \(row.station)") }
            return ChainHeadLeaf(station: row.station, headSeq: row.seq, headHash: hash, recordsRoot: row.recordsRoot.flatMap { [UInt8](hex: $0) })
        }
    }

    /// The checkpoint with this id, if any.
    public func checkpoint(id: Int64) async throws -> StoredCheckpoint? {
        let logger = database.logger
        let suite = try await database.ledgerSuite()
        return try await database.connection("checkpoint") { conn in
            guard let row = try await conn.query("""
                SELECT id, origin, tree_size, root, issued_at, signature, public_key, heads::text FROM checkpoints WHERE id = \(id)
                """, logger: logger).collect().first else { return nil }
            return try Self.stored(row, suite: suite)
        }
    }

    /// The proof that record `seq` of `station` is in `checkpoint`; nil when the checkpoint does not
    /// cover it (the station is not in it, or the record came later). A station with archived
    /// months needs `archive` (their records and link hashes come from the files); without it the
    /// proof is refused naming what is missing.
    public func proof(station: String, seq: Int64, in checkpoint: StoredCheckpoint,
                      archive: (any ArchivedChainSource)? = nil) async throws -> RecordProof? {
        guard let leaf = checkpoint.heads.first(where: { $0.station == station }), seq >= 1, seq <= leaf.headSeq,
              leaf.recordsRoot != nil else { return nil }
        let logger = database.logger
        let suite = checkpoint.checkpoint.suite
        return try await database.connection("record proof") { conn in
            let anchor = try await conn.query("SELECT seq, period FROM ledger_anchors WHERE station = \(station)", logger: logger)
                .collect().first?.decode((Int64, String).self)
            if let (archivedUpTo, period) = anchor, archive == nil {
                throw StoreError.notFound("records 1…\(archivedUpTo) of \(station) are archived (up to \(period)) and the proof needs them; set ledger.archive_directory to where they were archived")
            }
            let archivedUpTo = anchor?.0 ?? 0
            let body: String, prev: Digest32, hash: Digest32
            if seq <= archivedUpTo, let archive {
                guard let r = try archive.record(station: station, seq: seq) else { return nil }
                (body, prev, hash) = r
            } else {
                let span = try await ReceivedSpan.of(station: station, seqs: seq...seq, on: conn, logger: logger)
                guard let row = try await conn.query(
                    """
                    SELECT body, prev_hash, hash FROM ledger WHERE station = \(station) AND chain_seq = \(seq)
                      AND received_at >= \(span.from) AND received_at < \(span.until)
                    """, logger: logger
                ).collect().first else { return nil }
                let (b, p, h) = try row.decode((String, ByteBuffer, ByteBuffer).self)
                (body, prev, hash) = (b, Array(buffer: p), Array(buffer: h))
            }
            // The path comes from the ledger's stored link hashes as they are now (and the archive's
            // files): an edit since the checkpoint shows as a proof that no longer leads to its signed root.
            let archivedHashes = try archive.map { try $0.linkHashes(station: station, through: archivedUpTo) } ?? []
            let leaves = try await (archivedHashes + RecordsTree.linkHashes(station: station, after: archivedUpTo, size: leaf.headSeq, on: conn, logger: logger))
                .map { MerkleTree.leafHash($0, suite: suite) }
            return RecordProof(station: station, seq: seq, body: body, previousHash: prev, hash: hash,
                               treeSize: Int64(leaves.count), recordsRoot: MerkleTree.root(leafHashes: leaves, suite: suite),
                               path: MerkleTree.inclusionProof(index: Int(seq - 1), leafHashes: leaves, suite: suite) ?? [], suite: suite)
        }
    }
}
