import Crypto
import FuelModel
import Foundation

/// A station's chain head as a leaf of the checkpoint tree: `station ‖ 0x0A ‖ head seq (decimal) ‖
/// 0x0A ‖ head hash (hex)` and, when the station's records tree is known, `‖ 0x0A ‖ records root
/// (hex)`; leaves ordered by station id.
public struct ChainHeadLeaf: Hashable, Sendable, Codable {
    public var station: String
    public var headSeq: Int64
    public var headHash: Digest32
    /// Root of the RFC 9162 tree over the station's record link hashes 1…headSeq: what per-record
    /// inclusion proofs lead to. Nil in checkpoints signed before it was kept.
    public var recordsRoot: Digest32?

    public init(station: String, headSeq: Int64, headHash: Digest32, recordsRoot: Digest32? = nil) {
        self.station = station
        self.headSeq = headSeq
        self.headHash = headHash
        self.recordsRoot = recordsRoot
    }

    public var data: [UInt8] {
        Array("\(station)\n\(headSeq)\n\(headHash.hexString)\(recordsRoot.map { "\n" + $0.hexString } ?? "")".utf8)
    }
    public var leafHash: Digest32 { MerkleTree.leafHash(data) }
}

/// A signed statement of every station's chain head at one moment: an RFC 9162 tree over the
/// heads (sorted by station), its size and root, signed with Ed25519. Saved outside the database,
/// it lets anyone check later that no stored record up to those heads was changed.
///
/// The signed text is a note in the style of C2SP signed notes:
/// `ORIGIN\nTREE_SIZE\nBASE64(ROOT)\nISSUED_AT (RFC 3339)\n`.
public struct Checkpoint: Hashable, Sendable {
    public var origin: String
    public var treeSize: Int
    public var root: Digest32
    public var issuedAt: Timestamp
    /// Ed25519 signature over ``signedText``.
    public var signature: [UInt8]

    public init(origin: String, treeSize: Int, root: Digest32, issuedAt: Timestamp, signature: [UInt8]) {
        self.origin = origin
        self.treeSize = treeSize
        self.root = root
        self.issuedAt = issuedAt
        self.signature = signature
    }

    public var signedText: String {
        "\(origin)\n\(treeSize)\n\(Data(root).base64EncodedString())\n\(issuedAt.rfc3339)\n"
    }

    /// Builds the tree over `heads` (any order) and signs it.
    public static func sign(heads: [ChainHeadLeaf], origin: String, at: Timestamp, key: Curve25519.Signing.PrivateKey) throws -> Checkpoint {
        let leaves = heads.sorted { $0.station < $1.station }.map(\.leafHash)
        // Whole seconds: the signed text must read back the same from a database that keeps microseconds.
        let second = Timestamp(Date(timeIntervalSince1970: at.date.timeIntervalSince1970.rounded(.down)))
        var c = Checkpoint(origin: origin, treeSize: leaves.count, root: MerkleTree.root(leafHashes: leaves), issuedAt: second, signature: [])
        c.signature = Array(try key.signature(for: Data(c.signedText.utf8)))
        return c
    }

    /// Whether `key` signed this checkpoint.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        key.isValidSignature(Data(signature), for: Data(signedText.utf8))
    }

    /// Whether `leaf` at `index` belongs to this checkpoint's tree by `proof`.
    public func includes(_ leaf: ChainHeadLeaf, index: Int, proof: [Digest32]) -> Bool {
        MerkleTree.verifyInclusion(leafHash: leaf.leafHash, index: index, treeSize: treeSize, proof: proof, root: root)
    }
}
