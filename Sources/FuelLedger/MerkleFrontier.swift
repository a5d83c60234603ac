/// The right edge of an append-only RFC 9162 tree: the roots of its perfect subtrees, largest
/// first (one per set bit of the size). Appending a leaf costs one hash plus one per carry, and the
/// root folds the subtrees from the right — so a station's records tree is kept as it grows
/// without ever rereading its leaves.
public struct MerkleFrontier: Hashable, Sendable {
    public private(set) var size: Int64
    /// Perfect subtree roots, largest (leftmost) first.
    public private(set) var subtrees: [Digest32]
    public let suite: LedgerSuite

    public init(suite: LedgerSuite = .international) {
        size = 0
        subtrees = []
        self.suite = suite
    }

    /// Restores a frontier saved with ``bytes``; nil when the bytes cannot be one of `size` leaves.
    public init?(size: Int64, bytes: [UInt8], suite: LedgerSuite = .international) {
        guard size >= 0, bytes.count == size.nonzeroBitCount * 32 else { return nil }
        self.size = size
        self.suite = suite
        subtrees = stride(from: 0, to: bytes.count, by: 32).map { Array(bytes[$0..<($0 + 32)]) }
    }

    /// The subtrees concatenated, for storage.
    public var bytes: [UInt8] { subtrees.flatMap { $0 } }

    /// Appends a leaf by its data (hashed as an RFC 9162 leaf).
    public mutating func append(leafData: some Collection<UInt8>) { append(leafHash: MerkleTree.leafHash(leafData, suite: suite)) }

    /// Adds a leaf by its leaf hash, merging completed subtrees.
    public mutating func append(leafHash: Digest32) {
        var node = leafHash
        // Each trailing 1 bit of the old size is a subtree of the new one's size to merge with.
        var carry = size
        while carry & 1 == 1 {
            node = MerkleTree.nodeHash(subtrees.removeLast(), node, suite: suite)
            carry >>= 1
        }
        subtrees.append(node)
        size += 1
    }

    /// MTH of the leaves so far (the hash of nothing for none).
    public var root: Digest32 {
        guard var r = subtrees.last else { return MerkleTree.root(leafHashes: [], suite: suite) }
        for s in subtrees.dropLast().reversed() { r = MerkleTree.nodeHash(s, r, suite: suite) }
        return r
    }
}

/// The proof that one record is in a signed checkpoint: the record (canonical body and previous
/// link hash, from which its chain hash is recomputed) and the audit path of that hash in its
/// station's records tree, whose size and root the checkpoint's leaf for the station names.
public struct RecordProof: Hashable, Sendable, Codable {
    public var station: String
    public var seq: Int64
    /// The canonical body as stored (what the chain hashes).
    public var body: String
    public var previousHash: Digest32
    public var hash: Digest32
    /// Size and root of the station's records tree in the checkpoint (= its head seq).
    public var treeSize: Int64
    public var recordsRoot: Digest32
    public var path: [Digest32]
    /// The suite the ledger hashes with (nil in proofs saved before suites: international).
    public var suite: LedgerSuite?

    public init(station: String, seq: Int64, body: String, previousHash: Digest32, hash: Digest32, treeSize: Int64, recordsRoot: Digest32,
                path: [Digest32], suite: LedgerSuite = .international) {
        self.suite = suite
        self.station = station
        self.seq = seq
        self.body = body
        self.previousHash = previousHash
        self.hash = hash
        self.treeSize = treeSize
        self.recordsRoot = recordsRoot
        self.path = path
    }

    /// What is wrong with this proof against the checkpoint leaf of its station; empty when it holds.
    public func problems(against leaf: ChainHeadLeaf) -> [String] {
        var out: [String] = []
        if leaf.station != station { out.append("the proof is for \(station), the leaf for \(leaf.station)") }
        let suite = self.suite ?? .international
        let recomputed = HashChain.link(previous: previousHash, position: seq, body: Array(body.utf8), suite: suite)
        if recomputed != hash { out.append("record \(seq): the body does not hash to the record's link hash \(hash.hexString.prefix(16))…") }
        guard let root = leaf.recordsRoot else {
            out.append("the checkpoint has no records root for \(leaf.station) (signed before per-record proofs)")
            return out
        }
        if treeSize != leaf.headSeq || recordsRoot != root {
            out.append("the proof's records tree (\(treeSize) records, root \(recordsRoot.hexString.prefix(16))…) is not the checkpoint's (\(leaf.headSeq), \(root.hexString.prefix(16))…)")
        }
        if !MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(recomputed, suite: suite), index: Int(seq - 1), treeSize: Int(leaf.headSeq),
                                       proof: path, root: root, suite: suite) {
            out.append("record \(seq) is not in \(station)'s records tree signed in the checkpoint")
        }
        return out
    }
}
