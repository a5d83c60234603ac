import FuelLedger
import FuelStore
import FuelTestSupport
import Foundation
import Testing

/// The background verifier's two extents: since the last verification (the records added since,
/// linked to where it ended) and whole (from the chain's first record in the database).
@Suite struct ChainVerificationExtentTests {
    static func tamper(_ db: FuelDatabase, station: String, seq: Int) async throws {
        try await TestPostgres.superuser(db, """
            ALTER TABLE ledger DISABLE TRIGGER ledger_append_only;
            UPDATE ledger SET body = replace(body, '"volume_l":18000', '"volume_l":17000') WHERE station = '\(station)' AND chain_seq = \(seq);
            ALTER TABLE ledger ENABLE TRIGGER ledger_append_only
            """)
    }

    /// A verification since the last checks only what was added, goes on from where the last ended,
    /// and finds an edit there; an edit of an older record waits for the whole recomputation, which
    /// finds it, and a break then stays until a whole recomputation finds the chain intact.
    @Test func sinceTheLastChecksWhatWasAddedAndWholeChecksEverything() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db), audit = ChainAudit(database: db)
            _ = try await ledger.append(station: "S1", records: (1...10).map { Fixtures.reading($0) }, rejected: [])
            _ = try await ledger.append(station: "S2", records: (1...10).map { Fixtures.reading($0) }, rejected: [])

            // Never verified: the first verification since the last is whole.
            let first = try await audit.verify(station: "S1", extent: .sinceLast)
            #expect(first.isIntact && first.recordsChecked == 10)
            let wholeAt = try #require(try await audit.lastVerification(station: "S1")?.wholeAt)

            _ = try await ledger.append(station: "S1", records: (11...14).map { Fixtures.reading($0) }, rejected: [])
            let next = try await audit.verify(station: "S1", extent: .sinceLast)
            #expect(next.isIntact && next.recordsChecked == 4)
            let kept = try #require(try await audit.lastVerification(station: "S1"))
            #expect(kept.headSeq == 14 && kept.records == 4 && kept.wholeAt == wholeAt)

            // An older record edited: not seen since the last, seen by the whole recomputation.
            try await Self.tamper(db, station: "S1", seq: 3)
            #expect(try await audit.verify(station: "S1", extent: .sinceLast).recordsChecked == 0)
            let whole = try await audit.verify(station: "S1", extent: .whole)
            #expect(whole.firstBreak?.breakAt.position == 3)
            // After a break, "since the last" recomputes whole (and finds it again); the break stays.
            _ = try await ledger.append(station: "S1", records: [Fixtures.reading(15)], rejected: [])
            let again = try await audit.verify(station: "S1", extent: .sinceLast)
            #expect(again.firstBreak?.breakAt.position == 3)
            #expect(try await audit.lastVerification(station: "S1")?.intact == false)

            // A record added since the last verification and edited: found by the next since the last.
            #expect(try await audit.verify(station: "S2").isIntact)
            _ = try await ledger.append(station: "S2", records: (11...14).map { Fixtures.reading($0) }, rejected: [])
            try await Self.tamper(db, station: "S2", seq: 12)
            let added = try await audit.verify(station: "S2", extent: .sinceLast)
            #expect(added.firstBreak?.breakAt.position == 12)
        }
    }

    /// The background verifier's next station: the stalest, whole when its last whole recomputation
    /// is older than its share of the limit (or it was never verified), else since the last.
    @Test func theStalestStationAndItsExtent() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db), audit = ChainAudit(database: db)
            _ = try await ledger.append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            let never = try #require(try await audit.stalestStation(olderThan: 0, wholeOlderThan: 3600))
            #expect(never.station == "S1" && never.extent == .whole)
            _ = try await audit.verify()  // every station (the registry's S2 has a head too)
            #expect(try await audit.stalestStation(olderThan: 3600, wholeOlderThan: 3600) == nil)
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await audit.stalestStation(olderThan: 0.001, wholeOlderThan: 3600)?.extent == .sinceLast)
            #expect(try await audit.stalestStation(olderThan: 0.001, wholeOlderThan: 0.001)?.extent == .whole)
            // A station's whole recomputation is due between half and all of the limit after its last.
            for (age, due) in [(0.49, false), (1.01, true)] {
                try await TestPostgres.superuser(db, "UPDATE chain_verifications SET full_at = now() - interval '\(Int(age * 100)) days'")
                #expect(try await audit.stalestStation(olderThan: 0.001, wholeOlderThan: 100 * 86_400)?.extent == (due ? .whole : .sinceLast))
            }
        }
    }
}
