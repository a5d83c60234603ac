import Crypto
import FuelLedger
import FuelModel
import Foundation
import Testing

@Suite struct CheckpointTests {
    static let at = Timestamp(rfc3339: "2026-11-22T08:00:00.654321Z")!  // signed to the whole second

    static func heads(_ n: Int) -> [ChainHeadLeaf] {
        (0..<n).map { i in
            ChainHeadLeaf(station: String(format: "LN-SY-%04d", n - i), headSeq: Int64(100 + i),
                          headHash: HashChain.contentHash(Array("head \(i)".utf8)))
        }
    }

    @Test func aSignedCheckpointVerifiesWithItsKeyOnly() throws {
        let key = Curve25519.Signing.PrivateKey()
        let c = try Checkpoint.sign(heads: Self.heads(5), origin: "fuelwarden.test", at: Self.at, key: key)
        #expect(c.treeSize == 5)
        #expect(c.signedText.hasPrefix("fuelwarden.test\n5\n") && c.signedText.hasSuffix("\n2026-11-22T08:00:00Z\n"))
        #expect(c.isSigned(by: key.publicKey))
        #expect(!c.isSigned(by: Curve25519.Signing.PrivateKey().publicKey))
        var forged = c
        forged.treeSize = 4
        #expect(!forged.isSigned(by: key.publicKey))
        forged = c
        forged.root[0] ^= 1
        #expect(!forged.isSigned(by: key.publicKey))
    }

    @Test func theTreeIsOverTheHeadsInStationOrderWhateverOrderTheyCameIn() throws {
        let key = Curve25519.Signing.PrivateKey()
        let heads = Self.heads(9)
        let a = try Checkpoint.sign(heads: heads, origin: "o", at: Self.at, key: key)
        let b = try Checkpoint.sign(heads: heads.reversed(), origin: "o", at: Self.at, key: key)
        #expect(a.root == b.root)
        let sorted = heads.sorted { $0.station < $1.station }
        #expect(a.root == MerkleTree.root(leafHashes: sorted.map { $0.leafHash() }))
    }

    @Test func aHeadIsIncludedAtItsPlaceAndAChangedHeadIsNot() throws {
        let key = Curve25519.Signing.PrivateKey()
        let sorted = Self.heads(13).sorted { $0.station < $1.station }
        let c = try Checkpoint.sign(heads: sorted, origin: "o", at: Self.at, key: key)
        for (i, leaf) in sorted.enumerated() {
            let proof = try #require(MerkleTree.inclusionProof(index: i, leafHashes: sorted.map { $0.leafHash() }))
            #expect(c.includes(leaf, index: i, proof: proof))
            // What an administrator's later edit of a record up to the head would produce: another head hash.
            var edited = leaf
            edited.headHash[31] ^= 0x01
            #expect(!c.includes(edited, index: i, proof: proof))
            var shortened = leaf
            shortened.headSeq -= 1
            #expect(!c.includes(shortened, index: i, proof: proof))
        }
    }
}
