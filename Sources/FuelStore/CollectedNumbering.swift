import FuelModel
import Logging
import PostgresNIO

/// Numbers the records a batch's feeds collected: a record whose natural key is already recorded
/// (or came earlier in the batch) is a duplicate; every other one gets the next source sequence of
/// its station and source, and its key is remembered. Three statements for the whole batch, run
/// under the heads' locks (so two daemons never hand out one sequence twice).
struct CollectedNumbering {
    /// Each request's records as the ledger will see them (pushed ones as given).
    var records: [[IncomingRecord]]
    /// Per request, the collected records that were duplicates by natural key, by kind.
    var keyDuplicates: [[RecordKind: Int]]

    private struct SourceKey: Hashable {
        var station: String
        var source: String
    }

    static func number(_ requests: [AppendRequest], skip: [Bool], on tx: PostgresConnection, logger: Logger) async throws -> CollectedNumbering {
        var out = CollectedNumbering(records: Array(repeating: [], count: requests.count),
                                     keyDuplicates: Array(repeating: [:], count: requests.count))
        var asked: (stations: [String], sources: [String], keys: [String]) = ([], [], [])
        var pairs = Set<SourceKey>()
        for (i, r) in requests.enumerated() where !skip[i] {
            switch r.records {
            case .pushed(let records):
                out.records[i] = records
            case .collected(let source, let records):
                pairs.insert(SourceKey(station: r.station, source: source.rawValue))
                for c in records {
                    asked.stations.append(r.station)
                    asked.sources.append(source.rawValue)
                    asked.keys.append(c.key)
                }
            }
        }
        guard !pairs.isEmpty else { return out }

        var known = Set<[String]>()
        if !asked.keys.isEmpty {
            let rows = try await tx.query("""
                SELECT k.station, k.source, k.natural_key
                FROM UNNEST(\(asked.stations)::text[], \(asked.sources)::text[], \(asked.keys)::text[]) AS u(station, source, natural_key)
                JOIN collected_keys k ON k.station = u.station AND k.source = u.source AND k.natural_key = u.natural_key
                """, logger: logger)
            for try await (station, source, key) in rows.decode((String, String, String).self) { known.insert([station, source, key]) }
        }
        var next: [SourceKey: Int64] = [:]
        let list = Array(pairs)
        let rows = try await tx.query("""
            SELECT u.station, u.source, (SELECT coalesce(max(l.source_seq), 0) FROM ledger l WHERE l.station = u.station AND l.source = u.source)
            FROM UNNEST(\(list.map(\.station))::text[], \(list.map(\.source))::text[]) AS u(station, source)
            """, logger: logger)
        for try await (station, source, seq) in rows.decode((String, String, Int64).self) { next[SourceKey(station: station, source: source)] = seq }

        var fresh: (stations: [String], sources: [String], keys: [String], seqs: [Int64]) = ([], [], [], [])
        for (i, r) in requests.enumerated() where !skip[i] {
            guard case .collected(let source, let records) = r.records else { continue }
            let pair = SourceKey(station: r.station, source: source.rawValue)
            for c in records {
                guard known.insert([r.station, source.rawValue, c.key]).inserted else {
                    out.keyDuplicates[i][c.record.kind, default: 0] += 1
                    continue
                }
                let seq = next[pair, default: 0] + 1
                next[pair] = seq
                out.records[i].append(IncomingRecord(line: c.line, raw: c.raw, source: source, sourceSeq: seq, record: c.record))
                fresh.stations.append(r.station)
                fresh.sources.append(source.rawValue)
                fresh.keys.append(c.key)
                fresh.seqs.append(seq)
            }
        }
        if !fresh.keys.isEmpty {
            try await tx.query("""
                INSERT INTO collected_keys (station, source, natural_key, source_seq)
                SELECT * FROM UNNEST(\(fresh.stations)::text[], \(fresh.sources)::text[], \(fresh.keys)::text[], \(fresh.seqs)::bigint[])
                """, logger: logger)
        }
        return out
    }
}
