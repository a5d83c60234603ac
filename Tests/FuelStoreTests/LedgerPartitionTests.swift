@testable import FuelStore
import FuelLedger
import FuelModel
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

/// The ledger partitioned by append month (migration 0014, README "Years of records").
@Suite struct LedgerPartitionTests {
    /// Which partition holds each of a station's records, by chain seq.
    static func partitions(_ db: FuelDatabase, station: String) async throws -> [String] {
        try await TestPostgres.strings(db, "SELECT tableoid::regclass::text FROM ledger WHERE station = '\(station)' ORDER BY chain_seq")
    }

    /// Appends as a build from before migration 0014 did (this build's append needs the schema it
    /// was made with): the rows chained, received at the database's clock, the head moved.
    static func appendAsAnEarlierBuild(_ db: FuelDatabase, station: String, records: [IncomingRecord]) async throws {
        let prepared = PreparedBodies(station: station, records: records, suite: .international)
        _ = try await db.client.withConnection { conn in
            let logger = TestPostgres.logger
            let head = try #require(try await conn.query("SELECT head_seq, head_hash FROM chain_heads WHERE station = \(station)", logger: logger)
                .collect().first).decode((Int64, ByteBuffer).self)
            var appender = ChainAppender(headPosition: head.0, headHash: Array(buffer: head.1))
            for (i, r) in records.enumerated() {
                let link = appender.append(body: prepared.bodies[i])
                try await conn.query("""
                    INSERT INTO ledger (station, chain_seq, source, source_seq, kind, at, body, content_hash, prev_hash, hash)
                    VALUES (\(station), \(link.position), \(r.source.rawValue), \(r.sourceSeq), \(r.record.kind.rawValue), \(r.record.at.date),
                            \(String(decoding: prepared.bodies[i], as: UTF8.self)), \(ByteBuffer(bytes: prepared.contents[i])),
                            \(ByteBuffer(bytes: link.previous)), \(ByteBuffer(bytes: link.hash)))
                    """, logger: logger)
            }
            try await conn.query("""
                UPDATE chain_heads SET head_seq = \(appender.headPosition), head_hash = \(ByteBuffer(bytes: appender.headHash)),
                    max_push_seq = \(records.map(\.sourceSeq).max() ?? 0), last_received_at = now()
                WHERE station = \(station)
                """, logger: logger)
        }
    }

    /// The periods touch end to end from the beginning: no month is missing.
    static func expectContiguous(_ periods: [LedgerPeriod]) {
        #expect(periods.first?.starts == nil, "the first period holds everything from the beginning")
        for (a, b) in zip(periods, periods.dropFirst()) {
            #expect(b.starts == a.ends, "\(a.name) ends \(a.ends), \(b.name) starts \(String(describing: b.starts))")
        }
    }

    @Test func aFreshSchemaIsPartitionedByMonthAndStaysAppendOnly() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            #expect(try await TestPostgres.strings(db, "SELECT relkind::text FROM pg_class WHERE oid = 'ledger'::regclass") == ["p"])
            let periods = try await LedgerPeriods(database: db).list()
            Self.expectContiguous(periods)
            #expect(periods.count == 1 + LedgerPeriods.monthsAhead)
            let cut = try #require(periods.first?.ends)
            // The cut is the start of a UTC month, more than a day ahead of the migration.
            let utc = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: cut)
            #expect(utc.day == 1 && utc.hour == 0 && utc.minute == 0 && cut > Date().addingTimeInterval(86_400))

            let outcome = try await LedgerStore(database: db).append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            #expect(outcome.accepted == 3)
            #expect(try await Self.partitions(db, station: "S1") == Array(repeating: periods[0].name, count: 3))

            // Every way of changing or removing records is refused, on the parent and on each partition.
            var refused: [String] = []
            for table in ["ledger"] + periods.map(\.name) {
                for sql in ["UPDATE \(table) SET body = 'x'", "DELETE FROM \(table)", "TRUNCATE \(table)"] {
                    do {
                        try await TestPostgres.superuser(db, sql)
                    } catch {
                        refused.append(sql)
                        continue
                    }
                    // An empty month has nothing to update or delete; only a statement that changed something counts.
                    if try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger WHERE body <> 'x'") != ["3"] {
                        Issue.record("\(sql) changed the ledger")
                    }
                }
            }
            #expect(refused.contains("TRUNCATE ledger") && refused.contains("UPDATE ledger SET body = 'x'") && refused.contains("DELETE FROM ledger"))
            for p in periods { #expect(refused.contains("TRUNCATE \(p.name)"), "TRUNCATE \(p.name) was allowed") }
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger") == ["3"])
        }
    }

    /// A resend is a duplicate and a changed record under a known seq a conflict whichever month
    /// holds the original: the append looks up every partition, not one unique index.
    @Test func resendsAreFoundInWhicheverMonthHoldsThem() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            #expect(try await ledger.append(station: "S1", records: (1...5).map { Fixtures.reading($0) }, rejected: []).accepted == 5)
            // Time moves on: the first period is closed now (as a month ends) and a new one takes the appends.
            let firstName = try await TestPostgres.closeFirstLedgerPeriod(db)
            let periods = try await LedgerPeriods(database: db).list()
            Self.expectContiguous(periods)
            #expect(try await ledger.append(station: "S1", records: (6...8).map { Fixtures.reading($0) }, rejected: []).accepted == 3)
            let holders = try await Self.partitions(db, station: "S1")
            #expect(Set(holders).count == 2 && holders.prefix(5).allSatisfy { $0 == firstName } && holders.suffix(3).allSatisfy { $0 != firstName })

            let again = try await ledger.append(station: "S1", records: [2, 7].map { Fixtures.reading($0) }, rejected: [])
            #expect(again.accepted == 0 && again.duplicates == 2 && again.headSeq == 8)
            let conflict = try await ledger.append(station: "S1", records: [Fixtures.reading(4, volume: 1), Fixtures.reading(9)], rejected: [])
            #expect(conflict.accepted == 1 && conflict.conflicts == 1 && conflict.headSeq == 9)
            // Received years ago (before the months the lookup tries first): found all the same.
            try await TestPostgres.superuser(db, """
                ALTER TABLE ledger DISABLE TRIGGER ledger_append_only;
                UPDATE ledger SET received_at = timestamptz '2024-05-01 00:00:00+00' + chain_seq * interval '1 second' WHERE station = 'S1' AND chain_seq <= 5;
                ALTER TABLE ledger ENABLE TRIGGER ledger_append_only
                """)
            let old = try await ledger.append(station: "S1", records: [Fixtures.reading(3), Fixtures.reading(5, volume: 2), Fixtures.reading(8)], rejected: [])
            #expect(old.accepted == 0 && old.duplicates == 2 && old.conflicts == 1 && old.headSeq == 9)

            // The chain runs across the two months unbroken.
            let report = try await ChainAudit(database: db).verify(station: "S1")
            #expect(report.isIntact && report.recordsChecked == 9)
        }
    }

    @Test func keepingAheadFillsEveryMissingMonth() async throws {
        try await TestPostgres.withDatabase { db in
            let periods = LedgerPeriods(database: db)
            let before = try await periods.list()
            #expect(try await periods.keepAhead().isEmpty, "the migration already made the months ahead")
            // A daemon back after eight months off makes every month it missed and three ahead.
            let later = try #require(before.last?.ends).addingTimeInterval(8 * 31 * 86_400)
            let made = try await periods.keepAhead(now: later)
            let after = try await periods.list()
            Self.expectContiguous(after)
            #expect(made.count == after.count - before.count && made.count >= 8)
            #expect(try #require(after.last?.ends) > later.addingTimeInterval(Double(LedgerPeriods.monthsAhead - 1) * 31 * 86_400))
            #expect(try await periods.keepAhead(now: later).isEmpty)
        }
    }

    /// A database with records from before partitioning: the migration keeps them where they are,
    /// as the first partition, and the chains, resends and new appends go on across it.
    @Test func anExistingLedgerBecomesTheFirstPartition() async throws {
        try await TestPostgres.withDatabase(migrated: false) { db in
            let all = try Migration.bundled()
            let before = all.filter { $0.version < 14 }
            try await Migrator(database: db, migrations: before).migrate()
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            try await Self.appendAsAnEarlierBuild(db, station: "S1", records: (1...4).map { Fixtures.reading($0) })
            #expect(try await TestPostgres.strings(db, "SELECT relkind::text FROM pg_class WHERE oid = 'ledger'::regclass") == ["r"])

            let applied = try await Migrator(database: db, migrations: all).migrate()
            #expect(applied.contains(14))
            #expect(try await TestPostgres.strings(db, "SELECT relkind::text FROM pg_class WHERE oid = 'ledger'::regclass") == ["p"])
            let first = try #require(try await LedgerPeriods(database: db).list().first)
            #expect(try await Self.partitions(db, station: "S1") == Array(repeating: first.name, count: 4))
            let again = try await ledger.append(station: "S1", records: (3...6).map { Fixtures.reading($0) }, rejected: [])
            #expect(again.duplicates == 2 && again.accepted == 2 && again.headSeq == 6)
            #expect(try await ChainAudit(database: db).verify().isIntact)
            // Run again, every statement finds its work done.
            #expect(try await Migrator(database: db, migrations: all).migrate().isEmpty)
        }
    }

    /// A later migration's `CREATE INDEX CONCURRENTLY … ON ledger` builds on every partition and
    /// leaves a valid index on the parent (PostgreSQL has no CONCURRENTLY on a partitioned table).
    @Test func aConcurrentIndexOnTheLedgerIsBuiltPartitionByPartition() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            _ = try await LedgerStore(database: db).append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            let later = Migration(version: 900, name: "0900_test_ledger_index", sql: """
                -- fuelwarden: compatible
                -- fuelwarden: no-transaction
                CREATE INDEX CONCURRENTLY IF NOT EXISTS test_ledger_kind_at ON ledger (kind, at);
                """)
            let all = try Migration.bundled() + [later]
            #expect(try await Migrator(database: db, migrations: all).migrate() == [900])
            #expect(try await TestPostgres.strings(db, "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'test_ledger_kind_at'::regclass") == ["true"])
            let partitions = try await LedgerPeriods(database: db).list().count
            let children = try await TestPostgres.strings(db, "SELECT count(*)::text FROM pg_inherits WHERE inhparent = 'test_ledger_kind_at'::regclass")
            #expect(children == ["\(partitions)"])
            // A month made later gets the index too (PostgreSQL builds it when the partition is attached).
            let made = try await LedgerPeriods(database: db).keepAhead(now: Date().addingTimeInterval(200 * 86_400))
            #expect(!made.isEmpty)
            let after = try await TestPostgres.strings(db, "SELECT count(*)::text FROM pg_inherits WHERE inhparent = 'test_ledger_kind_at'::regclass")
            #expect(after == ["\(partitions + made.count)"])
        }
    }

    /// The dedupe lookup's recent months begin at the start of the previous UTC month, whatever the day.
    @Test(arguments: [("2026-12-03T05:00:00Z", "2026-11-01T00:00:00Z"), ("2026-01-31T23:59:59Z", "2025-12-01T00:00:00Z"),
                      ("2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z"), ("2024-03-31T16:30:00Z", "2024-02-01T00:00:00Z")])
    func theRecentMonthsBeginAtThePreviousMonth(now: String, start: String) throws {
        let date = try #require(Timestamp(rfc3339: now)).date
        #expect(LedgerStore.recentMonths(before: date) == Timestamp(rfc3339: start)?.date)
    }

    /// For any instant: midnight UTC on the first of the month before the instant's own.
    @Test func theRecentMonthsAreOneWholeMonthAndThePresentOne() {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<2_000 {
            let now = Date(timeIntervalSince1970: .random(in: 0...4_000_000_000))
            let start = LedgerStore.recentMonths(before: now)
            let parts = utc.dateComponents([.day, .hour, .minute, .second], from: start)
            #expect(parts.day == 1 && parts.hour == 0 && parts.minute == 0 && parts.second == 0)
            let days = now.timeIntervalSince(start) / 86_400
            #expect(days >= 28 && days < 62, "\(now) → \(start)")
            let own = utc.date(byAdding: .month, value: 1, to: start)!, next = utc.date(byAdding: .month, value: 2, to: start)!
            #expect(own <= now && now < next, "\(now) → \(start)")
        }
    }

    @Test func concurrentIndexStatementsAreTakenApart() {
        let b = PartitionedIndexBuild("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS x_key ON ledger USING btree (station, kind) WHERE kind = 'sale';")
        #expect(b?.unique == true && b?.name == "x_key" && b?.table == "ledger" && b?.rest == "USING btree (station, kind) WHERE kind = 'sale'")
        #expect(b?.parentSQL == "CREATE UNIQUE INDEX IF NOT EXISTS x_key ON ONLY ledger USING btree (station, kind) WHERE kind = 'sale'")
        #expect(b?.child(of: "ledger_2027_01").sql == "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ledger_2027_01_x_key ON ledger_2027_01 USING btree (station, kind) WHERE kind = 'sale'")
        let long = PartitionedIndexBuild("create index concurrently \(String(repeating: "i", count: 60)) on ledger (at)")
        #expect(long.map { $0.child(of: "ledger_2027_01").name.utf8.count } == 63)
        #expect(PartitionedIndexBuild("CREATE INDEX plain ON ledger (at)") == nil)
    }
}
