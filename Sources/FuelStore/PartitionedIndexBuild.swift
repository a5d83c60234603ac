import Foundation
import Logging
import PostgresNIO

/// A `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON table …` statement, taken apart
/// so that it can be built on a partitioned table, where PostgreSQL has no CONCURRENTLY: the index
/// is made on the parent alone (invalid, no rows read), built CONCURRENTLY on each partition and
/// attached; the parent's index is valid once every partition's is attached. (PostgreSQL's own
/// recipe, "CREATE INDEX … ON ONLY"; the ledger has been partitioned since migration 0014.)
struct PartitionedIndexBuild: Sendable, Hashable {
    var unique: Bool
    var name: String
    var table: String
    /// Everything after the table: `(kind, at)`, `USING btree (…) WHERE …`.
    var rest: String

    init?(_ sql: String) {
        let pattern = /(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("?[\w$]+"?)\s+ON\s+(?:ONLY\s+)?("?[\w$.]+"?)\s+(.+?);?\s*$/
        guard let m = sql.wholeMatch(of: pattern) else { return nil }
        unique = m.1 != nil
        name = String(m.2)
        table = String(m.3)
        rest = String(m.4)
    }

    /// The parent's index, on it alone.
    var parentSQL: String { "CREATE \(unique ? "UNIQUE " : "")INDEX IF NOT EXISTS \(name) ON ONLY \(table) \(rest)" }

    /// A partition's index: its name (the partition's and the index's, within PostgreSQL's 63
    /// bytes) and the statement that builds it.
    func child(of partition: String) -> (name: String, sql: String) {
        let bare = name.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let childName = String("\(partition)_\(bare)".utf8.prefix(63))!
        return (childName, "CREATE \(unique ? "UNIQUE " : "")INDEX CONCURRENTLY IF NOT EXISTS \(childName) ON \(partition) \(rest)")
    }

    /// Whether `table` is a partitioned table.
    static func isPartitioned(_ table: String, on conn: PostgresConnection, logger: Logger) async throws -> Bool {
        try await conn.query("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(\(table))", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
    }

    /// Builds it: the parent's index (taking the table's lock for an instant, under the lock
    /// timeout), then each partition not yet covered, one at a time, CONCURRENTLY (no lock
    /// timeout: it waits out long readers, blocking nobody). A partition's index left invalid by
    /// an earlier failed build is dropped and built again.
    func run(lockTimeout: Duration, migration: String, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query(PostgresQuery(unsafeSQL: "SET lock_timeout = \(Int(lockTimeout.inSeconds * 1000))"), logger: logger)
        try await conn.query(PostgresQuery(unsafeSQL: parentSQL), logger: logger)
        let partitions = try await conn.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(\(table)) ORDER BY c.relname
            """, logger: logger).collect().map { try $0.decode(String.self) }
        let covered = Set(try await conn.query("""
            SELECT t.relname FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE i.inhparent = to_regclass(\(name))
            """, logger: logger).collect().map { try $0.decode(String.self) })
        try await conn.query("SET lock_timeout = 0", logger: logger)
        for partition in partitions where !covered.contains(partition) {
            let (childName, sql) = child(of: partition)
            let valid = try await conn.query("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(\(childName))", logger: logger)
                .collect().first?.decode(Bool.self)
            if valid == false {
                logger.warning("dropping the invalid index an earlier build left", metadata: ["migration": "\(migration)", "index": "\(childName)"])
                try await conn.query(PostgresQuery(unsafeSQL: "DROP INDEX CONCURRENTLY IF EXISTS \(childName)"), logger: logger)
            }
            try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await conn.query(PostgresQuery(unsafeSQL: "ALTER INDEX \(name) ATTACH PARTITION \(childName)"), logger: logger)
            logger.info("index built on a partition", metadata: ["migration": "\(migration)", "index": "\(childName)"])
        }
    }
}
