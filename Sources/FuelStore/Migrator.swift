import Crypto
import Foundation
import FuelLedger
import Logging
import PostgresNIO

/// A schema migration shipped with the package (`Sources/FuelStore/Migrations/NNNN_name.sql`).
///
/// Lines `-- fuelwarden: <directive>` declare how it may be applied (expand / contract):
/// - `compatible`: the previous build runs on the schema this leaves, unchanged (an expand step:
///   new tables, new nullable columns, new indexes, backfills). Without it the migration is a
///   contract step, and replicas of older builds stop being ready once it is applied.
/// - `no-transaction`: its statements run one at a time outside a transaction (`CREATE INDEX
///   CONCURRENTLY`, backfills in batches), so each must be safe to run again (`IF NOT EXISTS`);
///   it counts as applied once every statement has succeeded.
/// - `repeat` (before a statement of a `no-transaction` migration): a batch of a backfill, run
///   again until it answers 0 — it must return one row, the number of rows it handled.
///
/// The checksum leaves directive lines out, so declaring an old migration compatible does not
/// change what it was applied as.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    var directives: Set<String> {
        Set(sql.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("--") else { return nil }
            let body = t.dropFirst(2).trimmingCharacters(in: .whitespaces)
            guard body.hasPrefix("fuelwarden:") else { return nil }
            return body.dropFirst("fuelwarden:".count).trimmingCharacters(in: .whitespaces)
        })
    }

    /// Whether the build before it runs on the schema it leaves.
    public var isCompatible: Bool { directives.contains("compatible") }
    /// Whether its statements run outside a transaction.
    public var isTransactional: Bool { !directives.contains("no-transaction") }

    public var checksum: String {
        let kept = sql.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            return !(t.hasPrefix("--") && t.dropFirst(2).trimmingCharacters(in: .whitespaces).hasPrefix("fuelwarden:"))
        }
        return Array(SHA256.hash(data: Array(kept.joined(separator: "\n").utf8))).hexString
    }

    /// The bundled migrations in version order, and those of `extraDirectory` (a test-only
    /// migration for the upgrade scenario: `FUELWARDEN_EXTRA_MIGRATIONS`).
    public static func bundled(extraDirectory: String? = ProcessInfo.processInfo.environment["FUELWARDEN_EXTRA_MIGRATIONS"]) throws -> [Migration] {
        guard let dir = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw StoreError.migration("the Migrations resource is missing from the FuelStore bundle")
        }
        var out = try read(dir)
        if let extra = extraDirectory, !extra.isEmpty { out += try read(URL(fileURLWithPath: extra)) }
        out.sort { $0.version < $1.version }
        guard Set(out.map(\.version)).count == out.count else { throw StoreError.migration("two migrations share a version") }
        return out
    }

    static func read(_ dir: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        var out: [Migration] = []
        for f in files {
            guard let v = Int(f.prefix { $0.isNumber }) else { throw StoreError.migration("\(f): name must start with a version number") }
            let sql = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            out.append(Migration(version: v, name: String(f.dropLast(4)), sql: sql))
        }
        return out
    }
}

/// Applies migrations once each, in order, under a PostgreSQL advisory lock so that replicas
/// starting together do not race: the second waits, then finds nothing left to do.
///
/// A migration waits at most `lockTimeout` for a lock (the append's, say) and is tried again
/// `attempts` times before it fails with a clear error, instead of stalling every push queued
/// behind it; a statement runs at most `statementTimeout` (zero: no limit).
public struct Migrator: Sendable {
    /// Arbitrary, fixed: the advisory lock key of Fuelwarden's migrations.
    static let lockKey: Int64 = 0x4675_656C_7761_7264  // "Fuelward"

    public let database: FuelDatabase
    /// The migrations this build knows, in version order.
    public let migrations: [Migration]
    /// This build's schema version: the newest migration it knows.
    public var buildVersion: Int { migrations.map(\.version).max() ?? 0 }
    public var lockTimeout: Duration = .seconds(5)
    public var statementTimeout: Duration = .zero
    public var attempts = 3

    /// - Parameter asBuild: behave as the build whose newest migration is this version (the
    ///   upgrade scenario's older replicas; `FUELWARDEN_AS_BUILD_VERSION`).
    public init(database: FuelDatabase, migrations: [Migration]? = nil,
                asBuild: Int? = ProcessInfo.processInfo.environment["FUELWARDEN_AS_BUILD_VERSION"].flatMap { Int($0) }) throws {
        self.database = database
        let all = try migrations ?? Migration.bundled()
        self.migrations = asBuild.map { v in all.filter { $0.version <= v } } ?? all
    }

    /// What the database's schema is, against this build.
    public struct Status: Sendable, Hashable {
        /// Applied versions, in order, and which of them the build before each runs on.
        public var applied: [Int]
        public var compatible: Set<Int> = []
        /// This build's version, and the versions it ships that the database does not have.
        public var latest: Int
        public var missing: [Int] = []

        public init(applied: [Int], compatible: Set<Int> = [], latest: Int, missing: [Int] = []) {
            self.applied = applied
            self.compatible = compatible
            self.latest = latest
            self.missing = missing
        }

        /// The schema's version: the newest applied migration.
        public var schemaVersion: Int { applied.last ?? 0 }
        /// Applied migrations newer than this build that it cannot run on (not marked compatible).
        public var incompatible: [Int] { applied.filter { $0 > latest && !compatible.contains($0) } }

        /// Whether this build may serve on this schema: everything it ships is applied, and every
        /// newer migration is one the build before it runs on (expand/contract).
        public var isCurrent: Bool { missing.isEmpty && incompatible.isEmpty }

        /// Why it may not, for `/readyz` and the start-up error.
        public var problem: String? {
            if !missing.isEmpty {
                return "schema at \(schemaVersion) lacks \(missing.map(String.init).joined(separator: ", ")) of this build (\(latest)): run fuelwarden migrate"
            }
            if !incompatible.isEmpty {
                return "schema at \(schemaVersion) has migration \(incompatible.map(String.init).joined(separator: ", ")) that this build (\(latest)) cannot run on: replace this replica with a newer build"
            }
            return nil
        }
    }

    /// Applies the pending migrations and records the ledger's suite if none is chosen yet (a new
    /// database); throws ``LedgerSuiteStore/Mismatch`` when the database is sealed with another.
    @discardableResult
    public func migrate(suite: LedgerSuite) async throws -> [Int] {
        let applied = try await migrate()
        try await LedgerSuiteStore(database: database).choose(suite)
        return applied
    }

    /// Applies what is missing; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let logger = database.logger
        let (migrations, lockTimeout, statementTimeout, attempts) = (self.migrations, self.lockTimeout, self.statementTimeout, self.attempts)
        return try await database.client.withConnection { conn in
            // Taken by polling, not by waiting in pg_advisory_lock: a statement waiting there holds a
            // transaction, which the other migrator's CREATE INDEX CONCURRENTLY waits out — a deadlock.
            while try await conn.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger).collect().first?.decode(Bool.self) != true {
                try await Task.sleep(for: .milliseconds(200))
            }
            do {
                try await conn.query(PostgresQuery(unsafeSQL: "SET lock_timeout = \(Int(lockTimeout.inSeconds * 1000))"), logger: logger)
                try await conn.query(PostgresQuery(unsafeSQL: "SET statement_timeout = \(Int(statementTimeout.inSeconds * 1000))"), logger: logger)
                let applied = try await Self.apply(migrations, on: conn, attempts: attempts, lockTimeout: lockTimeout, logger: logger)
                try await conn.query("RESET lock_timeout", logger: logger)
                try await conn.query("RESET statement_timeout", logger: logger)
                try await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await conn.query("RESET lock_timeout", logger: logger)
                _ = try? await conn.query("RESET statement_timeout", logger: logger)
                _ = try? await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// What `migrate` would apply, each with whether the build before it runs on the result.
    public func plan() async throws -> (status: Status, pending: [Migration]) {
        let status = try await self.status()
        let done = Set(status.applied)
        return (status, migrations.filter { !done.contains($0.version) })
    }

    /// Whether `schema_migrations` has its `compatible` column yet (the catalog, not the slow
    /// information_schema views: `/readyz` asks this every few seconds).
    static let hasCompatibleColumn: PostgresQuery = """
        SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('schema_migrations') AND attname = 'compatible' AND NOT attisdropped)
        """

    static func bookkeeping(on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        // Which migrations the build before each runs on: older builds read it to stay ready. (Looked
        // up first: ALTER TABLE would lock the table against the probes even when there is nothing to add.)
        let has = try await conn.query(Self.hasCompatibleColumn, logger: logger).collect().first?.decode(Bool.self) ?? false
        if !has {
            try await conn.query("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS compatible boolean NOT NULL DEFAULT false", logger: logger)
        }
    }

    private static func apply(_ migrations: [Migration], on conn: PostgresConnection, attempts: Int, lockTimeout: Duration, logger: Logger) async throws -> [Int] {
        try await bookkeeping(on: conn, logger: logger)
        var done: [Int: (String, Bool)] = [:]
        for try await (v, sum, compatible) in try await conn.query("SELECT version, checksum, compatible FROM schema_migrations", logger: logger)
            .decode((Int, String, Bool).self) { done[v] = (sum, compatible) }
        var applied: [Int] = []
        for m in migrations {
            if let (sum, compatible) = done[m.version] {
                guard sum == m.checksum else {
                    throw StoreError.migration("\(m.name) was applied with different contents (checksum \(sum.prefix(12))…); migrations must never be edited once shipped")
                }
                // A directive added to a shipped migration (its checksum leaves directives out).
                if compatible != m.isCompatible {
                    try await conn.query("UPDATE schema_migrations SET compatible = \(m.isCompatible) WHERE version = \(m.version)", logger: logger)
                }
                continue
            }
            logger.info("applying migration", metadata: ["migration": "\(m.name)", "compatible": "\(m.isCompatible)", "transaction": "\(m.isTransactional)"])
            var attempt = 1
            while true {
                do {
                    try await apply(m, on: conn, lockTimeout: lockTimeout, logger: logger)
                    break
                } catch where Self.waitedForLock(error) && attempt < attempts {
                    // lock_not_available: the lock timeout expired behind someone else's lock; nothing was kept.
                    logger.warning("migration waited too long for a lock; trying again", metadata: ["migration": "\(m.name)", "attempt": "\(attempt)"])
                    attempt += 1
                    try await Task.sleep(for: .seconds(attempt))
                } catch where Self.waitedForLock(error) {
                    throw StoreError.migration("\(m.name): waited longer than the lock timeout for a lock \(attempts) times (pushes or a long query hold it); \(m.isTransactional ? "nothing of it was applied" : "its finished statements stay, the rest is tried again"); run fuelwarden migrate again when the load is lower, or raise database.migration_lock_timeout_seconds")
                } catch {
                    throw StoreError.migration("\(m.name): \(describeDatabaseError(error))")
                }
            }
            applied.append(m.version)
        }
        return applied
    }

    /// lock_not_available (55P03): the lock timeout expired; inside a transaction it comes wrapped.
    static func waitedForLock(_ error: any Error) -> Bool {
        if let e = error as? PSQLError { return e.serverInfo?[.sqlState] == "55P03" }
        if let t = error as? PostgresTransactionError, let inner = t.closureError { return waitedForLock(inner) }
        return false
    }

    private static func apply(_ m: Migration, on conn: PostgresConnection, lockTimeout: Duration, logger: Logger) async throws {
        let record: PostgresQuery = """
            INSERT INTO schema_migrations (version, name, checksum, compatible) VALUES (\(m.version), \(m.name), \(m.checksum), \(m.isCompatible))
            """
        if m.isTransactional {
            try await conn.withTransaction(logger: logger) { tx in
                for statement in SQLScript.statements(m.sql) {
                    try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await tx.query(record, logger: logger)
            }
            return
        }
        // One statement at a time, each its own transaction: an index built CONCURRENTLY, a
        // backfill a batch at a time, so the append's locks are never held for long.
        for part in SQLScript.parts(m.sql) {
            if let index = Self.concurrentIndex(part.sql) {
                try await buildConcurrently(part.sql, index: index, migration: m.name, lockTimeout: lockTimeout, on: conn, logger: logger)
                continue
            }
            var batches = 0
            while true {
                let rows = try await conn.query(PostgresQuery(unsafeSQL: part.sql), logger: logger).collect()
                guard part.repeats else { break }
                batches += 1
                guard let handled = try rows.first?.decode(Int64.self), handled > 0 else { break }
                if batches % 100 == 0 { logger.info("backfill in progress", metadata: ["migration": "\(m.name)", "batches": "\(batches)"]) }
            }
        }
        try await conn.query(record, logger: logger)
    }

    /// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name` statement builds.
    static func concurrentIndex(_ sql: String) -> String? {
        let words = sql.split(whereSeparator: { $0.isWhitespace }).map { $0.lowercased() }
        guard words.first == "create", let at = words.firstIndex(of: "concurrently"), words[1..<at].allSatisfy({ ["unique", "index"].contains($0) }),
              words[1..<at].contains("index") else { return nil }
        var i = at + 1
        if words.count > i + 2, words[i] == "if", words[i + 1] == "not", words[i + 2] == "exists" { i += 3 }
        guard i < words.count, words[i] != "on" else { return nil }
        return words[i].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// A concurrent index build. It does not block the append (it takes no lock writers wait for),
    /// so it runs without the lock timeout: it waits for every transaction that could use the index
    /// to end, a chain verification reading for minutes included. A build that failed earlier leaves
    /// an invalid index that `IF NOT EXISTS` would keep: it is dropped first, and the new one must be
    /// valid. A valid index of that name is left as it is. On a partitioned table (the ledger) it is
    /// built partition by partition (``PartitionedIndexBuild``).
    private static func buildConcurrently(_ sql: String, index: String, migration: String, lockTimeout: Duration,
                                          on conn: PostgresConnection, logger: Logger) async throws {
        let restore = PostgresQuery(unsafeSQL: "SET lock_timeout = \(Int(lockTimeout.inSeconds * 1000))")
        func valid() async throws -> Bool? {
            try await conn.query("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(\(index))", logger: logger)
                .collect().first?.decode(Bool.self)
        }
        // Already built (a migration run again after it stopped later on): not built twice.
        if try await valid() == true { return }
        do {
            // On a partitioned table the parent's index stays invalid until every partition has its
            // own: a leftover one is finished, not dropped.
            if let build = PartitionedIndexBuild(sql), try await PartitionedIndexBuild.isPartitioned(build.table, on: conn, logger: logger) {
                try await build.run(lockTimeout: lockTimeout, migration: migration, on: conn, logger: logger)
            } else {
                try await conn.query("SET lock_timeout = 0", logger: logger)
                if try await valid() == false {
                    logger.warning("dropping the invalid index an earlier build left", metadata: ["migration": "\(migration)", "index": "\(index)"])
                    try await conn.query(PostgresQuery(unsafeSQL: "DROP INDEX CONCURRENTLY IF EXISTS \(index)"), logger: logger)
                }
                try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
            guard try await valid() == true else {
                throw StoreError.migration("\(migration): index \(index) was not built valid")
            }
        } catch {
            _ = try? await conn.query(restore, logger: logger)
            throw error
        }
        try await conn.query(restore, logger: logger)
    }

    public func status() async throws -> Status {
        let latest = buildVersion
        let shipped = migrations.map(\.version)
        return try await database.connection("migration status") { conn in
            let exists = try await conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: database.logger)
                .collect().first?.decode(Bool.self) ?? false
            guard exists else { return Status(applied: [], latest: latest, missing: shipped) }
            let hasFlag = try await conn.query(Self.hasCompatibleColumn, logger: database.logger).collect().first?.decode(Bool.self) ?? false
            var applied: [Int] = []
            var compatible = Set<Int>()
            let query: PostgresQuery = hasFlag ? "SELECT version, compatible FROM schema_migrations ORDER BY version"
                : "SELECT version, false FROM schema_migrations ORDER BY version"
            for try await (v, c) in try await conn.query(query, logger: database.logger).decode((Int, Bool).self) {
                applied.append(v)
                if c { compatible.insert(v) }
            }
            let have = Set(applied)
            return Status(applied: applied, compatible: compatible, latest: latest, missing: shipped.filter { !have.contains($0) })
        }
    }
}
