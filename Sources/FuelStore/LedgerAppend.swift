import FuelLedger
import FuelModel
import Logging
import NIOCore
import PostgresNIO

/// The append of a batch of one station's records, step by step, all inside the caller's
/// transaction: lock the chain head, look up what is already recorded, sort the batch (new,
/// duplicate, seq conflict), chain the new records and grow the records tree, COPY the rows, move
/// the head, count the station's days, recompute tank batch mixes, quarantine the rejects and alert
/// the conflicts. Nothing is visible until the transaction commits.
extension LedgerStore {
    static func append(
        station: String, records: [IncomingRecord], rejected: [RejectedInput], suite: LedgerSuite, on tx: PostgresConnection, logger: Logger
    ) async throws -> AppendOutcome {
        let head = try await lockHead(station: station, on: tx, logger: logger)
        let bodies = records.map { CanonicalEncoding.encode(station: station, source: $0.source, sourceSeq: $0.sourceSeq, record: $0.record) }
        let contents = bodies.map { HashChain.contentHash($0, suite: suite) }
        let recorded = try await recordedContent(station: station, records: records, maxPushSeq: head.maxPushSeq, on: tx, logger: logger)
        let sorting = AppendSorting(records: records, contents: contents, recorded: recorded)

        var outcome = AppendOutcome()
        outcome.duplicates = sorting.duplicates
        outcome.duplicatesByKind = sorting.duplicatesByKind
        outcome.conflicts = sorting.conflicts.count
        outcome.headSeq = head.seq
        if !sorting.new.isEmpty {
            // The records tree grows with the chain; a station whose tree was never built gets it from the ledger now, once.
            let frontier = try await RecordsTree.frontier(station: station, headSeq: head.seq, stored: head.frontier, suite: suite, on: tx, logger: logger)
            let rows = NewRows(station: station, head: head, frontier: frontier, records: records, bodies: bodies, contents: contents, indices: sorting.new)
            try await copy(rows, on: tx, logger: logger)
            try await advanceHead(station: station, to: rows, on: tx, logger: logger)
            try await countStationDays(station: station, rows.quarterHours, on: tx, logger: logger)
            try await rollUpTankHours(station: station, rows.tankHours, on: tx, logger: logger)
            try await recomputeBatchMixes(station: station, rows.deliveredTanks, on: tx, logger: logger)
            outcome.accepted = sorting.new.count
            outcome.appendedByKind = rows.appendedByKind
            outcome.headSeq = rows.chain.headPosition
        } else if !records.isEmpty {
            // Only duplicates or conflicts: the feed is alive all the same.
            try await tx.query("UPDATE chain_heads SET last_received_at = now() WHERE station = \(station)", logger: logger)
        }

        var rejects = rejected + sorting.conflicts.map { c in
            RejectedInput(line: records[c.index].line, raw: records[c.index].raw, seq: records[c.index].sourceSeq,
                          reason: "seq: \(records[c.index].sourceSeq) is already recorded with different content (seq conflict)")
        }
        if !rejects.isEmpty {
            rejects.sort { $0.line < $1.line }
            try await QuarantineStore.insert(station: station, source: records.first?.source ?? .push, rejects, on: tx, logger: logger)
        }
        outcome.rejected = rejects
        try await alertConflicts(station: station, sorting.conflicts, records: records, contents: contents, headSeq: outcome.headSeq,
                                 on: tx, logger: logger)
        return outcome
    }

    /// The station's chain head, locked until the transaction ends: appends to one station queue here.
    struct LockedHead {
        var seq: Int64
        var hash: Digest32
        var maxPushSeq: Int64?
        var frontier: ByteBuffer?
    }

    static func lockHead(station: String, on tx: PostgresConnection, logger: Logger) async throws -> LockedHead {
        guard let row = try await tx.query(
            "SELECT head_seq, head_hash, max_push_seq, records_frontier FROM chain_heads WHERE station = \(station) FOR UPDATE", logger: logger
        ).collect().first else {
            throw StoreError.notFound("station \(station) is not in the registry")
        }
        let (seq, hash, maxPush, frontier) = try row.decode((Int64, ByteBuffer, Int64?, ByteBuffer?).self)
        return LockedHead(seq: seq, hash: Array(buffer: hash), maxPushSeq: maxPush, frontier: frontier)
    }

    /// Content hashes already recorded under the batch's source sequences, by `source/seq`. Pushed
    /// seqs above the station's highest recorded push seq cannot be recorded, so they are not looked up.
    static func recordedContent(
        station: String, records: [IncomingRecord], maxPushSeq: Int64?, on tx: PostgresConnection, logger: Logger
    ) async throws -> [String: Digest32] {
        var recorded: [String: Digest32] = [:]
        for source in Set(records.map(\.source)) {
            let seqs = records.filter { $0.source == source && (source != .push || $0.sourceSeq <= (maxPushSeq ?? -1)) }.map(\.sourceSeq)
            guard !seqs.isEmpty else { continue }
            let rows = try await tx.query(
                "SELECT source_seq, content_hash FROM ledger WHERE station = \(station) AND source = \(source.rawValue) AND source_seq = ANY(\(seqs))",
                logger: logger)
            for try await (seq, hash) in rows.decode((Int64, ByteBuffer).self) {
                recorded[AppendSorting.key(source, seq)] = Array(buffer: hash)
            }
        }
        return recorded
    }

    /// The new records chained after the head: their COPY rows and what the other steps need.
    struct NewRows {
        var chain: ChainAppender
        var frontier: MerkleFrontier
        /// Rows in PostgreSQL's COPY text format: the fastest bulk path it has, so the chain costs
        /// little more than the raw insert.
        var copy = ByteBuffer()
        var latestAt: Timestamp?
        var maxPushSeq: Int64?
        /// Appended records per quarter hour (every real UTC offset is a multiple of 15 min), turned
        /// into the station's local days by the database.
        var quarterHours: [Int64: Int64] = [:]
        /// Tanks whose batch mix a delivery changes, from the earliest such delivery on.
        var deliveredTanks: [String: Timestamp] = [:]
        /// The batch's tank readings rolled up by tank and hour (for the console's charts).
        var tankHours: [TankHour.Key: TankHour] = [:]
        var appendedByKind: [RecordKind: Int] = [:]

        init(station: String, head: LockedHead, frontier: MerkleFrontier, records: [IncomingRecord], bodies: [[UInt8]],
             contents: [Digest32], indices: [Int]) {
            chain = ChainAppender(headPosition: head.seq, headHash: head.hash, suite: frontier.suite)
            self.frontier = frontier
            maxPushSeq = head.maxPushSeq
            for i in indices {
                let r = records[i]
                let link = chain.append(body: bodies[i])
                self.frontier.append(leafData: link.hash)
                let at = r.record.at
                latestAt = max(latestAt ?? at, at)
                let us = at.microseconds
                quarterHours[(us >= 0 ? us / 900_000_000 : (us - 899_999_999) / 900_000_000) * 900, default: 0] += 1
                CopyText.row(
                    into: &copy, station: station, chainSeq: link.position, source: r.source.rawValue, sourceSeq: r.sourceSeq,
                    kind: r.record.kind.rawValue, at: at.rfc3339, body: bodies[i], contentHash: contents[i],
                    previous: link.previous, hash: link.hash)
                appendedByKind[r.record.kind, default: 0] += 1
                if case .delivery(let d) = r.record { deliveredTanks[d.tank] = min(deliveredTanks[d.tank] ?? d.startedAt, d.startedAt) }
                if case .tankReading(let t) = r.record {
                    let key = TankHour.Key(tank: t.tank, hour: (us >= 0 ? us / 3_600_000_000 : (us - 3_599_999_999) / 3_600_000_000) * 3600)
                    tankHours[key, default: TankHour()].add(t.tcVolumeL ?? t.volumeL, at: us)
                }
                if r.source == .push { maxPushSeq = max(maxPushSeq ?? r.sourceSeq, r.sourceSeq) }
            }
        }
    }

    static func copy(_ rows: NewRows, on tx: PostgresConnection, logger: Logger) async throws {
        try await tx.copyFrom(table: "ledger", columns: CopyText.ledgerColumns, logger: logger) { writer in
            try await writer.write(rows.copy)
        }
    }

    static func advanceHead(station: String, to rows: NewRows, on tx: PostgresConnection, logger: Logger) async throws {
        let headHash = ByteBuffer(bytes: rows.chain.headHash)
        let frontier = ByteBuffer(bytes: rows.frontier.bytes)
        try await tx.query("""
            UPDATE chain_heads SET head_seq = \(rows.chain.headPosition), head_hash = \(headHash), records_frontier = \(frontier),
                max_push_seq = \(rows.maxPushSeq), last_record_at = GREATEST(last_record_at, \(rows.latestAt?.date)),
                last_received_at = now()
            WHERE station = \(station)
            """, logger: logger)
    }

    /// Adds the records to the station's local days with data (the annual inspection's coverage).
    static func countStationDays(station: String, _ quarterHours: [Int64: Int64], on tx: PostgresConnection, logger: Logger) async throws {
        try await tx.query("""
            INSERT INTO station_days (station, day, records)
            SELECT \(station), (to_timestamp(q) AT TIME ZONE s.timezone)::date, sum(n)
            FROM UNNEST(\(Array(quarterHours.keys))::bigint[], \(Array(quarterHours.values))::bigint[]) AS u(q, n)
            JOIN stations s ON s.id = \(station)
            GROUP BY 2
            ON CONFLICT (station, day) DO UPDATE SET records = station_days.records + EXCLUDED.records
            """, logger: logger)
    }

    /// Merges the batch's tank-hour roll-ups into `tank_hours`.
    static func rollUpTankHours(station: String, _ hours: [TankHour.Key: TankHour], on tx: PostgresConnection, logger: Logger) async throws {
        guard !hours.isEmpty else { return }
        let keys = Array(hours.keys)
        let values = keys.map { hours[$0]! }
        try await tx.query("""
            INSERT INTO tank_hours (station, tank, hour, min_l, max_l, last_l, last_at, readings)
            SELECT \(station), u.tank, to_timestamp(u.hour), u.lo, u.hi, u.last, timestamptz 'epoch' + u.last_us * interval '1 microsecond', u.n
            FROM UNNEST(\(keys.map(\.tank))::text[], \(keys.map(\.hour))::bigint[], \(values.map(\.min))::float8[], \(values.map(\.max))::float8[],
                        \(values.map(\.last))::float8[], \(values.map(\.lastAt))::bigint[], \(values.map(\.count))::int4[])
                 AS u(tank, hour, lo, hi, last, last_us, n)
            ON CONFLICT (station, tank, hour) DO UPDATE SET
                min_l = LEAST(tank_hours.min_l, EXCLUDED.min_l), max_l = GREATEST(tank_hours.max_l, EXCLUDED.max_l),
                last_l = CASE WHEN EXCLUDED.last_at >= tank_hours.last_at THEN EXCLUDED.last_l ELSE tank_hours.last_l END,
                last_at = GREATEST(tank_hours.last_at, EXCLUDED.last_at), readings = tank_hours.readings + EXCLUDED.readings
            """, logger: logger)
    }

    /// Recomputes the batch mix of each tank a delivery reached, from that delivery on (a late
    /// delivery rewrites later periods).
    static func recomputeBatchMixes(station: String, _ tanks: [String: Timestamp], on tx: PostgresConnection, logger: Logger) async throws {
        for (tank, from) in tanks.sorted(by: { $0.key < $1.key }) {
            try await ProvenanceStore.recompute(station: station, tank: tank, from: from, on: tx, logger: logger)
        }
    }

    /// One `seq_conflict` alert per conflicting record, with both content hashes as evidence.
    static func alertConflicts(
        station: String, _ conflicts: [AppendSorting.Conflict], records: [IncomingRecord], contents: [Digest32], headSeq: Int64,
        on tx: PostgresConnection, logger: Logger
    ) async throws {
        for c in conflicts {
            let r = records[c.index]
            let signal = AlertSignal(
                rule: .seqConflict, station: station, subject: r.source.rawValue, severity: .warning, openedAt: r.record.at,
                evidence: [
                    "source_seq": .integer(r.sourceSeq),
                    "line": .integer(Int64(r.line)),
                    "recorded_content_sha256": .text(c.recorded.hexString),
                    "offered_content_sha256": .text(contents[c.index].hexString),
                ],
                seqFrom: headSeq, seqTo: headSeq)
            _ = try await AlertStore.raise(signal, on: tx, logger: logger)
        }
    }
}

/// How an append sorts a batch: records new to the ledger, duplicates of what is recorded (same
/// source sequence, same content: an idempotent no-op) and seq conflicts (same source sequence,
/// other content). A later line of the same batch is judged against an earlier one.
struct AppendSorting {
    struct Conflict {
        var index: Int
        var recorded: Digest32
    }

    /// Indices of the new records, in batch order.
    var new: [Int] = []
    var duplicates = 0
    var duplicatesByKind: [RecordKind: Int] = [:]
    var conflicts: [Conflict] = []

    static func key(_ source: RecordSource, _ seq: Int64) -> String { "\(source.rawValue)/\(seq)" }

    init(records: [IncomingRecord], contents: [Digest32], recorded: [String: Digest32]) {
        var known = recorded
        for (i, r) in records.enumerated() {
            let key = Self.key(r.source, r.sourceSeq)
            if let prior = known[key] {
                if prior == contents[i] {
                    duplicates += 1
                    duplicatesByKind[r.record.kind, default: 0] += 1
                } else {
                    conflicts.append(Conflict(index: i, recorded: prior))
                }
                continue
            }
            known[key] = contents[i]
            new.append(i)
        }
    }
}

/// One tank's readings within one hour of a batch: lowest, highest and last volume, and how many.
struct TankHour {
    struct Key: Hashable {
        var tank: String
        /// Seconds since 1970 at the hour's start.
        var hour: Int64
    }
    var min = Double.infinity
    var max = -Double.infinity
    var last = 0.0
    /// Microseconds since 1970 of the last reading.
    var lastAt = Int64.min
    var count: Int32 = 0

    mutating func add(_ litres: Double, at us: Int64) {
        min = Swift.min(min, litres)
        max = Swift.max(max, litres)
        if us >= lastAt { (last, lastAt) = (litres, us) }
        count += 1
    }
}
