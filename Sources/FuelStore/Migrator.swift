import Crypto
import Foundation
import FuelLedger
import Logging
import PostgresNIO

/// A schema migration shipped with the package (`Sources/FuelStore/Migrations/NNNN_name.sql`).
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
    public var checksum: String { Array(SHA256.hash(data: Array(sql.utf8))).hexString }

    /// The bundled migrations in version order.
    public static func bundled() throws -> [Migration] {
        guard let dir = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw StoreError.migration("the Migrations resource is missing from the FuelStore bundle")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        var out: [Migration] = []
        for f in files {
            guard let v = Int(f.prefix { $0.isNumber }) else { throw StoreError.migration("\(f): name must start with a version number") }
            let sql = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            out.append(Migration(version: v, name: String(f.dropLast(4)), sql: sql))
        }
        guard Set(out.map(\.version)).count == out.count else { throw StoreError.migration("two migrations share a version") }
        return out
    }
}

/// Applies migrations once each, in order, under a PostgreSQL advisory lock so that replicas
/// starting together do not race: the second waits, then finds nothing left to do.
public struct Migrator: Sendable {
    /// Arbitrary, fixed: the advisory lock key of Fuelwarden's migrations.
    static let lockKey: Int64 = 0x4675_656C_7761_7264  // "Fuelward"

    public let database: FuelDatabase
    public let migrations: [Migration]

    public init(database: FuelDatabase, migrations: [Migration]? = nil) throws {
        self.database = database
        self.migrations = try migrations ?? Migration.bundled()
    }

    public struct Status: Sendable, Hashable {
        public var applied: [Int]
        public var latest: Int
        public var isCurrent: Bool { applied.last == latest || (latest == 0 && applied.isEmpty) }
    }

    /// Applies what is missing; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let logger = database.logger
        let migrations = self.migrations
        return try await withDeadline(.seconds(300), "migrate") { [database] in
            try await database.client.withConnection { conn in
                try await conn.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
                do {
                    let applied = try await Self.apply(migrations, on: conn, logger: logger)
                    try await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    return applied
                } catch {
                    _ = try? await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    throw error
                }
            }
        }
    }

    private static func apply(_ migrations: [Migration], on conn: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await conn.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var done: [Int: String] = [:]
        for try await (v, sum) in try await conn.query("SELECT version, checksum FROM schema_migrations", logger: logger)
            .decode((Int, String).self) { done[v] = sum }
        var applied: [Int] = []
        for m in migrations {
            if let sum = done[m.version] {
                guard sum == m.checksum else {
                    throw StoreError.migration("\(m.name) was applied with different contents (checksum \(sum.prefix(12))…); migrations must never be edited once shipped")
                }
                continue
            }
            logger.info("applying migration", metadata: ["migration": "\(m.name)"])
            do {
                try await conn.withTransaction(logger: logger) { tx in
                    for statement in SQLScript.statements(m.sql) {
                        try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await tx.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(m.version), \(m.name), \(m.checksum))",
                        logger: logger)
                }
            } catch {
                throw StoreError.migration("\(m.name): \(describeDatabaseError(error))")
            }
            applied.append(m.version)
        }
        return applied
    }

    public func status() async throws -> Status {
        let latest = migrations.map(\.version).max() ?? 0
        return try await database.connection("migration status") { conn in
            let exists = try await conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: database.logger)
                .collect().first?.decode(Bool.self) ?? false
            guard exists else { return Status(applied: [], latest: latest) }
            var applied: [Int] = []
            for try await v in try await conn.query("SELECT version FROM schema_migrations ORDER BY version", logger: database.logger)
                .decode(Int.self) { applied.append(v) }
            return Status(applied: applied, latest: latest)
        }
    }
}
