import Foundation
import Logging
import PostgresNIO

/// Where in received time (`received_at`, the ledger's partition key) a stretch of a station's chain
/// lies: [`from`, `until`). A read bounded with it is planned and run on the months that hold the
/// stretch only — at years of records, planning a read over every month costs more than the read.
/// The bounds come from `ledger_station_periods` and the station's head (migration 0016), asked
/// first and then passed as parameters: PostgreSQL prunes partitions at plan time on parameters,
/// and only at run time (after planning every month) on a subquery's answer.
package struct ReceivedSpan: Sendable, Hashable {
    package var from: Date
    package var until: Date

    /// The months holding the station's chain positions `seqs`.
    package static func of(station: String, seqs: ClosedRange<Int64>, on conn: PostgresConnection, logger: Logger) async throws -> ReceivedSpan {
        try await ask(conn, logger, """
            SELECT fuelwarden_ledger_floor(\(station), \(seqs.lowerBound)) AS f, fuelwarden_ledger_ceiling(\(station), \(seqs.upperBound)) AS u
            """)[0]
    }

    /// The months holding the station's chain after position `seq`.
    package static func after(station: String, seq: Int64, on conn: PostgresConnection, logger: Logger) async throws -> ReceivedSpan {
        try await ask(conn, logger, "SELECT fuelwarden_ledger_floor(\(station), \(seq + 1)) AS f, fuelwarden_ledger_end(\(station)) AS u")[0]
    }

    /// The months that can hold the station's records with data time in [`from`, `to`): its newest
    /// month (still filling: any data time may come late) and the hull of the closed spans whose
    /// data times overlap the window (empty when none does).
    package static func window(
        station: String, from: Date, to: Date, on conn: PostgresConnection, logger: Logger
    ) async throws -> (newest: ReceivedSpan, closed: ReceivedSpan) {
        let spans = try await ask(conn, logger, """
            SELECT fuelwarden_ledger_open(\(station)) AS f, fuelwarden_ledger_end(\(station)) AS u
            UNION ALL
            SELECT fuelwarden_ledger_span_from(\(station), \(from), \(to)), fuelwarden_ledger_span_until(\(station), \(from), \(to))
            """)
        return (spans[0], spans[1])
    }

    /// Runs `query` (columns f, u: times, possibly ±infinity) and reads each row as a span; the
    /// infinities become the years 1 and 4001, which bound every real time.
    private static func ask(_ conn: PostgresConnection, _ logger: Logger, _ query: PostgresQuery) async throws -> [ReceivedSpan] {
        let clamped = PostgresQuery(unsafeSQL: """
            SELECT greatest(least(f, \(Self.last)), \(Self.first)), greatest(least(u, \(Self.last)), \(Self.first))
            FROM (\(query.sql)) q
            """, binds: query.binds)
        var out: [ReceivedSpan] = []
        for try await (from, until) in try await conn.query(clamped, logger: logger).decode((Date, Date).self) {
            out.append(ReceivedSpan(from: from, until: until))
        }
        return out
    }

    /// The first and last instants a bound takes (the infinities of the lookups, clamped to times a `Date` holds).
    private static let first = "timestamptz '0001-01-01 00:00:00+00'", last = "timestamptz '4001-01-01 00:00:00+00'"

    /// Whether no month is in it (`from` at or after `until`).
    package var isEmpty: Bool { from >= until }
}
