import FuelStore
import FuelTestSupport
import PostgresNIO
import Testing

/// Keeps the door open to distributing the database by station (Citus, or one deployment per
/// province with a national roll-up; README "Beyond one primary"). Every table of the migrated
/// schema is classified here, so a new table forces the decision:
///
/// - **by station**: grows with records; its primary key and every unique index include `station`,
///   so it can be distributed on it and colocated with the ledger;
/// - **reference**: the registry and other small tables (thousands of rows, not millions), copied
///   to every node; they never reference a table distributed by station;
/// - **province**: the province's own append-only logs (regulator actions, recorded inspections,
///   checkpoints, the notification outbox), growing with people's actions, not with records; they
///   stay on the coordinator.
@Suite struct DistributionReadinessTests {
    static let byStation: Set<String> = [
        "ledger", "chain_heads", "collected_keys", "collected_heads", "station_days", "tank_compositions", "composition_batches", "tank_hours",
        "daily_figures", "detector_state", "chain_verifications", "safety_hazards", "violation_cases", "ledger_anchors", "ledger_archived_seqs",
        "ledger_station_periods", "ledger_source_ranges",
        "alerts", "quarantine",
    ]
    static let reference: Set<String> = [
        "cities", "suppliers", "stations", "tanks", "nozzles", "price_ceilings", "api_tokens", "console_sessions", "ledger_suite",
        "audit_head", "hj212_devices", "hj212_device_keys", "schema_migrations", "ledger_periods",
    ]
    static let province: Set<String> = ["audit_log", "checkpoints", "outbox", "outbox_deliveries", "inspections"]

    /// By-station tables that do not keep the rule yet, and why. The list may only shrink: a table on
    /// it that keeps the rule fails the test until it is taken off.
    static let awaitingContract: [String: String] = [
        // id-keyed, with a unique fingerprint (the fingerprint begins with the station): the change is
        // an expand step (unique (station, fingerprint)) and a contract step (primary key (station, id)).
        "alerts": "primary key (id) and unique (fingerprint)",
        // Input refused before its station is known (no key, a foreign key) has no station.
        "quarantine": "primary key (id); station is null for unauthenticated input",
    ]

    @Test func everyTableIsClassifiedAndByStationTablesKeyOnTheStation() async throws {
        try await TestPostgres.withDatabase { db in
            let tables = try await TestPostgres.strings(db, """
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1
                """)
            #expect(!tables.isEmpty)
            let known = Self.byStation.union(Self.reference).union(Self.province)
            let unclassified = tables.filter { !known.contains($0) }
            #expect(unclassified.isEmpty, "classify these tables in DistributionReadinessTests: \(unclassified)")
            let vanished = known.subtracting(tables)
            #expect(vanished.isEmpty, "classified but not in the schema: \(vanished.sorted())")

            // Per unique index (primary keys included): its table and whether `station` is among its columns.
            let uniques = try await TestPostgres.strings(db, """
                SELECT t.relname || ' ' || i.relname || ' ' ||
                       (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'station'
                                AND a.attnum = ANY (x.indkey::int2[])))::text
                FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_namespace n ON n.oid = t.relnamespace
                WHERE n.nspname = 'public' AND x.indisunique ORDER BY 1
                """).map { $0.split(separator: " ").map(String.init) }
            var failing: [String: [String]] = [:]
            for u in uniques where Self.byStation.contains(u[0]) && u[2] != "true" { failing[u[0], default: []].append(u[1]) }
            let broken = failing.keys.filter { Self.awaitingContract[$0] == nil }.sorted()
            #expect(broken.isEmpty, "unique indexes without station: \(broken.map { "\($0): \(failing[$0]!)" })")
            let fixed = Self.awaitingContract.keys.filter { failing[$0] == nil }.sorted()
            #expect(fixed.isEmpty, "these tables keep the rule now; take them off awaitingContract: \(fixed)")
            // Every by-station table has a primary key (the rule is about it too).
            let withPrimaryKey = Set(try await TestPostgres.strings(db, """
                SELECT t.relname FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid WHERE x.indisprimary
                """))
            #expect(Self.byStation.subtracting(withPrimaryKey).isEmpty, "without a primary key: \(Self.byStation.subtracting(withPrimaryKey).sorted())")

            // Foreign keys: a reference table never points at a table distributed by station.
            let foreign = try await TestPostgres.strings(db, """
                SELECT c.conrelid::regclass::text || ' ' || c.confrelid::regclass::text FROM pg_constraint c WHERE c.contype = 'f'
                """).map { $0.split(separator: " ").map(String.init) }
            let wrongWay = foreign.filter { Self.reference.contains($0[0]) && Self.byStation.contains($0[1]) }
            #expect(wrongWay.isEmpty, "reference tables referencing by-station tables: \(wrongWay)")
            #expect(!foreign.isEmpty)
        }
    }
}
