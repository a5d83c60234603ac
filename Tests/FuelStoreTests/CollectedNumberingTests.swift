import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import Testing

/// Records the daemon collects itself (ATG, HJ 212) are numbered from `collected_heads` (migration
/// 0020), and stay exact where that row cannot be trusted alone: an earlier build appending beside
/// this one (it numbers from the ledger and leaves the row behind), a row from months ago, and a
/// station whose last records of the source were archived and dropped.
@Suite struct CollectedNumberingTests {
    static func reading(_ minute: Int) -> CollectedRecord {
        let at = TwoStations.t0.adding(seconds: Double(minute) * 60)
        return CollectedRecord(key: "T1/\(at.rfc3339)", line: minute, raw: "i201 \(minute)",
                               record: .tankReading(TankReading(tank: "T1", at: at, volumeL: 15_000 - Double(minute))))
    }

    static func collect(_ ledger: LedgerStore, _ minutes: [Int]) async throws -> AppendOutcome {
        try await ledger.appendCollected(station: "S1", source: .atg, records: minutes.map(reading), rejected: [])
    }

    static func seqs(_ db: FuelDatabase) async throws -> [String] {
        try await TestPostgres.strings(db, "SELECT source_seq::text FROM ledger WHERE station = 'S1' AND source = 'atg' ORDER BY chain_seq")
    }

    static func top(_ db: FuelDatabase) async throws -> [String] {
        try await TestPostgres.strings(db, "SELECT top_seq::text FROM collected_heads WHERE station = 'S1' AND source = 'atg'")
    }

    @Test func collectedRecordsNumberOnWhateverWroteTheLedgerBefore() async throws {
        try await TestPostgres.withDatabase { db in
            try await TwoStations.importRegistry(db)
            let ledger = LedgerStore(database: db)
            // Two new, one repeated within the batch: seqs 1 and 2, the top remembered.
            let first = try await Self.collect(ledger, [1, 2, 1])
            #expect(first.accepted == 2 && first.duplicates == 1)
            #expect(try await Self.seqs(db) == ["1", "2"])
            #expect(try await Self.top(db) == ["2"])

            // An earlier build appended seq 3 and left the row at 2: the ledger's recent months say 3.
            _ = try await Self.collect(ledger, [3])
            try await TestPostgres.superuser(db, "UPDATE collected_heads SET top_seq = 2")
            _ = try await Self.collect(ledger, [4, 3])
            #expect(try await Self.seqs(db) == ["1", "2", "3", "4"])
            #expect(try await Self.top(db) == ["4"])

            // A row written months ago (and stale): the whole ledger is asked.
            try await TestPostgres.superuser(db, "UPDATE collected_heads SET top_seq = 1, updated_at = now() - interval '100 days'")
            _ = try await Self.collect(ledger, [5])
            #expect(try await Self.seqs(db) == ["1", "2", "3", "4", "5"])
            #expect(try await Self.top(db) == ["5"])

            // No row, and the source's highest seqs archived: numbering goes on after them, never
            // reusing a seq the archive holds.
            try await TestPostgres.superuser(db, """
                DELETE FROM collected_heads;
                INSERT INTO ledger_archived_seqs (station, source, max_source_seq) VALUES ('S1', 'atg', 40)
                """)
            _ = try await Self.collect(ledger, [6])
            #expect(try await Self.seqs(db) == ["1", "2", "3", "4", "5", "41"])
            #expect(try await Self.top(db) == ["41"])

            // A key already recorded is a duplicate whatever the heads say.
            let again = try await Self.collect(ledger, [2, 6])
            #expect(again.accepted == 0 && again.duplicates == 2)
            #expect(try await Self.top(db) == ["41"])
        }
    }
}
