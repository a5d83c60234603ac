import FuelModel
@testable import FuelStore
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

/// Migrations old code can live with: directives, the readiness rule, batched and concurrent
/// steps outside a transaction, and a lock timeout instead of a stall behind the append.
@Suite struct ExpandContractTests {
    static let compatibleIndex = Migration(version: 900, name: "0900_test_expand", sql: """
        -- fuelwarden: compatible
        -- fuelwarden: no-transaction
        CREATE TABLE IF NOT EXISTS ledger_kinds (station text NOT NULL, chain_seq bigint NOT NULL, kind text NOT NULL,
                                                 PRIMARY KEY (station, chain_seq));
        -- fuelwarden: repeat
        WITH batch AS (
            INSERT INTO ledger_kinds (station, chain_seq, kind)
            SELECT l.station, l.chain_seq, l.kind FROM ledger l
            WHERE NOT EXISTS (SELECT 1 FROM ledger_kinds k WHERE k.station = l.station AND k.chain_seq = l.chain_seq)
            ORDER BY l.station, l.chain_seq LIMIT 2
            RETURNING 1)
        SELECT count(*) FROM batch;
        CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_kinds_kind ON ledger_kinds (kind);
        """)
    static let contract = Migration(version: 901, name: "0901_test_contract", sql: "ALTER TABLE ledger_kinds DROP COLUMN kind;\n")

    @Test func directivesLeaveTheChecksumAlone() throws {
        let plain = Migration(version: 1, name: "x", sql: "-- a comment\nCREATE TABLE t (a int);\n")
        let declared = Migration(version: 1, name: "x", sql: "-- fuelwarden: compatible\n-- a comment\nCREATE TABLE t (a int);\n")
        #expect(plain.checksum == declared.checksum && !plain.isCompatible && declared.isCompatible)
        #expect(Self.compatibleIndex.isCompatible && !Self.compatibleIndex.isTransactional)
        #expect(SQLScript.parts(Self.compatibleIndex.sql).map(\.repeats) == [false, true, false])
        // What already shipped keeps its checksum: applying this build to a database migrated before
        // the directives existed finds no edited migration (the migrate test below applies them all).
        #expect(try Migration.bundled().filter(\.isCompatible).map(\.version) == [3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21])
    }

    @Test func concurrentIndexBuildsAreRecognised() {
        #expect(Migrator.concurrentIndex("CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_x ON ledger (kind)") == "ledger_x")
        #expect(Migrator.concurrentIndex("create unique index concurrently \"Ux\" on t (a)") == "ux")
        #expect(Migrator.concurrentIndex("CREATE INDEX ledger_x ON ledger (kind)") == nil)
        #expect(Migrator.concurrentIndex("CREATE INDEX CONCURRENTLY ON ledger (kind)") == nil)  // unnamed: nothing to check
        #expect(Migrator.concurrentIndex("CREATE TABLE concurrently (a int)") == nil)
    }

    /// A concurrent build that failed leaves an invalid index; `IF NOT EXISTS` would keep it, so the
    /// migrator drops it and builds it again.
    @Test func anInvalidIndexLeftByAFailedBuildIsRebuilt() async throws {
        try await TestPostgres.withDatabase { db in
            let shipped = try Migration.bundled()
            try await TestPostgres.superuser(db, """
                CREATE INDEX alerts_test_left ON alerts (subject);
                UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'alerts_test_left'::regclass
                """)
            let m = Migration(version: 903, name: "0903_test_index", sql: """
                -- fuelwarden: compatible
                -- fuelwarden: no-transaction
                CREATE INDEX CONCURRENTLY IF NOT EXISTS alerts_test_left ON alerts (subject);
                """)
            #expect(try await Migrator(database: db, migrations: shipped + [m], asBuild: nil).migrate() == [903])
            let valid = try await db.client.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'alerts_test_left'::regclass")
                .collect().first?.decode(Bool.self)
            #expect(valid == true)
        }
    }

    @Test func readinessFollowsExpandAndContract() {
        // A build at 11 on a schema at 11, at 12 (compatible), at 13 (a contract step), and behind at 10.
        let at11 = Migrator.Status(applied: Array(1...11), latest: 11)
        #expect(at11.isCurrent && at11.problem == nil)
        let expanded = Migrator.Status(applied: Array(1...12), compatible: [12], latest: 11)
        #expect(expanded.isCurrent && expanded.schemaVersion == 12)
        let contracted = Migrator.Status(applied: Array(1...13), compatible: [12], latest: 11)
        #expect(!contracted.isCurrent && contracted.incompatible == [13])
        #expect(contracted.problem?.contains("has migration 13 that this build (11) cannot run on") == true)
        let behind = Migrator.Status(applied: Array(1...10), latest: 11, missing: [11])
        #expect(!behind.isCurrent && behind.problem?.contains("run fuelwarden migrate") == true)
    }

    @Test func olderBuildsStayReadyOnExpandStepsOnly() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            _ = try await LedgerStore(database: db).append(station: "S1", records: (1...5).map { Fixtures.reading($0) }, rejected: [])
            let shipped = try Migration.bundled()
            let current = try Migrator(database: db, migrations: shipped, asBuild: nil)
            let next = try Migrator(database: db, migrations: shipped + [Self.compatibleIndex], asBuild: nil)
            // The plan says what N+1 would do before it is applied.
            let plan = try await next.plan()
            #expect(plan.pending.map(\.version) == [900])
            #expect(MigrationPlanText.render(plan).contains("stay ready: yes"))

            #expect(try await next.migrate() == [900])
            // Backfilled in batches of two, every ledger row once; the index built concurrently is valid.
            let rows = try await db.client.query("SELECT count(*)::int8 FROM ledger_kinds").collect().first?.decode(Int64.self)
            let ledger = try await db.client.query("SELECT count(*)::int8 FROM ledger").collect().first?.decode(Int64.self)
            #expect(rows == ledger && (rows ?? 0) >= 5)
            let valid = try await db.client.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ledger_kinds_kind'::regclass")
                .collect().first?.decode(Bool.self)
            #expect(valid == true)
            // The build before keeps serving on it; after a contract step it does not, and says why.
            #expect(try await current.status().isCurrent)
            let contracting = try Migrator(database: db, migrations: shipped + [Self.compatibleIndex, Self.contract], asBuild: nil)
            #expect(MigrationPlanText.render(try await contracting.plan()).contains("stay ready: NO"))
            _ = try await contracting.migrate()
            let old = try await current.status()
            #expect(!old.isCurrent && old.incompatible == [901], "\(old)")
            #expect(try await next.status().incompatible == [901])
            #expect(try await contracting.status().isCurrent)
        }
    }

    @Test func aMigrationBehindALockFailsClearlyInsteadOfStalling() async throws {
        try await TestPostgres.withDatabase { db in
            let shipped = try Migration.bundled()
            let blocked = Migration(version: 902, name: "0902_test_blocked", sql: "ALTER TABLE alerts ADD COLUMN note_test text;\n")
            var migrator = try Migrator(database: db, migrations: shipped + [blocked], asBuild: nil)
            migrator.lockTimeout = .milliseconds(200)
            migrator.attempts = 2
            let (held, release) = AsyncStream.makeStream(of: Void.self)
            let (go, proceed) = AsyncStream.makeStream(of: Void.self)
            let holder = Task {
                try await db.client.withConnection { conn in
                    _ = try await conn.query("BEGIN", logger: db.logger)
                    _ = try await conn.query("SELECT count(*) FROM alerts", logger: db.logger)  // holds ACCESS SHARE until COMMIT
                    release.yield()
                    for await _ in go { break }
                    _ = try await conn.query("COMMIT", logger: db.logger)
                }
            }
            var it = held.makeAsyncIterator()
            _ = await it.next()
            let began = ContinuousClock.now
            await #expect { try await migrator.migrate() } throws: { "\($0)".contains("0902_test_blocked: waited longer than the lock timeout") }
            #expect(ContinuousClock.now - began < .seconds(10))
            proceed.yield()
            try await holder.value
            #expect(try await migrator.migrate() == [902])  // once the lock is free it applies
        }
    }

    /// Migration 0021 keeps detector states as text: a state the build before stored as jsonb reads
    /// back after it, and the build before, still running, writes its `::jsonb` beside this build.
    @Test func detectorStatesStoredAsJsonbReadBackAsTextAndTheBuildBeforeStillWrites() async throws {
        struct State: Codable, Equatable { var readings: [Double]; var tanks: [String: Int] }
        try await TestPostgres.withDatabase(migrated: false) { db in
            let shipped = try Migration.bundled()
            _ = try await Migrator(database: db, migrations: shipped.filter { $0.version < 21 }, asBuild: nil).migrate()
            try await Fixtures.importRegistry(db)
            let before = State(readings: [1.5e-7, 21_034.25, -3], tanks: ["T1": 2, "T2": 0])
            let json = String(decoding: try JSONEncoder().encode(before), as: UTF8.self)
            // As the build before wrote it.
            let write: (String, Int64) -> PostgresQuery = { state, cursor in """
                INSERT INTO detector_state (station, cursor, state, updated_at) VALUES ('S1', \(cursor), \(state)::jsonb, now())
                ON CONFLICT (station) DO UPDATE SET cursor = EXCLUDED.cursor, state = EXCLUDED.state, updated_at = now()
                """ }
            try await db.client.query(write(json, 7), logger: db.logger)
            #expect(try await Migrator(database: db, migrations: shipped, asBuild: nil).migrate() == [21])
            let type = try await db.client.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'detector_state' AND column_name = 'state'")
                .collect().first?.decode(String.self)
            #expect(type == "text")
            let store = DetectionStore(database: db)
            guard case .state(let read) = try await store.loadState(State.self, station: "S1") else { Issue.record("no state"); return }
            #expect(read == before)
            // The build before, still running, writes again; this build reads it, and its own write reads back.
            let after = State(readings: [2], tanks: [:])
            try await db.client.query(write(String(decoding: try JSONEncoder().encode(after), as: UTF8.self), 8), logger: db.logger)
            guard case .state(let again) = try await store.loadState(State.self, station: "S1") else { Issue.record("no state"); return }
            #expect(again == after)
            _ = try await store.commit(before, station: "S1", cursor: 9, previousCursor: 8, events: [])
            guard case .state(let mine) = try await store.loadState(State.self, station: "S1") else { Issue.record("no state"); return }
            #expect(mine == before)
        }
    }
}
