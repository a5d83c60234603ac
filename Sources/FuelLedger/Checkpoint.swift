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
    public func leafHash(_ suite: LedgerSuite = .international) -> Digest32 { MerkleTree.leafHash(data, suite: suite) }
}

/// A signed statement of every station's chain head at one moment: an RFC 9162 tree over the
/// heads (sorted by station), its size and root, signed with the ledger suite's signature (Ed25519,
/// or SM2 under `guomi`). Saved outside the database, it lets anyone check later that no stored
/// record up to those heads was changed.
///
/// The signed text is a note in the style of C2SP signed notes:
/// `ORIGIN\nTREE_SIZE\nBASE64(ROOT)\nISSUED_AT (RFC 3339)\n`.
public struct Checkpoint: Hashable, Sendable {
    public var origin: String
    public var treeSize: Int
    public var root: Digest32
    public var issuedAt: Timestamp
    /// The suite's signature over ``signedText`` (Ed25519 raw 64 bytes, or SM2 DER).
    public var signature: [UInt8]
    /// The suite the tree is hashed and the note signed with.
    public var suite: LedgerSuite

    public init(origin: String, treeSize: Int, root: Digest32, issuedAt: Timestamp, signature: [UInt8], suite: LedgerSuite = .international) {
        self.origin = origin
        self.treeSize = treeSize
        self.root = root
        self.issuedAt = issuedAt
        self.signature = signature
        self.suite = suite
    }

    public var signedText: String {
        "\(origin)\n\(treeSize)\n\(Data(root).base64EncodedString())\n\(issuedAt.rfc3339)\n"
    }

    /// Builds the tree over `heads` (any order) with the key's suite and signs it.
    public static func sign(heads: [ChainHeadLeaf], origin: String, at: Timestamp, key: CheckpointSigningKey) throws -> Checkpoint {
        let suite = key.suite
        let leaves = heads.sorted { $0.station < $1.station }.map { $0.leafHash(suite) }
        // Whole seconds: the signed text must read back the same from a database that keeps microseconds.
        let second = Timestamp(Date(timeIntervalSince1970: at.date.timeIntervalSince1970.rounded(.down)))
        var c = Checkpoint(origin: origin, treeSize: leaves.count, root: MerkleTree.root(leafHashes: leaves, suite: suite), issuedAt: second,
                           signature: [], suite: suite)
        c.signature = try key.sign(Array(c.signedText.utf8))
        return c
    }

    /// Builds and signs with an Ed25519 key (the international suite).
    public static func sign(heads: [ChainHeadLeaf], origin: String, at: Timestamp, key: Curve25519.Signing.PrivateKey) throws -> Checkpoint {
        try sign(heads: heads, origin: origin, at: at, key: .ed25519(key))
    }

    /// Nil when `key` signed this checkpoint, else why not — a key of the other suite is named as such.
    public func signatureProblem(with key: CheckpointPublicKey) -> String? {
        guard key.suite == suite else {
            return "the checkpoint is sealed under the \(suite.summary) suite, the key is \(key.suite.signatureName) (\(key.suite.rawValue))"
        }
        return key.isValidSignature(signature, for: Array(signedText.utf8)) ? nil : "the \(suite.signatureName) signature does not verify with this key"
    }

    /// Whether `key` signed this checkpoint.
    public func isSigned(by key: CheckpointPublicKey) -> Bool { signatureProblem(with: key) == nil }

    /// Whether an Ed25519 `key` signed this checkpoint.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool { isSigned(by: .ed25519(key)) }

    /// Whether `leaf` at `index` belongs to this checkpoint's tree by `proof`.
    public func includes(_ leaf: ChainHeadLeaf, index: Int, proof: [Digest32]) -> Bool {
        MerkleTree.verifyInclusion(leafHash: leaf.leafHash(suite), index: index, treeSize: treeSize, proof: proof, root: root, suite: suite)
    }
}
