import FuelLedger
import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite struct MigrationTests {
    @Test func migratesOnceEvenWhenTwoStartTogether() async throws {
        try await TestPostgres.withDatabase(migrated: false) { db in
            let a = try Migrator(database: db), b = try Migrator(database: db)
            async let first = a.migrate()
            async let second = b.migrate()
            let applied = try await [first, second]
            let latest = try Migration.bundled().map(\.version)
            #expect(applied.flatMap { $0 }.sorted() == latest)  // each version applied exactly once
            #expect(try await a.migrate().isEmpty)
            #expect(try await a.status().isCurrent)
        }
    }

    @Test func statusOfAnEmptyDatabaseIsBehind() async throws {
        try await TestPostgres.withDatabase(migrated: false) { db in
            let s = try await Migrator(database: db).status()
            #expect(!s.isCurrent && s.applied.isEmpty)
        }
    }
}

@Suite struct LedgerStoreTests {
    @Test func appendsDuplicatesAndConflicts() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            let first = try await ledger.append(station: "S1", records: (1...5).map { Fixtures.reading($0) }, rejected: [])
            #expect(first.accepted == 5 && first.headSeq == 5 && first.duplicates == 0)

            // The same batch again is all duplicates; a changed record under a known seq is a conflict.
            let again = try await ledger.append(station: "S1", records: (1...5).map { Fixtures.reading($0) }, rejected: [])
            #expect(again.accepted == 0 && again.duplicates == 5 && again.headSeq == 5)
            let conflict = try await ledger.append(
                station: "S1", records: [Fixtures.reading(3, volume: 1), Fixtures.reading(6)],
                rejected: [RejectedInput(line: 9, raw: "{bad", seq: nil, reason: "line: invalid JSON")])
            #expect(conflict.accepted == 1 && conflict.conflicts == 1 && conflict.headSeq == 6)
            #expect(conflict.rejected.map(\.line) == [3, 9])
            #expect(conflict.rejected.first?.reason.contains("seq conflict") == true)

            let quarantined = try await db.client.query("SELECT line, raw, reason FROM quarantine WHERE station = 'S1' ORDER BY line")
                .collect().map { try $0.decode((Int, String, String).self) }
            #expect(quarantined.map(\.0) == [3, 9] && quarantined[1].1 == "{bad")
            let alerts = try await AlertStore(database: db).list(AlertFilter())
            #expect(alerts.map(\.rule) == [.seqConflict] && alerts.first?.station == "S1")

            // Another station's chain is independent.
            let other = try await ledger.append(station: "S2", records: [Fixtures.reading(1)], rejected: [])
            #expect(other.headSeq == 1)
            await #expect(throws: StoreError.self) { try await ledger.append(station: "NOPE", records: [Fixtures.reading(1)], rejected: []) }
        }
    }

    @Test func ledgerRefusesUpdateAndDelete() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            _ = try await LedgerStore(database: db).append(station: "S1", records: [Fixtures.reading(1)], rejected: [])
            for sql in ["UPDATE ledger SET body = 'x'", "DELETE FROM ledger", "TRUNCATE ledger"] {
                do {
                    try await TestPostgres.superuser(db, sql)
                    Issue.record("\(sql) was allowed")
                } catch {
                    #expect(describeDatabaseError(error).contains("append-only"), "\(describeDatabaseError(error))")
                }
            }
        }
    }

    @Test func verifyNamesTheTamperedStationAndSeq() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            _ = try await ledger.append(station: "S1", records: (1...10).map { Fixtures.reading($0) }, rejected: [])
            _ = try await ledger.append(station: "S2", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            let audit = ChainAudit(database: db)
            let clean = try await audit.verify()
            #expect(clean.isIntact && clean.recordsChecked == 13 && clean.stationsChecked == 2 && clean.auditEntriesChecked == 1)

            try await TestPostgres.superuser(db, """
                ALTER TABLE ledger DISABLE TRIGGER ledger_append_only;
                UPDATE ledger SET body = replace(body, '"volume_l":18000', '"volume_l":17000') WHERE station = 'S1' AND chain_seq = 7;
                ALTER TABLE ledger ENABLE TRIGGER ledger_append_only
                """)
            let report = try await audit.verify()
            #expect(report.firstBreak?.chain == "S1")
            #expect(report.firstBreak?.breakAt.position == 7)
        }
    }
}

@Suite struct RegistryAndTokenTests {
    @Test func registryRoundTrips() async throws {
        try await TestPostgres.withDatabase { db in
            let store = RegistryStore(database: db)
            let summary = try await store.importRegistry(Fixtures.registry, sourceDigest: "d", actor: "test")
            #expect(summary.stations == 2 && summary.tanks == 2)
            #expect(try await store.load() == Fixtures.registry)
            // Re-importing is an update, not a duplicate.
            _ = try await store.importRegistry(Fixtures.registry, sourceDigest: "d", actor: "test")
            #expect(try await store.load().stations.count == 2)
        }
    }

    @Test func tokensAreStoredHashedAndCanBeRevoked() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let tokens = TokenStore(database: db)
            let key = try await tokens.issue(role: .station, station: "S1", name: "collector")
            let admin = try await tokens.issue(role: .admin, station: nil, name: "ops")
            #expect(key.hasPrefix("fw_") && key.count == 67)
            let p = try #require(try await tokens.authenticate(secret: key))
            #expect(p.role == .station && p.station == "S1")
            #expect(try await tokens.authenticate(secret: admin)?.role == .admin)
            #expect(try await tokens.authenticate(secret: key + "x") == nil)
            // No row holds either secret, as text in any column or as bytes of its hash. (Not `LIKE '%fw_%'`:
            // `_` matches any byte, and 1 random hash in ~2,000 holds "fw" and one more.)
            for secret in [key, admin] {
                let stored = try await db.client.query("""
                    SELECT count(*) FROM api_tokens t
                    WHERE strpos(t::text, \(secret)) > 0 OR position(convert_to(\(secret), 'UTF8') IN t.token_hash) > 0
                    """).collect().first?.decode(Int.self)
                #expect(stored == 0)
            }
            #expect(try await db.client.query("SELECT count(*) FROM api_tokens").collect().first?.decode(Int.self) == 2)
            try await tokens.revoke(id: p.tokenID)
            #expect(try await tokens.authenticate(secret: key) == nil)
            await #expect(throws: StoreError.self) { try await tokens.issue(role: .station, station: "NOPE", name: "x") }
        }
    }
}

@Suite struct AlertStoreTests {
    @Test func dedupLifecycleAndAuditChain() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let signal = AlertSignal(rule: .undeclaredDelivery, station: "S1", subject: "T1", severity: .critical,
                                     openedAt: Fixtures.t0, evidence: ["inflow_l": .number(800)], seqFrom: 1, seqTo: 4)
            let store = DetectionStore(database: db)
            var detector = DetectorCursor(station: "S1")
            detector.skip(to: 4)
            let a = try await store.commit(detector, station: detector.station, cursor: detector.cursor, previousCursor: 0, events: [.raise(signal)])
            detector.skip(to: 5)
            let b = try await store.commit(detector, station: detector.station, cursor: detector.cursor, previousCursor: 4, events: [.raise(signal)])
            #expect(a.raisedNew.count == 1 && b.raisedNew.isEmpty && b.updated == 1)
            // A stale cursor means another replica committed first.
            await #expect(throws: StoreError.self) { try await store.commit(detector, station: detector.station, cursor: detector.cursor, previousCursor: 4, events: []) }

            let alerts = AlertStore(database: db)
            var list = try await alerts.list(AlertFilter())
            #expect(list.count == 1 && list[0].occurrences == 2 && list[0].status == .open && list[0].city == "210100")
            let id = list[0].id
            let acked = try await alerts.transition(id: id, .acknowledge, note: "inspector on the way", actor: "inspector:li")
            #expect(acked.status == .acknowledged && acked.ackNote == "inspector on the way")
            await #expect(throws: StoreError.self) { try await alerts.transition(id: id, .acknowledge, note: "again", actor: "x") }
            let resolved = try await alerts.transition(id: id, .resolve, note: "ticket found", actor: "inspector:li")
            #expect(resolved.status == .resolved && resolved.resolvedBy == "inspector:li")
            await #expect(throws: StoreError.self) { try await alerts.transition(id: id, .resolve, note: "again", actor: "x") }

            // Raising again after resolution opens a new alert.
            _ = try await store.commit(detector, station: detector.station, cursor: detector.cursor, previousCursor: 5, events: [.raise(signal)])
            var f = AlertFilter()
            f.status = .all
            list = try await alerts.list(f)
            #expect(list.map(\.status.rawValue).sorted() == ["open", "resolved"])
            f.status = .open
            f.city = "999999"
            #expect(try await alerts.list(f).isEmpty)

            let report = try await ChainAudit(database: db).verify()
            #expect(report.isIntact && report.auditEntriesChecked == 3)  // import, ack, resolve
        }
    }
}

@Suite struct DetectorStateTests {
    /// The store keeps any Codable state; one that no longer decodes is reported with its reason,
    /// never taken for "no state" in silence.
    @Test func aStateThatNoLongerDecodesIsReportedNotDropped() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let store = DetectionStore(database: db)
            guard case .none = try await store.loadState(DetectorCursor.self, station: "S1") else {
                Issue.record("a station without state has none"); return
            }
            var state = DetectorCursor(station: "S1")
            state.skip(to: 3)
            _ = try await store.commit(state, station: "S1", cursor: 3, previousCursor: 0, events: [])
            guard case .state(let back) = try await store.loadState(DetectorCursor.self, station: "S1") else {
                Issue.record("the committed state does not load"); return
            }
            #expect(back.cursor == 3 && back.station == "S1")
            struct NewerFormat: Decodable, Sendable { var tanks: [String] }
            guard case .undecodable(let reason) = try await store.loadState(NewerFormat.self, station: "S1") else {
                Issue.record("a state of another shape decoded"); return
            }
            #expect(reason.contains("tanks"))
        }
    }
}

@Suite struct AlertRoutingTests {
    /// A critical alert reaches the city's responsible person and liaison once: when it opens as
    /// critical, or when a warning becomes critical — not again on every raise, and not for warnings.
    @Test func criticalAlertsAreRoutedOnceToTheCitysContacts() async throws {
        try await TestPostgres.withDatabase { db in
            var registry = Fixtures.registry
            registry.cities[0].contacts = [Contact(role: .leader, name: "张三"), Contact(role: .responsible, name: "李四", phone: "024-1"),
                                           Contact(role: .liaison, name: "王五", phone: "024-2")]
            _ = try await RegistryStore(database: db).importRegistry(registry, sourceDigest: "t", actor: "test")
            let store = DetectionStore(database: db)
            var detector = DetectorCursor(station: "S1")
            var cursor: Int64 = 0
            func raise(_ severity: Severity, subject: String = "T1") async throws {
                detector.skip(to: cursor + 1)
                let signal = AlertSignal(rule: .deliveryMismatch, station: "S1", subject: subject, severity: severity,
                                         openedAt: Fixtures.t0, evidence: ["difference_l": .number(300)], seqFrom: 1, seqTo: cursor + 1)
                _ = try await store.commit(detector, station: detector.station, cursor: detector.cursor, previousCursor: cursor, events: [.raise(signal)])
                cursor += 1
            }
            func routed() async throws -> [String] {
                try await OutboxStore(database: db).list(topic: "alert.critical").map(\.recipient).sorted()
            }
            try await raise(.warning)
            #expect(try await routed().isEmpty)
            try await raise(.critical)  // the warning escalates
            #expect(try await routed() == ["city:210100:liaison", "city:210100:responsible"])
            try await raise(.critical)  // raised again: no new messages
            try await raise(.warning)   // stays critical
            #expect(try await routed().count == 2)
            try await raise(.critical, subject: "T2")  // a new critical alert
            #expect(try await routed().count == 4)
            let payload = try #require(try await OutboxStore(database: db).list(topic: "alert.critical").first?.payload)
            #expect(payload.contains("\"phone\": \"024-")  || payload.contains("\"phone\":\"024-"))
        }
    }
}
