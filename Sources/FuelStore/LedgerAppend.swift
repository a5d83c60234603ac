import Foundation
import FuelLedger
import FuelModel
import Logging
import NIOCore
import PostgresNIO

/// The append of a batch of requests (from one station or many), all inside the caller's
/// transaction, set-wise: one statement locks every head of the batch (in station order, so two
/// daemons never deadlock), one numbers the collected records, one looks up what is already
/// recorded, one COPY carries every new row, one moves the heads, counts the station days and rolls
/// up the tank hours, one quarantines the rejects. Requests are judged in the order given,
/// each against the ledger plus the requests before it, so each gets exactly the outcome it would
/// have got alone. Nothing is visible until the transaction commits.
extension LedgerStore {
    static func append(
        _ requests: [AppendRequest], suite: LedgerSuite, on tx: PostgresConnection, logger: Logger, profile: IngestProfile? = nil
    ) async throws -> [Result<AppendOutcome, StoreError>] {
        var lap = ContinuousClock.now
        /// Adds the time since the last lap to `stage`, for every request of the batch.
        func split(_ stage: IngestProfile.Stage) {
            guard let profile else { return }
            let now = ContinuousClock.now
            profile.add(stage, now - lap, pushes: requests.count)
            lap = now
        }
        var chains = try await lockHeads(Set(requests.map(\.station)), on: tx, logger: logger)
        var results = [Result<AppendOutcome, StoreError>?](repeating: nil, count: requests.count)
        for (i, r) in requests.enumerated() where chains[r.station] == nil {
            results[i] = .failure(.notFound("station \(r.station) is not in the registry"))
        }
        let stamp = Self.stamp(chains.values)
        let numbered = try await CollectedNumbering.number(requests, skip: results.map { $0 != nil }, stamp: stamp, on: tx, logger: logger)
        let heads = chains.mapValues(\.headSeq)
        var batch = BatchRows(suite: suite, receivedAt: stamp)
        for (i, r) in requests.enumerated() where results[i] == nil {
            let records = numbered.records[i]
            let prepared = r.prepared.flatMap { $0.suite == suite ? $0 : nil } ?? PreparedBodies(station: r.station, records: records, suite: suite)
            batch.members.append(BatchRows.Member(index: i, station: r.station, records: records, prepared: prepared, rejected: r.rejected,
                                                  keyDuplicates: numbered.keyDuplicates[i], collected: r.isCollected))
        }
        let recorded = try await recordedContent(batch.members, chains: chains, on: tx, logger: logger)
        for (name, known) in recorded.known { chains[name]?.known = known }
        for (name, archived) in recorded.archived { chains[name]?.archived = archived }
        split(.lockAndLookup)

        for member in batch.members where member.records.count > 0 && chains[member.station]!.frontier == nil {
            // The records tree grows with the chain; a station whose tree was never built gets it from the ledger
            // now, once — before the COPY starts, as the connection answers nothing else while that runs.
            var chain = chains[member.station]!
            chain.frontier = try await RecordsTree.frontier(station: member.station, headSeq: chain.headSeq, stored: chain.storedFrontier,
                                                            suite: suite, on: tx, logger: logger)
            chains[member.station] = chain
        }
        // The rows stream into one COPY as they are chained (issue 19): PostgreSQL parses and inserts the first
        // rows while the daemon hashes the rest, instead of each waiting for the other.
        var writing = Duration.zero
        nonisolated(nonsending) func chainAll(flush: (nonisolated(nonsending) (ByteBuffer) async throws -> Void)?) async throws {
            for m in batch.members.indices {
                let station = batch.members[m].station
                var chain = chains[station]!
                results[batch.members[m].index] = .success(try await batch.add(m, to: &chain, flush: flush))
                chains[station] = chain
            }
        }
        if batch.members.contains(where: { !$0.records.isEmpty }) {
            let started = ContinuousClock.now
            try await tx.copyFrom(table: "ledger", columns: CopyText.ledgerColumns, logger: logger) { writer in
                nonisolated(nonsending) func write(_ rows: ByteBuffer) async throws {
                    let t = ContinuousClock.now
                    try await writer.write(rows)
                    writing += ContinuousClock.now - t
                }
                try await chainAll(flush: write)
                if batch.copy.readableBytes > 0 { try await write(batch.copy) }
            }
            if let profile {
                // Chaining is what the daemon did between writes; the rest is the COPY's own time.
                let total = ContinuousClock.now - started
                profile.add(.chainAndCopyText, total - writing, pushes: requests.count)
                profile.add(.copy, writing, pushes: requests.count)
            }
            lap = ContinuousClock.now
        } else {
            try await chainAll(flush: nil)
            split(.chainAndCopyText)
        }
        // Where each station's new records begin: the first of them may open a period of the ledger for it.
        let firstNew = chains.values.filter { $0.headSeq > heads[$0.station]! }.map { (station: $0.station, seq: heads[$0.station]! + 1) }
        try await writeHeadsDaysAndHours(chains.values.filter(\.received), batch.quarterHours, batch.tankHours, stamp: stamp, firstNew: firstNew,
                                         on: tx, logger: logger)
        split(.auxiliary)
        for (key, from) in batch.deliveredTanks.sorted(by: { ($0.key.station, $0.key.tank) < ($1.key.station, $1.key.tank) }) {
            // Recomputes the batch mix of each tank a delivery reached, from that delivery on (a late delivery rewrites later periods).
            try await ProvenanceStore.recompute(station: key.station, tank: key.tank, from: from, on: tx, logger: logger)
        }
        split(.batchMixes)
        try await QuarantineStore.insert(batch.rejects, on: tx, logger: logger)
        for c in batch.conflicts { _ = try await AlertStore.raise(c, on: tx, logger: logger) }
        split(.auxiliary)
        return results.map { $0! }
    }

    /// One station's chain as the batch moves it: the head locked until the transaction ends
    /// (appends to one station queue here), the records tree and what is recorded under each
    /// source sequence that the batch asks about.
    struct StationChain {
        var station: String
        var headSeq: Int64
        var headHash: Digest32
        var maxPushSeq: Int64?
        var storedFrontier: ByteBuffer?
        /// Built (from the ledger, when none is stored) once a request with records reaches the station.
        var frontier: MerkleFrontier?
        /// Content hash by `source/seq`: recorded ones, then the batch's own as it goes.
        var known: [String: Digest32] = [:]
        /// Per source, the highest sequence archived (asked only when the batch resends).
        var archived: [String: Int64] = [:]
        var latestAt: Timestamp?
        /// The database clock once the head was locked, or the station's previous `received_at` if that is later.
        var stampFloor: Timestamp
        /// A valid record arrived for the station (new, duplicate or conflicting): its feed is alive.
        var received = false
    }

    /// Locks the heads of `stations`, in station order; a station without a head is missing from the answer.
    /// With each head comes the floor of its next `received_at`: the database clock, or the station's
    /// last `received_at` when that is later (the row as locked is the newest version: a head that
    /// moved while this waited is read as moved).
    static func lockHeads(_ stations: Set<String>, on tx: PostgresConnection, logger: Logger) async throws -> [String: StationChain] {
        var out: [String: StationChain] = [:]
        let rows = try await tx.query("""
            SELECT station, head_seq, head_hash, max_push_seq, records_frontier,
                   (EXTRACT(EPOCH FROM greatest(clock_timestamp(), last_received_at)) * 1000000)::int8
            FROM chain_heads
            WHERE station = ANY(\(Array(stations))::text[]) ORDER BY station COLLATE "C" FOR UPDATE
            """, logger: logger)
        for try await (station, seq, hash, maxPush, frontier, floor) in rows.decode((String, Int64, ByteBuffer, Int64?, ByteBuffer?, Int64).self) {
            out[station] = StationChain(station: station, headSeq: seq, headHash: Array(buffer: hash), maxPushSeq: maxPush, storedFrontier: frontier,
                                        stampFloor: Timestamp(microseconds: floor))
        }
        return out
    }

    /// The `received_at` of every row the batch writes: one instant, never earlier than any of its
    /// stations' previous ones (recorded as `last_received_at` under the head lock). So a station's
    /// chain never goes back in `received_at`, whatever the clock does — a month's partition holds
    /// one stretch of each chain, and `ledger_station_periods` can say which (migration 0016).
    static func stamp(_ chains: some Sequence<StationChain>) -> Timestamp {
        chains.map(\.stampFloor).max() ?? Timestamp(Date())
    }

    /// Content hashes already recorded under the batch's source sequences, by station and then
    /// `source/seq`. Pushed seqs above the station's highest recorded push seq cannot be recorded,
    /// so they are not looked up; collected records carry fresh sequences, so theirs are not either.
    /// The lookup reads every month of the ledger (a resend from long ago is still a duplicate);
    /// with it come, per station and source, the highest sequences archived.
    static func recordedContent(
        _ members: [BatchRows.Member], chains: [String: StationChain], on tx: PostgresConnection, logger: Logger
    ) async throws -> (known: [String: [String: Digest32]], archived: [String: [String: Int64]]) {
        var stations: [String] = [], sources: [String] = [], seqs: [Int64] = []
        for m in members where !m.collected {
            let ceiling = chains[m.station]?.maxPushSeq ?? -1
            for r in m.records where r.source != .push || r.sourceSeq <= ceiling {
                stations.append(m.station)
                sources.append(r.source.rawValue)
                seqs.append(r.sourceSeq)
            }
        }
        guard !seqs.isEmpty else { return ([:], [:]) }
        let asked = Array(Set(stations))
        let out = try await recorded(stations: stations, sources: sources, seqs: seqs, on: tx, logger: logger)
        var archived: [String: [String: Int64]] = [:]
        let ceilings = try await tx.query(
            "SELECT station, source, max_source_seq FROM ledger_archived_seqs WHERE station = ANY(\(asked)::text[])", logger: logger)
        for try await (station, source, seq) in ceilings.decode((String, String, Int64).self) {
            archived[station, default: [:]][source] = seq
        }
        return (out, archived)
    }

    /// The content hash recorded under each (station, source, source seq) key, by station and then
    /// "source/seq". First in the months since the start of the previous one, where a resend of what
    /// was just sent is (PostgreSQL plans and reads those months only); what is not found there, in the
    /// older months that can hold it (``OlderMonthsLookup``: a summarised month only for the seqs its
    /// ranges hold). The bounds split received time without overlap or gap, so the lookup stays exact.
    package static func recorded(
        stations: [String], sources: [String], seqs: [Int64], now: Date = Date(), on conn: PostgresConnection, logger: Logger
    ) async throws -> [String: [String: Digest32]] {
        var out: [String: [String: Digest32]] = [:]
        func read(_ keys: [Int], from: Date?, until: Date?) async throws {
            let query = dedupeQuery(stations: keys.map { stations[$0] }, sources: keys.map { sources[$0] }, seqs: keys.map { seqs[$0] },
                                    from: from, until: until)
            for try await (station, source, seq, hash) in try await conn.query(query, logger: logger).decode((String, String, Int64, ByteBuffer).self) {
                out[station, default: [:]]["\(source)/\(seq)"] = Array(buffer: hash)
            }
        }
        let recent = recentMonths(before: now)
        try await read(Array(stations.indices), from: recent, until: nil)
        let missing = stations.indices.filter { out[stations[$0]]?["\(sources[$0])/\(seqs[$0])"] == nil }
        guard !missing.isEmpty else { return out }
        let months = try await olderMonths(stations: missing.map { stations[$0] }, sources: missing.map { sources[$0] },
                                           seqs: missing.map { seqs[$0] }, recent: recent, on: conn, logger: logger)
        for stretch in OlderMonthsLookup(months: months, keyCount: missing.count).stretches {
            try await read(stretch.keys.map { missing[$0] }, from: stretch.from, until: stretch.until)
        }
        return out
    }

    /// The ledger's live months before `recent`, oldest first, each summarised one with the indices of
    /// the keys whose seq its ranges hold (migration 0018).
    static func olderMonths(
        stations: [String], sources: [String], seqs: [Int64], recent: Date, on conn: PostgresConnection, logger: Logger
    ) async throws -> [OlderMonthsLookup.Month] {
        // The keys' candidate months in one join (an index descent per key into the ranges of its
        // station and source), then every older month with its candidates.
        let rows = try await conn.query("""
            SELECT CASE WHEN p.starts_at = '-infinity' THEN NULL ELSE p.starts_at END, least(p.ends_at, \(recent)),
                   p.sources_summarised_at IS NOT NULL, coalesce(c.keys, '{}'::int8[])
            FROM ledger_periods p
            LEFT JOIN (SELECT r.period, array_agg(u.i - 1) AS keys
                       FROM UNNEST(\(stations)::text[], \(sources)::text[], \(seqs)::bigint[]) WITH ORDINALITY AS u(station, source, seq, i)
                       JOIN ledger_source_ranges r ON r.station = u.station AND r.source = u.source
                                                  AND u.seq BETWEEN r.min_seq AND r.max_seq
                       GROUP BY r.period) c ON c.period = p.name
            WHERE p.state = 'live' AND p.starts_at < \(recent)
            ORDER BY p.starts_at
            """, logger: logger)
        var out: [OlderMonthsLookup.Month] = []
        for try await (from, until, summarised, candidates) in rows.decode((Date?, Date, Bool, [Int64]).self) {
            out.append(.init(from: from, until: until, summarised: summarised, candidates: candidates.map { Int($0) }))
        }
        return out
    }

    /// The dedupe lookup's statement: what is recorded under these (station, source, source seq) keys,
    /// received in [`from`, `until`) (nil: unbounded on that side). Bounds as parameters, so that
    /// PostgreSQL plans the months they name only.
    static func dedupeQuery(stations: [String], sources: [String], seqs: [Int64], from: Date?, until: Date?) -> PostgresQuery {
        """
        SELECT l.station, l.source, l.source_seq, l.content_hash
        FROM UNNEST(\(stations)::text[], \(sources)::text[], \(seqs)::bigint[]) AS u(station, source, seq)
        JOIN ledger l ON l.station = u.station AND l.source = u.source AND l.source_seq = u.seq
        WHERE l.received_at >= \(from ?? Date.distantPast) AND l.received_at < \(until ?? Date.distantFuture)
        """
    }

    /// The start (UTC) of the month before the one `now` is in: the dedupe lookup's recent months.
    package static func recentMonths(before now: Date) -> Date {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let month = utc.date(from: utc.dateComponents([.year, .month], from: now))!
        return utc.date(byAdding: .month, value: -1, to: month)!
    }

    /// One statement for three writes (a round trip each would cost more than the writing): moves
    /// the heads of the stations that received records (a station that only got duplicates keeps
    /// its head and is only marked alive), adds the records to the stations' local days with data
    /// (the annual inspection's coverage; quarter hours, as every real UTC offset is a multiple of
    /// 15 min) and merges the batch's tank-hour roll-ups into `tank_hours` (the console's charts).
    /// Data-modifying `WITH` parts run to completion whether or not the main statement reads them.
    static func writeHeadsDaysAndHours(
        _ chains: [StationChain], _ quarterHours: [BatchRows.StationQuarter: Int64], _ hours: [TankHour.Key: TankHour],
        stamp: Timestamp, firstNew: [(station: String, seq: Int64)], on tx: PostgresConnection, logger: Logger
    ) async throws {
        guard !chains.isEmpty || !quarterHours.isEmpty || !hours.isEmpty else { return }
        let quarters = Array(quarterHours.keys)
        let hourKeys = Array(hours.keys)
        let hourValues = hourKeys.map { hours[$0]! }
        try await tx.query("""
            WITH heads AS (
                UPDATE chain_heads h SET head_seq = u.seq, head_hash = u.hash,
                    records_frontier = CASE WHEN u.frontier = ''::bytea THEN h.records_frontier ELSE u.frontier END,
                    max_push_seq = NULLIF(u.max_push, \(Int64.min)),
                    last_record_at = GREATEST(h.last_record_at, CASE WHEN u.latest_us = \(Int64.min) THEN NULL
                                                                    ELSE timestamptz 'epoch' + u.latest_us * interval '1 microsecond' END),
                    last_received_at = GREATEST(h.last_received_at, \(stamp.rfc3339)::timestamptz)
                FROM UNNEST(\(chains.map(\.station))::text[], \(chains.map(\.headSeq))::bigint[], \(chains.map { ByteBuffer(bytes: $0.headHash) })::bytea[],
                            \(chains.map { ByteBuffer(bytes: $0.frontier?.bytes ?? []) })::bytea[], \(chains.map { $0.maxPushSeq ?? .min })::bigint[],
                            \(chains.map { $0.latestAt?.microseconds ?? .min })::bigint[])
                     AS u(station, seq, hash, frontier, max_push, latest_us)
                WHERE h.station = u.station
                RETURNING 1
            ), periods AS (
                -- A station's first records in a period of the ledger: where its chain enters that period (its
                -- lowest position there, as an earlier build may have written there first) and the data times
                -- of what it received since it entered its previous one (migration 0016).
                INSERT INTO ledger_station_periods (station, starts_at, first_seq, span_min_at, span_max_at)
                SELECT c.station, c.starts_at, LEAST(c.seq, fuelwarden_ledger_first_seq(c.station, c.starts_at, c.ends_at)), t.min_at, t.max_at
                FROM (SELECT u.station, u.seq, p.starts_at, p.ends_at, fuelwarden_ledger_open(u.station) AS previous
                      FROM UNNEST(\(firstNew.map(\.station))::text[], \(firstNew.map(\.seq))::bigint[]) AS u(station, seq)
                      JOIN ledger_periods p ON p.starts_at <= \(stamp.rfc3339)::timestamptz AND p.ends_at > \(stamp.rfc3339)::timestamptz
                      OFFSET 0) c
                CROSS JOIN LATERAL fuelwarden_ledger_span_times(c.station, c.previous, c.starts_at, \(RecordKind.allCases.map(\.rawValue))::text[]) t
                WHERE c.previous < c.starts_at
                ON CONFLICT DO NOTHING
                RETURNING 1
            ), days AS (
                INSERT INTO station_days (station, day, records)
                SELECT u.station, (to_timestamp(u.q) AT TIME ZONE s.timezone)::date, sum(u.n)
                FROM UNNEST(\(quarters.map(\.station))::text[], \(quarters.map(\.quarter))::bigint[], \(quarters.map { quarterHours[$0]! })::bigint[])
                     AS u(station, q, n)
                JOIN stations s ON s.id = u.station
                GROUP BY 1, 2
                ON CONFLICT (station, day) DO UPDATE SET records = station_days.records + EXCLUDED.records
                RETURNING 1
            )
            INSERT INTO tank_hours (station, tank, hour, min_l, max_l, last_l, last_at, readings)
            SELECT u.station, u.tank, to_timestamp(u.hour), u.lo, u.hi, u.last, timestamptz 'epoch' + u.last_us * interval '1 microsecond', u.n
            FROM UNNEST(\(hourKeys.map(\.station))::text[], \(hourKeys.map(\.tank))::text[], \(hourKeys.map(\.hour))::bigint[],
                        \(hourValues.map(\.min))::float8[], \(hourValues.map(\.max))::float8[], \(hourValues.map(\.last))::float8[],
                        \(hourValues.map(\.lastAt))::bigint[], \(hourValues.map(\.count))::int4[])
                 AS u(station, tank, hour, lo, hi, last, last_us, n)
            ON CONFLICT (station, tank, hour) DO UPDATE SET
                min_l = LEAST(tank_hours.min_l, EXCLUDED.min_l), max_l = GREATEST(tank_hours.max_l, EXCLUDED.max_l),
                last_l = CASE WHEN EXCLUDED.last_at >= tank_hours.last_at THEN EXCLUDED.last_l ELSE tank_hours.last_l END,
                last_at = GREATEST(tank_hours.last_at, EXCLUDED.last_at), readings = tank_hours.readings + EXCLUDED.readings
            """, logger: logger)
    }
}

extension AppendRequest {
    var isCollected: Bool {
        if case .collected = records { return true }
        return false
    }
}
