@testable import FuelStore
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

/// A closed month rewritten in (station, chain_seq) order (migration 0019): the same rows, the same
/// name, keys and guards, a station's rows together on the pages, and the chains as they were.
@Suite struct LedgerCompactionTests {
    @Test func aClosedMonthIsRewrittenInChainOrderWithNothingElseChanged() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            // Two stations interleaved, as arrival order leaves a month.
            for seq in 1...6 {
                for station in ["S2", "S1"] {
                    #expect(try await ledger.append(station: station, records: [Fixtures.reading(Int64(seq))], rejected: []).accepted == 1)
                }
            }
            let first = try await TestPostgres.closeFirstLedgerPeriod(db)
            #expect(try await ledger.append(station: "S1", records: [Fixtures.reading(7)], rejected: []).accepted == 1)
            let rows = "SELECT station || '/' || chain_seq || '/' || encode(hash, 'hex') || '/' || received_at FROM ledger ORDER BY station, chain_seq"
            let before = try await TestPostgres.strings(db, rows)
            let physical = "SELECT station || '/' || chain_seq FROM \(first) ORDER BY ctid"
            #expect(try await TestPostgres.strings(db, physical).prefix(2) == ["S2/1", "S1/1"], "arrival order before")

            let periods = LedgerPeriods(database: db)
            #expect(try await periods.compactClosed().isEmpty, "a month is compacted once summarised")
            #expect(try await periods.summariseClosed(now: Date().addingTimeInterval(122 * 86_400)).first == first)
            // Another daemon compacting: this one leaves the months to it.
            let whileHeld = try await db.client.withConnection { conn in
                _ = try await conn.query("SELECT pg_advisory_lock(hashtext('fuelwarden_ledger_compact'))", logger: TestPostgres.logger).collect()
                let out = try await periods.compactClosed()
                _ = try await conn.query("SELECT pg_advisory_unlock(hashtext('fuelwarden_ledger_compact'))", logger: TestPostgres.logger).collect()
                return out
            }
            #expect(whileHeld.isEmpty)
            let compacted = try await periods.compactClosed()
            #expect(compacted.first == first && compacted.count >= 2, "\(compacted)")
            #expect(try await periods.compactClosed().isEmpty, "once")

            #expect(try await TestPostgres.strings(db, rows) == before, "the same rows")
            #expect(try await TestPostgres.strings(db, physical) == (1...6).map { "S1/\($0)" } + (1...6).map { "S2/\($0)" }, "chain order after")
            #expect(try await LedgerPeriods(database: db).list().map(\.name).contains(first))
            // Its keys and guards: a resend is a duplicate, a change a conflict, the rows cannot be changed or truncated.
            let again = try await ledger.append(station: "S1", records: [Fixtures.reading(2), Fixtures.reading(3, volume: 1)], rejected: [])
            #expect(again.duplicates == 1 && again.conflicts == 1 && again.accepted == 0)
            await #expect(throws: (any Error).self) { try await TestPostgres.superuser(db, "UPDATE \(first) SET kind = 'x' WHERE station = 'S1'") }
            await #expect(throws: (any Error).self) { try await TestPostgres.superuser(db, "TRUNCATE \(first)") }
            let keys = try await TestPostgres.strings(db, """
                SELECT string_agg(indexdef, ' | ' ORDER BY indexdef) FROM pg_indexes WHERE tablename = '\(first)'
                """)
            #expect(keys.first?.contains("(station, source, source_seq)") == true && keys.first?.contains("(station, chain_seq, received_at)") == true
                    && keys.first?.contains("(station, kind, at)") == true, "\(keys)")
            #expect(try await ChainAudit(database: db).verify().isIntact)
            #expect(try await ledger.append(station: "S1", records: [Fixtures.reading(8)], rejected: []).accepted == 1)
        }
    }
}
