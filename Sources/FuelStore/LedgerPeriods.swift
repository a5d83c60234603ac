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
                    )
                    UPDATE ledger_periods SET sources_summarised_at = now() WHERE name = \(name) AND sources_summarised_at IS NULL
                    """, logger: logger)
            }
            done.append(name)
        }
        return done
    }

    /// Rewrites every summarised, not yet compacted month in (station, chain_seq) order and answers
    /// the names of those it rewrote. A month is appended in arrival order, so each page holds rows
    /// of many stations and a station's day is read from about a page per record; sorted, the same
    /// day is a few pages, whether or not the month is still in memory. Per month: a sorted copy is
    /// built beside it (the month is closed: nothing writes to it) with the parent's indexes and a
    /// CHECK that proves its range, its rows counted against the month's; then, in one short
    /// transaction under the ledger's lock (as the turn of a month takes it), the month is detached,
    /// the copy attached under its name (no scan, no index build) and the month dropped. A reader
    /// sees the old month or the new, never neither. A copy left by a stop halfway is dropped and
    /// built again.
    @discardableResult
    public func compactClosed() async throws -> [String] {
        let logger = database.logger
        let due = try await database.connection("ledger months to compact") { conn in
            try await conn.query("""
                SELECT name FROM ledger_periods
                WHERE state = 'live' AND sources_summarised_at IS NOT NULL AND compacted_at IS NULL ORDER BY ends_at
                """, logger: logger).collect().map { try $0.decode(String.self) }
        }
        var done: [String] = []
        for name in due {
            let table = try LedgerArchiveStore.checked(name)
            let sorted = try LedgerArchiveStore.checked(table + "_sorted")
            // The month's bounds as ledger_periods holds them (formatted by PostgreSQL, so exact).
            let bounds = """
                SELECT CASE WHEN starts_at = '-infinity' THEN 'MINVALUE' ELSE quote_literal(starts_at) END,
                       quote_literal(ends_at), starts_at = '-infinity' INTO lower, upper, first
                FROM ledger_periods WHERE name = '\(table)';
                """
            let rewrote = try await database.longConnection("compact \(table)") { conn -> Bool in
                // One daemon at a time (each runs the partition service): another's copy is left to it.
                let mine = try await conn.query("SELECT pg_try_advisory_lock(hashtext('fuelwarden_ledger_compact'))", logger: logger)
                    .collect().first?.decode(Bool.self) ?? false
                guard mine else { return false }
                do {
                    try await Self.rewrite(table, sorted: sorted, bounds: bounds, on: conn, logger: logger)
                    _ = try await conn.query("SELECT pg_advisory_unlock(hashtext('fuelwarden_ledger_compact'))", logger: logger).collect()
                    return true
                } catch {
                    _ = try? await conn.query("SELECT pg_advisory_unlock(hashtext('fuelwarden_ledger_compact'))", logger: logger).collect()
                    throw error
                }
            }
            if rewrote { done.append(name) }
        }
        return done
    }

    /// ``compactClosed()``'s work on one month, on a connection that holds the compaction lock.
    static func rewrite(_ table: String, sorted: String, bounds: String, on conn: PostgresConnection, logger: Logger) async throws {
        for statement in [
            "DROP TABLE IF EXISTS \(sorted)",
            "CREATE TABLE \(sorted) (LIKE ledger INCLUDING DEFAULTS)",
            "INSERT INTO \(sorted) SELECT * FROM \(table) ORDER BY station, chain_seq",
            """
            DO $$
            DECLARE lower text; upper text; first boolean;
            BEGIN
                \(bounds)
                EXECUTE format('ALTER TABLE \(sorted) ADD CONSTRAINT \(sorted)_range CHECK (%s received_at < %s)',
                               CASE WHEN first THEN '' ELSE 'received_at >= ' || lower || ' AND' END, upper);
            END
            $$
            """,
            // The month's own key and truncate guard, as fuelwarden_ledger_partition (migration 0014) makes them.
            "CREATE UNIQUE INDEX \(sorted)_source_key ON \(sorted) (station, source, source_seq)",
            "CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON \(sorted) FOR EACH STATEMENT EXECUTE FUNCTION fuelwarden_append_only()",
        ] {
            try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        // The parent's indexes (its key as a constraint, so the attach takes it), each as it is defined.
        let definitions = try await conn.query("""
            SELECT x.indisprimary, array_to_string(array_agg(quote_ident(a.attname) ORDER BY k.n), ','),
                   regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON ONLY \\S+ ', 'CREATE \\1INDEX ON ')
            FROM pg_index x
            CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
            WHERE x.indrelid = 'ledger'::regclass
            GROUP BY x.indexrelid, x.indisprimary
            """, logger: logger).collect().map { try $0.decode((Bool, String, String).self) }
        for (primary, columns, definition) in definitions {
            let on = definition.range(of: "INDEX ON ")
            let sql = primary ? "ALTER TABLE \(sorted) ADD PRIMARY KEY (\(columns))"
                              : on.map { definition.replacingCharacters(in: $0, with: "INDEX ON public.\(sorted) ") } ?? definition
            guard primary || sql.contains(" ON public.\(sorted) ") else { throw StoreError.invalid("cannot copy the ledger's index: \(definition)") }
            try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
        try await conn.query(PostgresQuery(unsafeSQL: "ANALYZE \(sorted)"), logger: logger)
        let counts = try await conn.query(PostgresQuery(unsafeSQL: "SELECT (SELECT count(*) FROM \(table)), (SELECT count(*) FROM \(sorted))"),
                                          logger: logger).collect().first?.decode((Int64, Int64).self)
        guard let counts, counts.0 == counts.1 else { throw StoreError.invalid("\(table): the sorted copy has \(counts?.1 ?? -1) rows, not \(counts?.0 ?? -1)") }
        // The swap: a brief lock on the ledger (appends wait for it); given up after 2 s and tried again.
        for attempt in 1... {
            do {
                try await conn.query(PostgresQuery(unsafeSQL: """
                    DO $$
                    DECLARE lower text; upper text; first boolean;
                    BEGIN
                        \(bounds)
                        SET LOCAL lock_timeout = '2s';
                        LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE;
                        ALTER TABLE ledger DETACH PARTITION \(table);
                        EXECUTE format('ALTER TABLE ledger ATTACH PARTITION \(sorted) FOR VALUES FROM (%s) TO (%s)', lower, upper);
                        DROP TABLE \(table);
                        ALTER TABLE \(sorted) RENAME TO \(table);
                        ALTER INDEX \(sorted)_source_key RENAME TO \(table)_source_key;
                        UPDATE ledger_periods SET compacted_at = now() WHERE name = '\(table)';
                    END
                    $$
                    """), logger: logger)
                break
            } catch let error as PSQLError where attempt < 30 && error.serverInfo?[.sqlState] == "55P03" {
                try await Task.sleep(for: .seconds(1))
            }
        }
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
