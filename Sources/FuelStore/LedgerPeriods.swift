import Foundation
import Logging
import PostgresNIO

/// One partition of the ledger: the records appended from `starts` (nil: from the beginning, the
/// records stored before the ledger was partitioned) until `ends`.
public struct LedgerPeriod: Sendable, Hashable {
    public var name: String
    public var starts: Date?
    public var ends: Date
    public var archived: Bool
}

/// The ledger's partitions by append month (migration 0014): which exist, and months kept ahead so
/// an append never finds no partition for its row. Months are UTC months.
public struct LedgerPeriods: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// How many months ahead of the current one have partitions (made at startup and every few hours).
    public static let monthsAhead = 3

    /// Every period, oldest first.
    public func list() async throws -> [LedgerPeriod] {
        let logger = database.logger
        return try await database.connection("ledger periods") { conn in
            var out: [LedgerPeriod] = []
            let rows = try await conn.query("""
                SELECT name, CASE WHEN starts_at = '-infinity' THEN NULL ELSE starts_at END, ends_at, state = 'archived'
                FROM ledger_periods ORDER BY ends_at
                """, logger: logger)
            for try await (name, starts, ends, archived) in rows.decode((String, Date?, Date, Bool).self) {
                out.append(LedgerPeriod(name: name, starts: starts, ends: ends, archived: archived))
            }
            return out
        }
    }

    /// Makes the monthly partitions from the newest one's end through the month `monthsAhead` after
    /// `now`'s, gaps included (a daemon that was off for months), and answers the names of those it
    /// made. Attaching takes no lock the append waits for; two daemons doing it at once take turns.
    @discardableResult
    public func keepAhead(now: Date = Date(), monthsAhead: Int = Self.monthsAhead) async throws -> [String] {
        let logger = database.logger
        return try await database.transaction("ledger partitions") { tx in
            try await tx.query("SET LOCAL TimeZone = 'UTC'", logger: logger)
            try await tx.query("SET LOCAL lock_timeout = '5s'", logger: logger)
            try await tx.query("SELECT pg_advisory_xact_lock(hashtext('fuelwarden_ledger_partition'))", logger: logger)
            let existing = Set(try await tx.query("SELECT name FROM ledger_periods", logger: logger).collect().map { try $0.decode(String.self) })
            var made: [String] = []
            let rows = try await tx.query("""
                SELECT fuelwarden_ledger_partition(m, m + interval '1 month')
                FROM generate_series((SELECT max(ends_at) FROM ledger_periods),
                                     date_trunc('month', \(now)::timestamptz) + make_interval(months => \(monthsAhead)::int),
                                     interval '1 month') AS m
                """, logger: logger)
            for try await name in rows.decode(String.self) where !existing.contains(name) { made.append(name) }
            return made
        }
    }
}
