
/// Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), §2.1: the tree head over the
/// stations' chain heads that a signed checkpoint commits to, inclusion proofs and their check.
///
/// `leaf = H(0x00 ‖ data)`, `node = H(0x01 ‖ left ‖ right)`, H the suite's hash (SHA-256, or SM3
/// under `guomi`); a tree of n > 1 leaves splits at the largest power of two below n; the empty
/// tree's hash is H of nothing.
public enum MerkleTree {
    /// RFC 9162 leaf hash: `HASH(0x00 ‖ data)`.
    public static func leafHash(_ data: some Collection<UInt8>, suite: LedgerSuite = .international) -> Digest32 {
        suite.digest([0x00], Array(data))
    }

    /// RFC 9162 interior node hash: `HASH(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: Digest32, _ right: Digest32, suite: LedgerSuite = .international) -> Digest32 {
        suite.digest([0x01], left, right)
    }

    /// MTH(D[n]) from the leaves' hashes.
    public static func root(leafHashes: [Digest32], suite: LedgerSuite = .international) -> Digest32 {
        guard !leafHashes.isEmpty else { return suite.digest([]) }
        return subtreeRoot(leafHashes[...], suite: suite)
    }

    /// PATH(m, D[n]): the audit path of leaf `index` in the tree of `leafHashes`, leaf side first.
    public static func inclusionProof(index: Int, leafHashes: [Digest32], suite: LedgerSuite = .international) -> [Digest32]? {
        guard index >= 0, index < leafHashes.count else { return nil }
        var path: [Digest32] = []
        var slice = leafHashes[...]
        var m = index
        // Walk down from the root, remembering the sibling subtree at each split; the path is leaf-first.
        while slice.count > 1 {
            let k = largestPowerOfTwo(below: slice.count)
            let start = slice.startIndex
            if m < k {
                path.append(subtreeRoot(slice[(start + k)...], suite: suite))
                slice = slice[start..<(start + k)]
            } else {
                path.append(subtreeRoot(slice[start..<(start + k)], suite: suite))
                slice = slice[(start + k)...]
                m -= k
            }
        }
        return path.reversed()
    }

    /// Checks an audit path (RFC 9162 §2.1.3.2): does leaf `index` with hash `leafHash` belong to the
    /// tree of `treeSize` leaves whose hash is `root`?
    public static func verifyInclusion(leafHash: Digest32, index: Int, treeSize: Int, proof: [Digest32], root: Digest32,
                                       suite: LedgerSuite = .international) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index, sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r, suite: suite)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p, suite: suite)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    static func subtreeRoot(_ leaves: ArraySlice<Digest32>, suite: LedgerSuite) -> Digest32 {
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        let k = largestPowerOfTwo(below: leaves.count)
        let mid = leaves.startIndex + k
        return nodeHash(subtreeRoot(leaves[leaves.startIndex..<mid], suite: suite), subtreeRoot(leaves[mid...], suite: suite), suite: suite)
    }

    /// The largest power of two strictly below n (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
