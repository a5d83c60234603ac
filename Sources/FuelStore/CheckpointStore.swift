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
    public var publicKey: [UInt8]
    /// The tree's leaves in station order (`[{"station","seq","hash"}]` in the table).
    public var heads: [ChainHeadLeaf]
}

/// Signs and keeps checkpoints over the chain heads.
public struct CheckpointStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Every station's chain head now, in station order.
    public func heads() async throws -> [ChainHeadLeaf] {
        let logger = database.logger
        return try await database.connection("chain heads") { conn in
            var out: [ChainHeadLeaf] = []
            for try await (station, seq, hash) in try await conn.query(
                "SELECT station, head_seq, head_hash FROM chain_heads ORDER BY station COLLATE \"C\"", logger: logger
            ).decode((String, Int64, ByteBuffer).self) {
                out.append(ChainHeadLeaf(station: station, headSeq: seq, headHash: Array(buffer: hash)))
            }
            return out
        }
    }

    /// Signs the current heads and stores the checkpoint, unless no head moved since the latest one.
    /// Returns the new checkpoint, or nil when nothing changed.
    public func issue(origin: String, key: Curve25519.Signing.PrivateKey, at: Timestamp = Timestamp(.now)) async throws -> StoredCheckpoint? {
        let heads = try await heads()
        if let last = try await latest(), last.heads == heads { return nil }
        let c = try Checkpoint.sign(heads: heads, origin: origin, at: at, key: key)
        let publicKey = Array(key.publicKey.rawRepresentation)
        let leaves = String(decoding: try JSONEncoder().encode(heads.map { HeadRow(station: $0.station, seq: $0.headSeq, hash: $0.headHash.hexString) }),
                            as: UTF8.self)
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
        return try await database.connection("latest checkpoint") { conn in
            guard let row = try await conn.query("""
                SELECT id, origin, tree_size, root, issued_at, signature, public_key, heads::text FROM checkpoints ORDER BY id DESC LIMIT 1
                """, logger: logger).collect().first else { return nil }
            let (id, origin, size, root, issued, signature, key, headsText) =
                try row.decode((Int64, String, Int, ByteBuffer, Date, ByteBuffer, ByteBuffer, String).self)
            let c = Checkpoint(origin: origin, treeSize: size, root: Array(buffer: root), issuedAt: Timestamp(issued), signature: Array(buffer: signature))
            return StoredCheckpoint(id: id, checkpoint: c, publicKey: Array(buffer: key), heads: try Self.decodeHeads(headsText))
        }
    }

    /// A leaf as stored in `checkpoints.heads`.
    struct HeadRow: Codable {
        var station: String
        var seq: Int64
        var hash: String
    }

    static func decodeHeads(_ text: String) throws -> [ChainHeadLeaf] {
        try JSONDecoder().decode([HeadRow].self, from: Data(text.utf8)).map { row in
            guard let hash = [UInt8](hex: row.hash), hash.count == 32 else { throw StoreError.invalid("checkpoint heads: bad hash for \(row.station)") }
            return ChainHeadLeaf(station: row.station, headSeq: row.seq, headHash: hash)
        }
    }
}
