import FuelLedger
import Testing

@Suite struct MerkleTreeTests {
    /// The leaves of RFC 6962's test vectors (certificate-transparency reference tests).
    static let leaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        Array(0x50...0x57), Array(0x60...0x6f),
    ]
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func hex(_ d: [UInt8]) -> String { d.map { String(format: "%02x", $0) }.joined() }

    @Test func rootsMatchTheReferenceVectors() {
        let hashes = Self.leaves.map { MerkleTree.leafHash($0) }
        for n in 1...8 { #expect(Self.hex(MerkleTree.root(leafHashes: Array(hashes.prefix(n)))) == Self.roots[n - 1], "tree of \(n)") }
        #expect(Self.hex(MerkleTree.root(leafHashes: [])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func auditPathsMatchTheReferenceVectors() throws {
        let hashes = Self.leaves.map { MerkleTree.leafHash($0) }
        let cases: [(Int, Int, [String])] = [
            (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
            (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
            (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
            (0, 1, []),
        ]
        for (m, n, expected) in cases {
            let proof = try #require(MerkleTree.inclusionProof(index: m, leafHashes: Array(hashes.prefix(n))))
            #expect(proof.map(Self.hex) == expected, "leaf \(m) of \(n)")
        }
    }

    @Test func everyLeafOfEveryTreeUpTo70VerifiesAndNothingElseDoes() throws {
        let hashes = (0..<70).map { MerkleTree.leafHash([UInt8(truncatingIfNeeded: $0), 0xAB]) }
        for n in 1...70 {
            let tree = Array(hashes.prefix(n))
            let root = MerkleTree.root(leafHashes: tree)
            for m in 0..<n {
                let proof = try #require(MerkleTree.inclusionProof(index: m, leafHashes: tree))
                #expect(MerkleTree.verifyInclusion(leafHash: tree[m], index: m, treeSize: n, proof: proof, root: root))
                // Another leaf, another index, another size or a changed path does not verify.
                #expect(!MerkleTree.verifyInclusion(leafHash: hashes[(m + 1) % 70], index: m, treeSize: n, proof: proof, root: root))
                if n > 1 { #expect(!MerkleTree.verifyInclusion(leafHash: tree[m], index: (m + 1) % n, treeSize: n, proof: proof, root: root)) }
                // (The tree size is bound by the signed checkpoint, not by the path: a path may fit n + 1 as well.)
                #expect(!MerkleTree.verifyInclusion(leafHash: tree[m], index: m, treeSize: 2 * n + 2, proof: proof, root: root))
                if var bad = Optional(proof), !bad.isEmpty {
                    bad[bad.count / 2][0] ^= 1
                    #expect(!MerkleTree.verifyInclusion(leafHash: tree[m], index: m, treeSize: n, proof: bad, root: root))
                }
            }
            #expect(MerkleTree.inclusionProof(index: n, leafHashes: tree) == nil)
        }
    }
}
