import Crypto
import FuelLedger
import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import Testing

@Suite struct CheckpointStoreTests {
    @Test func aCheckpointStopsVerifyingAfterADirectDatabaseEdit() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            _ = try await ledger.append(station: "S1", records: (1...5).map { Fixtures.reading($0) }, rejected: [])
            _ = try await ledger.append(station: "S2", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            let store = CheckpointStore(database: db)
            let key = Curve25519.Signing.PrivateKey()
            let first = try #require(try await store.issue(origin: "fuelwarden.test", key: key))
            #expect(first.checkpoint.treeSize == 2)
            #expect(first.heads.map(\.station) == ["S1", "S2"] && first.heads.map(\.headSeq) == [5, 3])
            #expect(first.checkpoint.isSigned(by: try Curve25519.Signing.PublicKey(rawRepresentation: first.publicKey)))
            // Nothing moved: no new checkpoint. Something moved: a new one, and the latest reads back whole.
            #expect(try await store.issue(origin: "fuelwarden.test", key: key) == nil)
            _ = try await ledger.append(station: "S2", records: [Fixtures.reading(4)], rejected: [])
            let second = try #require(try await store.issue(origin: "fuelwarden.test", key: key))
            #expect(try await store.latest() == second)
            #expect(second.heads.map(\.headSeq) == [5, 4])

            let audit = ChainAudit(database: db)
            #expect(try await audit.verify(against: first.heads).isEmpty)
            #expect(try await audit.verify(against: second.heads).isEmpty)
            // The administrator edits a record's body (and recomputes nothing): the checkpoint catches it.
            try await TestPostgres.superuser(db, """
                ALTER TABLE ledger DISABLE TRIGGER USER; UPDATE ledger SET body = replace(body, '18000', '17000') WHERE station = 'S1' AND chain_seq = 2;
                ALTER TABLE ledger ENABLE TRIGGER USER
                """)
            let problems = try await audit.verify(against: second.heads)
            #expect(problems.count == 1 && problems[0].hasPrefix("S1: records 1…5 no longer hash"), "\(problems)")
        }
    }
}
