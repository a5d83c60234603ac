import FuelLedger
import FuelModel
import Foundation
import Logging
import PostgresNIO

/// A tank's batch mix from one delivery until the next.
public struct CompositionPeriod: Sendable, Hashable {
    public var station: String
    public var tank: String
    public var validFrom: Date
    /// Start of the tank's next period; nil while this one is current.
    public var validTo: Date?
    public var deliverySeq: Int64
    public var batch: String
    public var supplier: String?
    public var deliveredL: Double
    public var volumeBeforeL: Double?
    public var readingAt: Date?
    public var composition: BatchComposition
}

/// Litres sold from a tank in one period, and the share of a batch in them.
public struct BatchTraceRow: Sendable, Hashable {
    public var period: CompositionPeriod
    public var fraction: Double
    public var sales: Int
    public var soldL: Double
}

/// Tank batch compositions, kept by the append: each delivery recomputes its tank's mix from the
/// delivery on (a delivery that arrives late rewrites the periods after it).
public struct ProvenanceStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Recomputes `tank`'s periods from `from` on, inside the append's transaction (after the
    /// deliveries are in the ledger).
    static func recompute(station: String, tank: String, from: Timestamp, on tx: PostgresConnection, logger: Logger) async throws {
        let dec = JSONDecoder()
        var mix = BatchComposition.unknown
        if let shares = try await tx.query("""
            SELECT shares::text FROM tank_compositions WHERE station = \(station) AND tank = \(tank) AND valid_from < \(from.date)
            ORDER BY valid_from DESC, delivery_seq DESC LIMIT 1
            """, logger: logger).collect().first?.decode(String.self) {
            mix = BatchComposition(shares: try dec.decode([BatchShare].self, from: Data(shares.utf8)))
        }
        try await tx.query("DELETE FROM tank_compositions WHERE station = \(station) AND tank = \(tank) AND valid_from >= \(from.date)", logger: logger)
        let deliveries = try await tx.query("""
            SELECT chain_seq, (body::jsonb->>'started_at')::timestamptz AS started, body::jsonb->>'supplier', body::jsonb->>'batch',
                   body::jsonb->>'bill_no', (body::jsonb->>'declared_volume_l')::float8
            FROM ledger WHERE station = \(station) AND kind = 'delivery' AND at >= \(from.date) AND body::jsonb->>'tank' = \(tank)
            ORDER BY 2, 1
            """, logger: logger).collect()
        for row in deliveries {
            let (seq, started, supplier, batch, bill, litres) = try row.decode((Int64, Date, String, String?, String, Double).self)
            guard started >= from.date else { continue }
            // The last gauge reading at or before the delivery's start, at 20 °C when the gauge gives it.
            let reading = try await tx.query("""
                SELECT at, coalesce((body::jsonb->>'tc_volume_l')::float8, (body::jsonb->>'volume_l')::float8)
                FROM ledger WHERE station = \(station) AND kind = 'tank_reading' AND at <= \(started) AND body::jsonb->>'tank' = \(tank)
                ORDER BY at DESC LIMIT 1
                """, logger: logger).collect().first?.decode((Date, Double).self)
            let name = BatchComposition.batchName(batch: batch, billNo: bill)
            mix = mix.afterDelivery(batch: name, supplier: supplier, deliveredL: litres, volumeBeforeL: reading?.1)
            let shares = String(decoding: try AlertStore.encoder.encode(mix.shares), as: UTF8.self)
            try await tx.query("""
                INSERT INTO tank_compositions (station, tank, valid_from, delivery_seq, batch, supplier, delivered_l, volume_before_l, reading_at, shares)
                VALUES (\(station), \(tank), \(started), \(seq), \(name), \(supplier), \(litres), \(reading?.1), \(reading?.0), \(shares)::jsonb)
                """, logger: logger)
            try await tx.query("""
                INSERT INTO composition_batches (station, tank, valid_from, delivery_seq, batch, supplier, fraction)
                SELECT \(station), \(tank), \(started), \(seq), b, NULLIF(s, ''), f
                FROM UNNEST(\(mix.shares.map(\.batch))::text[], \(mix.shares.map { $0.supplier ?? "" })::text[], \(mix.shares.map(\.fraction))::float8[]) AS u(b, s, f)
                """, logger: logger)
        }
    }

    static let periodColumns = """
        c.station, c.tank, c.valid_from,
        lead(c.valid_from) OVER (PARTITION BY c.station, c.tank ORDER BY c.valid_from, c.delivery_seq),
        c.delivery_seq, c.batch, c.supplier, c.delivered_l, c.volume_before_l, c.reading_at, c.shares::text
        """

    static func period(_ row: PostgresRow) throws -> CompositionPeriod {
        let (st, tank, from, to, seq, batch, supplier, litres, before, readingAt, shares) =
            try row.decode((String, String, Date, Date?, Int64, String, String?, Double, Double?, Date?, String).self)
        return CompositionPeriod(
            station: st, tank: tank, validFrom: from, validTo: to, deliverySeq: seq, batch: batch, supplier: supplier, deliveredL: litres,
            volumeBeforeL: before, readingAt: readingAt,
            composition: BatchComposition(shares: try JSONDecoder().decode([BatchShare].self, from: Data(shares.utf8))))
    }

    /// The period of `tank` in force at `time`; nil before the tank's first recorded delivery.
    public func period(station: String, tank: String, at time: Date) async throws -> CompositionPeriod? {
        let logger = database.logger
        return try await database.connection("tank composition") { conn in
            try await conn.query("""
                SELECT * FROM (SELECT \(unescaped: Self.periodColumns) FROM tank_compositions c WHERE c.station = \(station) AND c.tank = \(tank)) p
                WHERE p.valid_from <= \(time) ORDER BY p.valid_from DESC, p.delivery_seq DESC LIMIT 1
                """, logger: logger).collect().first.map(Self.period)
        }
    }

    /// Every period, at any station, in which `batch` was in a tank, with the litres sold from that
    /// tank in the period (through the nozzles the registry connects to it) and the batch's share.
    public func trace(batch: String, nozzles: [String: [String: [String]]]) async throws -> [BatchTraceRow] {
        let logger = database.logger
        return try await database.connection("batch trace") { conn in
            var out: [BatchTraceRow] = []
            let rows = try await conn.query("""
                SELECT \(unescaped: Self.periodColumns) FROM tank_compositions c
                WHERE (c.station, c.tank) IN (SELECT DISTINCT station, tank FROM composition_batches WHERE batch = \(batch))
                """, logger: logger).collect()
            for row in rows {
                // The window over all of a tank's periods gives each its end; keep those with the batch.
                let p = try Self.period(row)
                guard p.composition.fraction(of: batch) > 0 else { continue }
                let tankNozzles = nozzles[p.station]?[p.tank] ?? []
                let (n, sold) = try await conn.query("""
                    SELECT count(*), coalesce(sum((body::jsonb->>'volume_l')::float8), 0) FROM ledger
                    WHERE station = \(p.station) AND kind = 'sale' AND at >= \(p.validFrom) AND (\(p.validTo)::timestamptz IS NULL OR at < \(p.validTo))
                      AND body::jsonb->>'nozzle' = ANY(\(tankNozzles))
                    """, logger: logger).collect().first?.decode((Int, Double).self) ?? (0, 0)
                out.append(BatchTraceRow(period: p, fraction: p.composition.fraction(of: batch), sales: n, soldL: sold))
            }
            return out.sorted { ($0.period.station, $0.period.tank, $0.period.validFrom) < ($1.period.station, $1.period.tank, $1.period.validFrom) }
        }
    }

    /// A sale or delivery as provenance needs it.
    public struct TracedRecord: Sendable, Hashable {
        public var kind: String
        public var at: Date
        public var nozzle: String?
        public var tank: String?
        public var volumeL: Double?
        public var batch: String?
        public var supplier: String?
    }

    /// The ledger record at `seq` of `station`, nil when there is none.
    public func record(station: String, seq: Int64) async throws -> TracedRecord? {
        let logger = database.logger
        return try await database.connection("provenance record") { conn in
            let span = try await ReceivedSpan.of(station: station, seqs: seq...seq, on: conn, logger: logger)
            guard let row = try await conn.query("""
                SELECT kind, at, body::jsonb->>'nozzle', body::jsonb->>'tank',
                       coalesce((body::jsonb->>'volume_l')::float8, (body::jsonb->>'declared_volume_l')::float8),
                       body::jsonb->>'batch', body::jsonb->>'supplier'
                FROM ledger WHERE station = \(station) AND chain_seq = \(seq)
                  AND received_at >= \(span.from) AND received_at < \(span.until)
                """, logger: logger).collect().first else { return nil }
            let (kind, at, nozzle, tank, volume, batch, supplier) = try row.decode((String, Date, String?, String?, Double?, String?, String?).self)
            return TracedRecord(kind: kind, at: at, nozzle: nozzle, tank: tank, volumeL: volume, batch: batch, supplier: supplier)
        }
    }

    /// Recomputes every tank's mix of `station` (or of every station) from the first delivery on:
    /// for ledgers written before compositions were kept.
    public func rebuild(station only: String? = nil) async throws -> Int {
        let logger = database.logger
        let tanks = try await database.connection("tanks with deliveries") { conn in
            var out: [(String, String)] = []
            for try await pair in try await conn.query("""
                SELECT DISTINCT station, body::jsonb->>'tank' FROM ledger WHERE kind = 'delivery' AND (\(only)::text IS NULL OR station = \(only))
                ORDER BY 1, 2
                """, logger: logger).decode((String, String).self) { out.append(pair) }
            return out
        }
        for (station, tank) in tanks {
            try await database.transaction("rebuild composition") { tx in
                _ = try await tx.query("SELECT 1 FROM chain_heads WHERE station = \(station) FOR UPDATE", logger: logger).collect()
                try await Self.recompute(station: station, tank: tank, from: Timestamp(seconds: -62_135_596_800), on: tx, logger: logger)
            }
        }
        return tanks.count
    }
}
