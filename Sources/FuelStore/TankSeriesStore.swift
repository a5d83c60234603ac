import Foundation
import Logging
import PostgresNIO

/// One pixel column of a tank's gauge chart: the readings' lowest, highest and last volume at
/// 20 °C within it.
public struct TankSeriesColumn: Sendable, Hashable {
    /// Column index, 1…columns.
    public var column: Int
    public var min: Double
    public var max: Double
    public var last: Double
    public var readings: Int

    public init(column: Int, min: Double, max: Double, last: Double, readings: Int) {
        self.column = column
        self.min = min
        self.max = max
        self.last = last
        self.readings = readings
    }
}

/// A tank's gauge readings and deliveries for charts, downsampled in PostgreSQL to a column per
/// pixel (min / max / last): from the readings themselves for columns narrower than an hour, from the
/// hourly roll-up the append keeps (`tank_hours`) for wider ones, so a year draws as fast as a week.
public struct TankSeriesStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Readings of `tank` at `station` in [from, to) in `columns` equal time columns.
    public func columns(station: String, tank: String, from: Date, to: Date, columns: Int) async throws -> [TankSeriesColumn] {
        let n = max(1, min(columns, 4000))
        let (t0, t1) = (from.timeIntervalSince1970, max(to.timeIntervalSince1970, from.timeIntervalSince1970 + 1))
        let logger = database.logger
        // A column an hour or wider reads the hourly roll-up (an hour a row); narrower ones the readings.
        if (t1 - t0) / Double(n) >= 3600 {
            return try await database.connection("tank series by hour") { conn in
                let rows = try await conn.query("""
                    SELECT width_bucket(extract(epoch FROM hour)::float8, \(t0)::float8, \(t1)::float8, \(n)::int4) AS c,
                           min(min_l), max(max_l), (array_agg(last_l ORDER BY last_at DESC))[1], sum(readings)::bigint
                    FROM tank_hours
                    WHERE station = \(station) AND tank = \(tank) AND hour >= date_trunc('hour', \(from)::timestamptz) AND hour < \(to)
                    GROUP BY c ORDER BY c
                    """, logger: logger)
                return try await Self.columns(rows, upTo: n)
            }
        }
        return try await database.connection("tank series") { conn in
            let rows = try await conn.query("""
                SELECT width_bucket(extract(epoch FROM at)::float8, \(t0)::float8, \(t1)::float8, \(n)::int4) AS c,
                       min(v), max(v), (array_agg(v ORDER BY at DESC))[1], count(*)::bigint
                FROM (SELECT at, COALESCE((body::jsonb->>'tc_volume_l')::float8, (body::jsonb->>'volume_l')::float8) AS v
                      FROM ledger
                      WHERE station = \(station) AND kind = 'tank_reading' AND at >= \(from) AND at < \(to)
                        AND body::jsonb->>'tank' = \(tank)) r
                WHERE v IS NOT NULL
                GROUP BY c ORDER BY c
                """, logger: logger)
            return try await Self.columns(rows, upTo: n)
        }
    }

    /// Rows of (column, min, max, last, readings) as columns 1…n.
    static func columns(_ rows: PostgresRowSequence, upTo n: Int) async throws -> [TankSeriesColumn] {
        var out: [TankSeriesColumn] = []
        for try await (c, lo, hi, last, count) in rows.decode((Int, Double, Double, Double, Int64).self) where c >= 1 && c <= n {
            out.append(TankSeriesColumn(column: c, min: lo, max: hi, last: last, readings: Int(count)))
        }
        return out
    }

    /// Deliveries to `tank` that started in [from, to): when, and the declared litres.
    public func deliveries(station: String, tank: String, from: Date, to: Date) async throws -> [(at: Date, declaredL: Double)] {
        let logger = database.logger
        return try await database.connection("tank deliveries") { conn in
            let rows = try await conn.query("""
                SELECT at, (body::jsonb->>'declared_volume_l')::float8 FROM ledger
                WHERE station = \(station) AND kind = 'delivery' AND at >= \(from) AND at < \(to) AND body::jsonb->>'tank' = \(tank)
                ORDER BY at LIMIT 500
                """, logger: logger)
            var out: [(at: Date, declaredL: Double)] = []
            for try await (at, litres) in rows.decode((Date, Double?).self) { out.append((at, litres ?? 0)) }
            return out
        }
    }
}
