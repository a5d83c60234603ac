import FuelService
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import Testing

@Suite struct CheckpointApiTests {
    @Test func theDaemonSignsCheckpointsThatCatchALaterEdit() async throws {
        let (privateKey, publicKey) = CheckpointKeys.generate()
        try await TestDaemon.with(stations: 2, tweak: {
            $0.checkpointSigningKey = privateKey
            $0.checkpointIntervalSeconds = 1
            $0.checkpointOrigin = "fuelwarden.test"
        }) { d in
            let s = d.registry.stations[0].id
            let key = try await d.token(.station, station: s)
            let admin = try await d.token(.admin)
            _ = try await d.client.push(station: s, key: key, lines: [ApiTests.line])
            // Wait for a checkpoint that has the pushed record.
            var file: CheckpointFile?
            for _ in 0..<100 {
                let (status, body) = try await d.client.send(.GET, "/v1/checkpoints/latest", token: admin)
                if status == 200, let f = try? CheckpointFile.decode(Data(body.utf8)), f.heads.contains(where: { $0.station == s && $0.seq == 1 }) {
                    file = f
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            let saved = try #require(file)
            #expect(saved.origin == "fuelwarden.test" && saved.treeSize == 2 && saved.publicKey == publicKey)
            #expect(saved.problems(trustedKey: publicKey).isEmpty)
            #expect(try await d.client.send(.GET, "/v1/checkpoints/latest", token: key).0 == 403)

            // Someone else's key, an edited head or an edited note: the file itself fails offline.
            let other = CheckpointKeys.generate().publicKey
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
}
