import FuelModel
import Logging
import PostgresNIO

/// Numbers the records a batch's feeds collected: a record whose natural key is already recorded
/// (or came earlier in the batch) is a duplicate; every other one gets the next source sequence of
/// its station and source, and its key is remembered. One statement for the whole batch, run
/// under the heads' locks (so two daemons never hand out one sequence twice).
struct CollectedNumbering {
    /// Each request's records as the ledger will see them (pushed ones as given).
    var records: [[IncomingRecord]]
    /// Per request, the collected records that were duplicates by natural key, by kind.
    var keyDuplicates: [[RecordKind: Int]]

    /// Numbers under the heads' locks; `stamp` is the batch's `received_at` (``LedgerStore/stamp(_:)``).
    static func number(_ requests: [AppendRequest], skip: [Bool], stamp: Timestamp, on tx: PostgresConnection, logger: Logger) async throws -> CollectedNumbering {
        var out = CollectedNumbering(records: Array(repeating: [], count: requests.count),
                                     keyDuplicates: Array(repeating: [:], count: requests.count))
        var asked: (stations: [String], sources: [String], keys: [String]) = ([], [], [])
        for (i, r) in requests.enumerated() where !skip[i] {
            switch r.records {
            case .pushed(let records):
                out.records[i] = records
            case .collected(let source, let records):
                for c in records {
                    asked.stations.append(r.station)
                    asked.sources.append(source.rawValue)
                    asked.keys.append(c.key)
                }
            }
        }
        guard !asked.keys.isEmpty else { return out }
        let recent = LedgerStore.recentMonths(before: stamp.date)
        let until = stamp.date.addingTimeInterval(86_400)  // a day past the stamp: only to leave the empty months ahead unplanned
        // One statement: the first occurrence in the batch of each key not yet recorded gets the next
        // sequence of its station and source (in batch order), its key is remembered and the station's
        // top seq of the source moves; every other occurrence is a duplicate. Answers the batch position
        // (1-based) and sequence of each new one. The top seq comes from `collected_heads` (migration
        // 0020: why the ledger's recent months are asked too, and when the whole ledger is). The
        // station's rows were all received at or before the batch's stamp (it never goes back under
        // the head lock), so the recent months are bounded on both sides and planned alone (bound
        // as timestamps, so PostgreSQL prunes the other months when it plans), and only seqs above the
        // row's are asked for: whatever plan is chosen reads nothing when no earlier build wrote since
        // (asked as a plain max, the planner read all of a station's rows whenever its statistics
        // lagged behind a fast-growing month: bench hj212 fell from 5,500 to 3,300 packets/s).
        let rows = try await tx.query("""
            WITH u AS (
                SELECT station, source, natural_key, ord
                FROM UNNEST(\(asked.stations)::text[], \(asked.sources)::text[], \(asked.keys)::text[])
                     WITH ORDINALITY AS u(station, source, natural_key, ord)
            ), firsts AS (
                SELECT DISTINCT ON (station, source, natural_key) station, source, natural_key, ord
                FROM u ORDER BY station, source, natural_key, ord
            ), fresh AS (
                SELECT f.station, f.source, f.natural_key, f.ord FROM firsts f
                WHERE NOT EXISTS (SELECT 1 FROM collected_keys k
                                  WHERE k.station = f.station AND k.source = f.source AND k.natural_key = f.natural_key)
            ), tops AS (
                SELECT p.station, p.source,
                       CASE WHEN h.updated_at >= \(recent) THEN
                           greatest(h.top_seq, (SELECT max(l.source_seq) FROM ledger l
                                                WHERE l.station = p.station AND l.source = p.source AND l.source_seq > h.top_seq
                                                  AND l.received_at >= \(recent) AND l.received_at < \(until)))
                       ELSE greatest(h.top_seq, fuelwarden_collected_top(p.station, p.source))
                       END AS top
                FROM (SELECT DISTINCT station, source FROM fresh) p
                LEFT JOIN collected_heads h ON h.station = p.station AND h.source = p.source
            ), numbered AS (
                SELECT f.station, f.source, f.natural_key, f.ord,
                       t.top + row_number() OVER (PARTITION BY f.station, f.source ORDER BY f.ord) AS seq
                FROM fresh f JOIN tops t ON t.station = f.station AND t.source = f.source
            ), kept AS (
                INSERT INTO collected_keys (station, source, natural_key, source_seq)
                SELECT station, source, natural_key, seq FROM numbered
            ), moved AS (
                INSERT INTO collected_heads (station, source, top_seq, updated_at)
                SELECT station, source, max(seq), \(stamp.rfc3339)::timestamptz FROM numbered GROUP BY station, source
                ON CONFLICT (station, source) DO UPDATE SET top_seq = EXCLUDED.top_seq, updated_at = EXCLUDED.updated_at
            )
            SELECT ord, seq FROM numbered
            """, logger: logger)
        var fresh: [Int64: Int64] = [:]
        for try await (ord, seq) in rows.decode((Int64, Int64).self) { fresh[ord] = seq }

        var ord: Int64 = 0
        for (i, r) in requests.enumerated() where !skip[i] {
            guard case .collected(let source, let records) = r.records else { continue }
            for c in records {
                ord += 1
                guard let seq = fresh[ord] else {
                    out.keyDuplicates[i][c.record.kind, default: 0] += 1
                    continue
                }
                out.records[i].append(IncomingRecord(line: c.line, raw: c.raw, source: source, sourceSeq: seq, record: c.record))
            }
        }
        return out
    }
}
