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

    /// Summarises every live month that lies wholly before the dedupe's recent months (the current
    /// and the previous one, ``LedgerStore/recentMonths(before:)``) and is not summarised yet: per
    /// station and source, its lowest and highest source seq (migration 0018), so that a resend of an
    /// old record is looked up only in the months that can hold it. Nothing is appended into such a
    /// month any more. One statement a month, on a connection without the request deadline (a month of
    /// a province is read whole once); two daemons doing it at once write the same rows. Answers the
    /// names of the months it summarised.
    @discardableResult
    public func summariseClosed(now: Date = Date()) async throws -> [String] {
        let logger = database.logger
        let recent = LedgerStore.recentMonths(before: now)
        let due = try await database.connection("ledger months to summarise") { conn in
            try await conn.query("""
                SELECT name, CASE WHEN starts_at = '-infinity' THEN NULL ELSE starts_at END, ends_at FROM ledger_periods
                WHERE state = 'live' AND sources_summarised_at IS NULL AND ends_at <= \(recent) ORDER BY ends_at
                """, logger: logger).collect().map { try $0.decode((String, Date?, Date).self) }
        }
        var done: [String] = []
        for (name, from, until) in due {
            _ = try await database.longConnection("summarise \(name)") { conn in
                try await conn.query("""
                    WITH ranges AS (
                        INSERT INTO ledger_source_ranges (station, source, period, min_seq, max_seq)
                        SELECT station, source, \(name), min(source_seq), max(source_seq) FROM ledger
                        WHERE received_at >= \(from ?? Date.distantPast) AND received_at < \(until)
                        GROUP BY station, source
                        ON CONFLICT DO NOTHING
                        RETURNING 1
                    )
                    UPDATE ledger_periods SET sources_summarised_at = now() WHERE name = \(name) AND sources_summarised_at IS NULL
                    """, logger: logger)
            }
            done.append(name)
        }
        return done
    }

    /// Closes the first period now, as the turn of a month would close it: it ends at this instant
    /// and a new partition takes the appends until the first period's old end. For tests and fault
    /// scenarios, which cannot wait a month for a period to archive (once per database); answers
    /// the closed period's name.
    package func closeFirstNow() async throws -> String {
        let logger = database.logger
        guard let first = try await list().first else { throw StoreError.invalid("the ledger has no period") }
        let table = try LedgerArchiveStore.checked(first.name)
        _ = try await database.longConnection("close \(table)") { conn in
            try await conn.query(PostgresQuery(unsafeSQL: """
                DO $$
                DECLARE
                    split timestamptz;
                    old_end timestamptz := (SELECT ends_at FROM ledger_periods WHERE name = '\(table)');
                BEGIN
                    -- Appends wait meanwhile, so none can be stamped after the split and land before it.
                    LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;
                    split := clock_timestamp();
                    ALTER TABLE ledger DETACH PARTITION \(table);
                    ALTER TABLE \(table) DROP CONSTRAINT IF EXISTS ledger_before_cut;
                    EXECUTE format('ALTER TABLE \(table) ADD CONSTRAINT ledger_before_cut CHECK (received_at < %L)', split);
                    EXECUTE format('ALTER TABLE ledger ATTACH PARTITION \(table) FOR VALUES FROM (MINVALUE) TO (%L)', split);
                    UPDATE ledger_periods SET ends_at = split WHERE name = '\(table)';
                    PERFORM fuelwarden_ledger_partition(split, old_end);
                END
                $$
                """), logger: logger)
        }
        return first.name
    }
}
