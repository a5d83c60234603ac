import Crypto
import FuelLedger
import Testing

/// The records tree's frontier and per-record proofs.
@Suite struct MerkleFrontierTests {
    static func leaf(_ i: Int) -> [UInt8] { Array(SHA256.hash(data: Array("record \(i)".utf8))) }

    @Test func theFrontierRootIsTheTreeHashAtEverySize() {
        var f = MerkleFrontier()
        var leaves: [Digest32] = []
        #expect(f.root == MerkleTree.root(leafHashes: []))
        for i in 0..<130 {
            f.append(leafData: Self.leaf(i))
            leaves.append(MerkleTree.leafHash(Self.leaf(i)))
            #expect(f.root == MerkleTree.root(leafHashes: leaves), "size \(i + 1)")
            #expect(f.subtrees.count == (i + 1).nonzeroBitCount)
            // Saved and restored, it goes on the same.
            #expect(MerkleFrontier(size: f.size, bytes: f.bytes) == f)
        }
        #expect(MerkleFrontier(size: 3, bytes: Array(repeating: 0, count: 32)) == nil)
        #expect(MerkleFrontier(size: -1, bytes: []) == nil)
    }

    /// A chain of `n` records with its records tree.
    static func chain(_ n: Int) -> (bodies: [String], links: [Digest32], frontier: MerkleFrontier) {
        var prev = HashChain.genesis, links: [Digest32] = [], bodies: [String] = [], f = MerkleFrontier()
        for i in 1...n {
            let body = #"{"seq":\#(i)}"#
            prev = HashChain.link(previous: prev, position: Int64(i), body: Array(body.utf8))
            links.append(prev)
            bodies.append(body)
            f.append(leafData: prev)
        }
        return (bodies, links, f)
    }

    static func proof(_ c: (bodies: [String], links: [Digest32], frontier: MerkleFrontier), _ seq: Int) -> RecordProof {
        let leafHashes = c.links.map { MerkleTree.leafHash($0) }
        return RecordProof(station: "S1", seq: Int64(seq), body: c.bodies[seq - 1], previousHash: seq == 1 ? HashChain.genesis : c.links[seq - 2],
                           hash: c.links[seq - 1], treeSize: Int64(c.links.count), recordsRoot: c.frontier.root,
                           path: MerkleTree.inclusionProof(index: seq - 1, leafHashes: leafHashes)!)
    }

    @Test func everyRecordsProofHoldsAndAnEditBreaksIt() {
        let c = Self.chain(23)
        let leaf = ChainHeadLeaf(station: "S1", headSeq: 23, headHash: c.links.last!, recordsRoot: c.frontier.root)
        for seq in 1...23 { #expect(Self.proof(c, seq).problems(against: leaf).isEmpty, "seq \(seq)") }

        var edited = Self.proof(c, 7)
        edited.body = #"{"seq":70}"#
        #expect(edited.problems(against: leaf).first?.hasPrefix("record 7: the body does not hash") == true)
        var moved = Self.proof(c, 7)
        moved.seq = 8
        #expect(!moved.problems(against: leaf).isEmpty)
        var otherTree = Self.proof(c, 7)
        otherTree.path[0] = otherTree.path[1]
        #expect(otherTree.problems(against: leaf) == ["record 7 is not in S1's records tree signed in the checkpoint"])
        // A later checkpoint of a longer chain: an old proof names the wrong tree.
        let longer = Self.chain(30)
        let later = ChainHeadLeaf(station: "S1", headSeq: 30, headHash: longer.links.last!, recordsRoot: longer.frontier.root)
        #expect(!Self.proof(c, 7).problems(against: later).isEmpty)
        #expect(Self.proof(longer, 7).problems(against: later).isEmpty)
        let unrooted = ChainHeadLeaf(station: "S1", headSeq: 23, headHash: c.links.last!)
        #expect(Self.proof(c, 7).problems(against: unrooted) == ["the checkpoint has no records root for S1 (signed before per-record proofs)"])
    }

    @Test func aLeafWithARecordsRootSignsItAsAFourthLine() {
        let h = Array(repeating: UInt8(0xab), count: 32), r = Array(repeating: UInt8(0xcd), count: 32)
        #expect(String(decoding: ChainHeadLeaf(station: "S", headSeq: 2, headHash: h).data, as: UTF8.self) == "S\n2\n" + h.hexString)
        #expect(String(decoding: ChainHeadLeaf(station: "S", headSeq: 2, headHash: h, recordsRoot: r).data, as: UTF8.self)
                == "S\n2\n" + h.hexString + "\n" + r.hexString)
    }
}
