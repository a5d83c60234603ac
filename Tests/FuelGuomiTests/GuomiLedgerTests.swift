import FuelTestSupport
import FuelGuomi
import FuelLedger
import FuelModel
import Foundation
import Testing

/// The `guomi` ledger suite: chains and trees hashed with SM3, checkpoints signed with SM2; a chain
/// verifies, an edited row is caught, a proof verifies offline, the other suite's key is refused by
/// name, and the `openssl` command line agrees with a link hash and a checkpoint signature.
@Suite struct GuomiLedgerTests {
    static let bodies: [[UInt8]] = (1...9).map { Array(#"{"kind":"sale","n":\#($0)}"#.utf8) }

    static func chain(_ suite: LedgerSuite) -> [StoredLink] {
        var a = ChainAppender(headPosition: 0, headHash: HashChain.genesis, suite: suite)
        return bodies.map { body in
            let link = a.append(body: body)
            return StoredLink(position: link.position, body: body, contentHash: HashChain.contentHash(body, suite: suite),
                              previous: link.previous, hash: link.hash)
        }
    }

    @Test func theSuitesHashDifferentlyAndSM3IsTheStandards() {
        #expect(LedgerSuite.guomi.digest(Array("abc".utf8)).hexString == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        #expect(LedgerSuite.international.digest(Array("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(LedgerSuite.guomi.unavailability() == nil)
        #expect(Self.chain(.guomi).map(\.hash) != Self.chain(.international).map(\.hash))
        // Pieces fed apart hash as the whole (the link is H(previous ‖ be64(n) ‖ body)).
        #expect(LedgerSuite.guomi.digest([1, 2], [3]) == LedgerSuite.guomi.digest([1, 2, 3]))
    }

    @Test func aGuomiChainVerifiesAndAnEditedRowIsCaught() throws {
        let rows = Self.chain(.guomi)
        var v = ChainVerifier(suite: .guomi)
        for r in rows { try v.check(r) }
        try v.finish(headPosition: 9, headHash: rows.last!.hash)
        // Read as the other suite, the first row already fails.
        var wrong = ChainVerifier(suite: .international)
        #expect(throws: ChainBreak.self) { try wrong.check(rows[0]) }
        // An edited body is caught at its row.
        var edited = rows
        edited[4].body = Array(#"{"kind":"sale","n":50}"#.utf8)
        var again = ChainVerifier(suite: .guomi)
        do {
            for r in edited { try again.check(r) }
            Issue.record("the edit passed")
        } catch {
            #expect(error.position == 5)
        }
    }

    @Test func aGuomiCheckpointAndARecordProofVerifyOffline() throws {
        let rows = Self.chain(.guomi)
        var frontier = MerkleFrontier(suite: .guomi)
        for r in rows { frontier.append(leafData: r.hash) }
        let leafHashes = rows.map { MerkleTree.leafHash($0.hash, suite: .guomi) }
        #expect(frontier.root == MerkleTree.root(leafHashes: leafHashes, suite: .guomi))
        let heads = [ChainHeadLeaf(station: "LN-SY-0001", headSeq: 9, headHash: rows.last!.hash, recordsRoot: frontier.root),
                     ChainHeadLeaf(station: "LN-SY-0002", headSeq: 0, headHash: HashChain.genesis, recordsRoot: MerkleFrontier(suite: .guomi).root)]
        let key = try CheckpointSigningKey.generate(.guomi)
        let c = try Checkpoint.sign(heads: heads, origin: "fuelwarden-test", at: Timestamp(rfc3339: "2026-12-01T00:00:00Z")!, key: key)
        let publicKey = try key.publicKey
        #expect(c.suite == .guomi && c.isSigned(by: publicKey))
        // The public key as regulators get it (PEM) reads back and verifies.
        #expect(c.isSigned(by: try CheckpointPublicKey.parse(try key.publicKey.text())))
        #expect(c.includes(heads[0], index: 0, proof: [heads[1].leafHash(.guomi)]))
        // A key of the other suite is refused by name; a tampered root does not verify.
        let ed = try CheckpointSigningKey.generate(.international).publicKey
        #expect(c.signatureProblem(with: ed)?.contains("sealed under the guomi (SM3, SM2) suite") == true)
        var tampered = c
        tampered.root[0] ^= 1
        #expect(tampered.signatureProblem(with: try key.publicKey)?.contains("does not verify") == true)
        // A record's proof against the checkpoint's leaf, offline.
        let proof = RecordProof(station: "LN-SY-0001", seq: 4, body: String(decoding: rows[3].body, as: UTF8.self), previousHash: rows[3].previous,
                                hash: rows[3].hash, treeSize: 9, recordsRoot: frontier.root,
                                path: MerkleTree.inclusionProof(index: 3, leafHashes: leafHashes, suite: .guomi)!, suite: .guomi)
        #expect(proof.problems(against: heads[0]).isEmpty)
        var asInternational = proof
        asInternational.suite = .international
        #expect(!asInternational.problems(against: heads[0]).isEmpty)
        // Keys round-trip through their text.
        let reread = try CheckpointSigningKey.parse(try key.text())
        let rereadPublic = try reread.publicKey
        #expect(reread.suite == .guomi && c.isSigned(by: rereadPublic))
    }

    /// The independent check: `openssl dgst -sm3` gives a record's link hash from previous ‖ be64(n) ‖
    /// body, and `openssl pkeyutl -verify` accepts a checkpoint's SM2 signature over its note.
    @Test func theOpenSSLCommandLineAgrees() throws {
        guard OpenSSLCLI.isInstalled else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guomi-ledger-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let row = Self.chain(.guomi)[2]
        let position = withUnsafeBytes(of: UInt64(3).bigEndian) { Array($0) }
        try Data(row.previous + position + row.body).write(to: URL(fileURLWithPath: path("link")))
        let (status, out) = try OpenSSLCLI.run(["dgst", "-sm3", "-r", path("link")])
        #expect(status == 0 && String(decoding: out, as: UTF8.self).hasPrefix(row.hash.hexString))

        let key = try CheckpointSigningKey.generate(.guomi)
        let c = try Checkpoint.sign(heads: [ChainHeadLeaf(station: "S", headSeq: 3, headHash: row.hash)], origin: "o",
                                    at: Timestamp(rfc3339: "2026-12-01T00:00:00Z")!, key: key)
        try Data(c.signedText.utf8).write(to: URL(fileURLWithPath: path("note")))
        try Data(c.signature).write(to: URL(fileURLWithPath: path("sig")))
        try key.publicKey.text().write(toFile: path("pub.pem"), atomically: true, encoding: .utf8)
        let (vs, vout) = try OpenSSLCLI.run(["pkeyutl", "-verify", "-pubin", "-inkey", path("pub.pem"), "-rawin", "-in", path("note"),
                                             "-sigfile", path("sig"), "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"])
        #expect(vs == 0 && String(decoding: vout, as: UTF8.self).contains("Signature Verified Successfully"))
    }
}
