@testable import FuelStore
import FuelTestSupport
import Foundation
import FuelModel
import PostgresNIO
import Testing

/// Reads of a stretch of a chain read only the months that hold it (migration 0016,
/// `ledger_station_periods`): the append stamps rows with a `received_at` that never goes back for
/// a station, records where each chain enters a period, and the reads bound `received_at` with it.
@Suite struct LedgerStationPeriodsTests {
    /// Moves the station's last `received_at` to `instant`, as a clock that jumped ahead would
    /// leave it: the next append is stamped there, not at the (earlier) clock.
    static func jump(_ db: FuelDatabase, station: String, to instant: Date) async throws {
        _ = try await db.client.withConnection { conn in
            try await conn.query("UPDATE chain_heads SET last_received_at = \(instant) WHERE station = \(station)", logger: TestPostgres.logger)
        }
    }

    /// The start of the period `months` after the current one.
    static func periodStart(_ db: FuelDatabase, monthsAhead months: Int) async throws -> Date {
        let periods = try await LedgerPeriods(database: db).list()
        let current = try #require(periods.firstIndex { $0.ends > Date() })
        return try #require(periods[current + months].starts)
    }

    /// What PostgreSQL does for the query `make` builds (with the bounds it looks up on the connection first).
    static func explain(_ db: FuelDatabase, _ make: @escaping @Sendable (PostgresConnection) async throws -> PostgresQuery) async throws -> QueryPlanSummary {
        try await db.client.withConnection { conn in try await QueryPlanSummary.explain(try await make(conn), on: conn, logger: TestPostgres.logger) }
    }

    /// Rows whose `received_at` falls outside the bounds the lookups give for their chain position:
    /// must be none, or a read would miss them.
    static func rowsOutsideTheirBounds(_ db: FuelDatabase) async throws -> [String] {
        try await TestPostgres.strings(db, """
            SELECT station || ':' || chain_seq FROM ledger
            WHERE received_at < fuelwarden_ledger_floor(station, chain_seq) OR received_at >= fuelwarden_ledger_ceiling(station, chain_seq)
            """)
    }

    /// A clock that jumps back does not take a chain back to an earlier month: the append stamps
    /// the station's next rows no earlier than its last.
    @Test func aStationsRowsNeverGoBackInReceivedTime() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            _ = try await ledger.append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            let ahead = try await Self.periodStart(db, monthsAhead: 2).addingTimeInterval(3600)
            try await Self.jump(db, station: "S1", to: ahead)
            _ = try await ledger.append(station: "S1", records: (4...5).map { Fixtures.reading($0) }, rejected: [])
            _ = try await ledger.append(station: "S1", records: [Fixtures.reading(6)], rejected: [])
            // S2 is not held back by S1's jump when alone in a batch.
            _ = try await ledger.append(station: "S2", records: [Fixtures.reading(1)], rejected: [])

            let received = try await TestPostgres.strings(db, """
                SELECT (received_at >= '\(Timestamp(ahead).rfc3339)')::text FROM ledger WHERE station = 'S1' ORDER BY chain_seq
                """)
            #expect(received == ["false", "false", "false", "true", "true", "true"])
            let s2 = try await TestPostgres.strings(db, "SELECT (received_at < '\(Timestamp(ahead).rfc3339)')::text FROM ledger WHERE station = 'S2'")
            #expect(s2 == ["true"])
            // A new database's first period holds everything before partitioning: entering it is not recorded.
            let entries = try await TestPostgres.strings(db, "SELECT first_seq::text FROM ledger_station_periods WHERE station = 'S1' ORDER BY starts_at")
            #expect(entries == ["4"], "S1 entered a later period at 4")
            #expect(try await Self.rowsOutsideTheirBounds(db).isEmpty)
        }
    }

    /// The detector's read past its frontier, an export chunk and a point lookup read the months
    /// that hold the positions asked for and no other; what they answer is unchanged.
    @Test func readsOfAStretchReadOnlyTheMonthsThatHoldIt() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            _ = try await ledger.append(station: "S1", records: (1...4).map { Fixtures.reading($0) }, rejected: [])
            try await Self.jump(db, station: "S1", to: try await Self.periodStart(db, monthsAhead: 1).addingTimeInterval(60))
            _ = try await ledger.append(station: "S1", records: (5...8).map { Fixtures.reading($0) }, rejected: [])
            try await Self.jump(db, station: "S1", to: try await Self.periodStart(db, monthsAhead: 2).addingTimeInterval(60))
            _ = try await ledger.append(station: "S1", records: (9...12).map { Fixtures.reading($0) }, rejected: [])
            // The three months holding S1's records, oldest first (the later, empty months may be read: they cost nothing).
            var months: [String] = []
            for name in try await LedgerPartitionTests.partitions(db, station: "S1") where !months.contains(name) { months.append(name) }
            try #require(months.count == 3)
            func read(_ plan: QueryPlanSummary) -> [String] { months.filter(plan.partitions.contains) }

            let logger = TestPostgres.logger
            let newest = try await Self.explain(db) { conn in
                LedgerStore.entriesQuery(station: "S1", after: 9, limit: 100, within: try await ReceivedSpan.after(station: "S1", seq: 9, on: conn, logger: logger))
            }
            #expect(read(newest) == [months[2]] && newest.partitionsRead == 1, "past the frontier, up to the last record: \(newest)")
            #expect(try await ledger.entries(station: "S1", after: 9, limit: 100).map(\.chainSeq) == [10, 11, 12])
            #expect(try await ledger.entries(station: "S1", after: 3, limit: 100).map(\.chainSeq) == Array(4...12))

            func chunk(_ seqs: ClosedRange<Int64>) async throws -> QueryPlanSummary {
                try await Self.explain(db) { conn in
                    HistoryStore.chunkQuery(station: "S1", seqs: seqs, from: nil, to: nil, layout: .ndjson,
                                            within: try await ReceivedSpan.of(station: "S1", seqs: seqs, on: conn, logger: logger))
                }
            }
            let middle = try await chunk(5...8)
            #expect(read(middle) == [months[1]], "one month's chunk: \(middle)")
            let across = try await chunk(4...9)
            #expect(read(across) == months, "a chunk across three months: \(across)")
            // A window of data times reads the station's newest month and the closed spans whose data times overlap it.
            func window(_ first: Int64, _ last: Int64) async throws -> (QueryPlanSummary, Int64?, Int64?) {
                let from = Fixtures.t0.adding(seconds: Double(first) * 60).date, to = Fixtures.t0.adding(seconds: Double(last) * 60 + 1).date
                let make: @Sendable (PostgresConnection) async throws -> PostgresQuery = { conn in
                    HistoryStore.windowQuery(station: "S1", from: from, to: to, through: 100,
                                             within: try await ReceivedSpan.window(station: "S1", from: from, to: to, on: conn, logger: logger))
                }
                let found = try await db.client.withConnection { conn in
                    try await conn.query(try await make(conn), logger: logger).collect().first?.decode((Int64?, Int64?).self)
                }
                return (try await Self.explain(db, make), found?.0, found?.1)
            }
            let (second, lo2, hi2) = try await window(5, 8)
            #expect(read(second) == [months[1], months[2]] && lo2 == 5 && hi2 == 8, "the second month and the newest: \(second)")
            let (first, lo1, hi1) = try await window(1, 2)
            #expect(read(first) == [months[0], months[2]] && lo1 == 1 && hi1 == 2, "the first month and the newest: \(first)")
            let (none, lo0, _) = try await window(-500, -400)
            #expect(read(none) == [months[2]] && lo0 == nil, "no span holds those times: the newest month only: \(none)")
            // A late record (data time in the first span) lands in the newest month, and is found there.
            let late = IncomingRecord(line: 1, raw: "late", source: .push, sourceSeq: 13, record: .tankReading(
                TankReading(tank: "T1", at: Fixtures.t0.adding(seconds: 90), volumeL: 18_000, tcVolumeL: 18_000)))
            _ = try await ledger.append(station: "S1", records: [late], rejected: [])
            let (_, lo3, hi3) = try await window(1, 2)
            #expect(lo3 == 1 && hi3 == 13)

            let exported = try await HistoryStore(database: db).stream(station: "S1", from: nil, to: nil, through: 12, layout: .ndjson, chunkRecords: 3) { _ in }
            #expect(exported == 12, "an export in chunks across the months has every record")
            #expect(try await Self.rowsOutsideTheirBounds(db).isEmpty)
        }
    }

    /// Records an earlier build wrote into a month before this one entered it count: the month's
    /// first position is the lowest there, so no read bounded by it misses them.
    @Test func aMonthEnteredByAnEarlierBuildStartsAtItsLowestPosition() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            _ = try await ledger.append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            let next = try await Self.periodStart(db, monthsAhead: 1)
            // An earlier build appends seq 4 next month (received_at set by the database, no period recorded).
            try await db.client.withConnection { conn in
                try await conn.query("""
                    INSERT INTO ledger (station, chain_seq, source, source_seq, kind, at, body, content_hash, prev_hash, hash, received_at)
                    SELECT station, 4, 'push', 4, kind, at, body, content_hash, hash, hash, \(next.addingTimeInterval(10))
                    FROM ledger WHERE station = 'S1' AND chain_seq = 3
                    """, logger: TestPostgres.logger)
                try await conn.query("UPDATE chain_heads SET head_seq = 4, max_push_seq = 4 WHERE station = 'S1'", logger: TestPostgres.logger)
            }
            try await Self.jump(db, station: "S1", to: next.addingTimeInterval(20))
            _ = try await ledger.append(station: "S1", records: (5...6).map { Fixtures.reading($0) }, rejected: [])
            let entries = try await TestPostgres.strings(db, "SELECT first_seq::text FROM ledger_station_periods WHERE station = 'S1' ORDER BY starts_at")
            #expect(entries == ["4"], "the month is entered at 4, where the earlier build's record is, not at 5")
            #expect(try await Self.rowsOutsideTheirBounds(db).isEmpty)
            #expect(try await ledger.entries(station: "S1", after: 3, limit: 10).map(\.chainSeq) == [4, 5, 6])
        }
    }
}
