import FuelLedger
import FuelService
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import Testing

@Suite struct CheckpointApiTests {
    @Test func theDaemonSignsCheckpointsThatCatchALaterEdit() async throws {
        let (privateKey, publicKey) = try CheckpointKeys.generate()
        try await TestDaemon.with(stations: 2, tweak: {
            $0.checkpoint.signingKey = privateKey
            $0.checkpoint.interval = .seconds(1)
            $0.checkpoint.origin = "fuelwarden.test"
        }) { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let admin = try await d.token(.admin)
            _ = try await d.client.push(station: s, key: key, lines: [ApiTests.line])
            // Wait for a checkpoint that has the pushed record.
            let file = try await latestCheckpoint(d, token: admin, covering: s, seq: 1)
            let saved = try #require(file)
            #expect(saved.origin == "fuelwarden.test" && saved.treeSize == 2 && saved.publicKey == publicKey)
            #expect(saved.problems(trustedKey: publicKey).isEmpty)
            #expect(try await d.client.send(.GET, "/v1/checkpoints/latest", token: key).0 == 403)

            // Someone else's key, an edited head or an edited note: the file itself fails offline.
            let other = try CheckpointKeys.generate().publicKey
            #expect(saved.problems(trustedKey: other) == ["not signed by the trusted key"])
            var edited = saved
            edited.heads[0].seq += 1
            #expect(edited.problems(trustedKey: publicKey) == ["the heads do not make the signed tree"])

            // The database as it was signed matches; after a direct edit of the record it does not.
            let audit = ChainAudit(database: d.db)
            #expect(try await audit.verify(against: saved.leaves()).isEmpty)
            try await TestPostgres.superuser(d.db, """
                ALTER TABLE ledger DISABLE TRIGGER USER; UPDATE ledger SET body = replace(body, '18234.5', '18434.5') WHERE station = '\(s)';
                ALTER TABLE ledger ENABLE TRIGGER USER
                """)
            let problems = try await audit.verify(against: saved.leaves())
            #expect(problems.count == 1 && problems[0].hasPrefix("\(s): records 1…1 no longer hash"), "\(problems)")
        }
    }

    @Test func aRecordsProofHoldsOfflineUntilTheDatabaseIsEdited() async throws {
        let (privateKey, publicKey) = try CheckpointKeys.generate()
        try await TestDaemon.with(stations: 2, tweak: {
            $0.checkpoint.signingKey = privateKey
            $0.checkpoint.interval = .seconds(1)
        }) { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let viewer = try await d.token(.viewer)
            let lines = (1...5).map { ApiTests.line.replacingOccurrences(of: #""seq":1"#, with: #""seq":\#($0)"#)
                .replacingOccurrences(of: "08:00:00Z", with: "08:0\($0):00Z") }
            _ = try await d.client.push(station: s, key: key, lines: lines)
            let file = try await latestCheckpoint(d, token: viewer, covering: s, seq: 5)
            let saved = try #require(file)
            #expect(saved.heads.allSatisfy { $0.recordsRoot != nil })
            #expect(saved.problems(trustedKey: publicKey).isEmpty)

            // Every record's proof holds against the saved checkpoint, offline.
            for seq in 1...5 {
                let (status, body) = try await d.client.send(.GET, "/v1/stations/\(s)/records/\(seq)/proof", token: viewer)
                #expect(status == 200, "\(body)")
                #expect(try RecordProofFile.decode(Data(body.utf8)).problems(in: saved).isEmpty, "seq \(seq)")
            }
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/records/6/proof", token: viewer).0 == 404)
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/records/1/proof", token: key).0 == 403)
            #expect(try await d.client.send(.GET, "/v1/stations/\(s)/records/1/proof?checkpoint=999999", token: viewer).0 == 404)

            // The administrator edits record 3 and recomputes its link and every later one, so the chain
            // itself verifies again: the proofs no longer lead to the signed root.
            try await TestPostgres.superuser(d.db, """
                ALTER TABLE ledger DISABLE TRIGGER USER;
                UPDATE ledger SET body = replace(body, '18234.5', '18034.5') WHERE station = '\(s)' AND chain_seq = 3;
                UPDATE ledger SET content_hash = sha256(convert_to(body, 'UTF8')) WHERE station = '\(s)' AND chain_seq = 3;
                UPDATE ledger SET hash = sha256(prev_hash || int8send(chain_seq) || convert_to(body, 'UTF8')) WHERE station = '\(s)' AND chain_seq = 3;
                UPDATE ledger SET prev_hash = (SELECT hash FROM ledger WHERE station = '\(s)' AND chain_seq = 3) WHERE station = '\(s)' AND chain_seq = 4;
                UPDATE ledger SET hash = sha256(prev_hash || int8send(chain_seq) || convert_to(body, 'UTF8')) WHERE station = '\(s)' AND chain_seq = 4;
                UPDATE ledger SET prev_hash = (SELECT hash FROM ledger WHERE station = '\(s)' AND chain_seq = 4) WHERE station = '\(s)' AND chain_seq = 5;
                UPDATE ledger SET hash = sha256(prev_hash || int8send(chain_seq) || convert_to(body, 'UTF8')) WHERE station = '\(s)' AND chain_seq = 5;
                UPDATE chain_heads SET head_hash = (SELECT hash FROM ledger WHERE station = '\(s)' AND chain_seq = 5) WHERE station = '\(s)';
                ALTER TABLE ledger ENABLE TRIGGER USER
                """)
            #expect(try await ChainAudit(database: d.db).verify(station: s).isIntact, "the rewrite is consistent: only the checkpoint can tell")
            // (A new checkpoint follows the edit; ask for proofs in the one that was saved.)
            let savedID = try #require(try await storedID(d, saved))
            for seq in [1, 3, 5] {
                let body = try await d.client.send(.GET, "/v1/stations/\(s)/records/\(seq)/proof?checkpoint=\(savedID)", token: viewer).1
                let problems = try RecordProofFile.decode(Data(body.utf8)).problems(in: saved)
                #expect(problems.contains { $0.contains("is not the checkpoint's") }, "seq \(seq): \(problems)")
            }
        }
    }

    /// The same under the `guomi` suite: SM3 chains and trees, SM2 checkpoints; the chain verifies,
    /// a stored link hash is what `openssl dgst -sm3` gives, the checkpoint and a record's proof verify
    /// offline with the SM2 public key (PEM), an Ed25519 key is refused by name, and a daemon
    /// configured for the other suite refuses to start on this database.
    @Test func aGuomiLedgerSealsWithSM3AndSM2() async throws {
        let (privateKey, publicKey) = try CheckpointKeys.generate(.guomi)
        try await TestDaemon.with(stations: 2, tweak: {
            $0.ledger.suite = .guomi
            $0.checkpoint.signingKey = privateKey
            $0.checkpoint.interval = .seconds(1)
        }) { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let viewer = try await d.token(.viewer)
            let lines = (1...3).map { ApiTests.line.replacingOccurrences(of: #""seq":1"#, with: #""seq":\#($0)"#)
                .replacingOccurrences(of: "08:00:00Z", with: "08:0\($0):00Z") }
            _ = try await d.client.push(station: s, key: key, lines: lines)
            #expect(try await d.db.ledgerSuite() == .guomi)
            let report = try await ChainAudit(database: d.db).verify()
            #expect(report.isIntact && report.suite == .guomi && report.recordsChecked >= 3 && report.auditEntriesChecked >= 1)

            // The independent check of one stored link: SM3(previous ‖ be64(seq) ‖ body) by the command line.
            let row = try #require(try await TestPostgres.strings(d.db, """
                SELECT encode(prev_hash, 'hex') || ' ' || encode(hash, 'hex') || ' ' || body FROM ledger WHERE station = '\(s)' AND chain_seq = 2
                """).first)
            let parts = row.split(separator: " ", maxSplits: 2).map(String.init)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("fw-link-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try Data([UInt8](hex: parts[0])! + [0, 0, 0, 0, 0, 0, 0, 2] + Array(parts[2].utf8)).write(to: URL(fileURLWithPath: file))
            if OpenSSLCLI.isInstalled {
                let text = String(decoding: try OpenSSLCLI.run(["dgst", "-sm3", "-r", file], mergingErrors: false).output, as: UTF8.self)
                #expect(text.hasPrefix(parts[1]), "openssl: \(text), stored: \(parts[1])")
            }

            let saved = try await latestCheckpoint(d, token: viewer, covering: s, seq: 3)
            let c = try #require(saved)
            #expect(c.suite == "guomi" && c.publicKey == publicKey && c.publicKey.hasPrefix("-----BEGIN PUBLIC KEY-----"))
            #expect(c.problems(trustedKey: publicKey).isEmpty)
            let ed = try CheckpointKeys.generate(.international).publicKey
            #expect(c.problems(trustedKey: ed).contains { $0.contains("sealed under the guomi (SM3, SM2) suite") })
            for seq in 1...3 {
                let body = try await d.client.send(.GET, "/v1/stations/\(s)/records/\(seq)/proof", token: viewer).1
                let proof = try RecordProofFile.decode(Data(body.utf8))
                #expect(proof.suite == "guomi" && proof.problems(in: c).isEmpty, "seq \(seq)")
            }
            #expect(try await ChainAudit(database: d.db).verify(against: c.leaves()).isEmpty)

            // The international suite is refused on this database, by name (what a daemon or `migrate`
            // configured for it says at startup).
            await #expect { try await LedgerSuiteStore(database: d.db).choose(.international) } throws: {
                "\($0)".contains("ledger.suite is international but this database's ledger is sealed with guomi (SM3, SM2)")
            }
            #expect(try await LedgerSuiteStore(database: d.db).choose(.guomi) == .guomi)
        }
    }

    /// The latest checkpoint once it covers record `seq` of `station` (nil after 20 s).
    func latestCheckpoint(_ d: TestDaemon, token: String, covering station: String, seq: Int64) async throws -> CheckpointFile? {
        for _ in 0..<100 {
            let (status, body) = try await d.client.send(.GET, "/v1/checkpoints/latest", token: token)
            if status == 200, let f = try? CheckpointFile.decode(Data(body.utf8)), f.heads.contains(where: { $0.station == station && $0.seq == seq }) {
                return f
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    /// The id of the stored checkpoint whose root the saved file has.
    func storedID(_ d: TestDaemon, _ saved: CheckpointFile) async throws -> Int64? {
        let rows = try await TestPostgres.strings(d.db, "SELECT id::text || ' ' || encode(root, 'base64') FROM checkpoints ORDER BY id")
        return rows.first { $0.hasSuffix(" " + saved.rootHash) }.flatMap { Int64($0.split(separator: " ")[0]) }
    }
}
