import FuelLedger
import FuelModel
import NIOCore

/// What one append transaction writes, gathered request by request: the COPY rows of every new
/// record, and the auxiliary writes keyed so that each becomes one statement for the whole batch.
struct BatchRows {
    /// One request's records as the batch sees them: numbered, with bodies and content hashes.
    struct Member {
        /// Position in the caller's list of requests.
        var index: Int
        var station: String
        var records: [IncomingRecord]
        var prepared: PreparedBodies
        var rejected: [RejectedInput]
        /// Collected records whose natural key was already recorded, by kind.
        var keyDuplicates: [RecordKind: Int]
        var collected: Bool
    }

    struct StationQuarter: Hashable {
        var station: String
        /// Seconds since 1970 at the quarter hour's start (every real UTC offset is a multiple of
        /// 15 min, so the database turns these into the station's local days).
        var quarter: Int64
    }

    struct StationTank: Hashable {
        var station: String
        var tank: String
    }

    let suite: LedgerSuite
    /// The `received_at` of every row of the batch (`LedgerStore.stamp`), as COPY reads it.
    let receivedAt: String
    var members: [Member] = []
    /// Rows in PostgreSQL's COPY text format: the fastest bulk path it has, so the chain costs
    /// little more than the raw insert.
    var copy = ByteBuffer()
    var quarterHours: [StationQuarter: Int64] = [:]
    /// Tanks whose batch mix a delivery changes, from the earliest such delivery on.
    var deliveredTanks: [StationTank: Timestamp] = [:]
    /// The batch's tank readings rolled up by station, tank and hour (for the console's charts).
    var tankHours: [TankHour.Key: TankHour] = [:]
    var rejects: [QuarantineStore.Row] = []
    var conflicts: [AlertSignal] = []

    private static let allKinds = RecordKind.allCases

    init(suite: LedgerSuite, receivedAt: Timestamp) {
        self.suite = suite
        self.receivedAt = receivedAt.rfc3339
    }

    /// COPY text handed to `flush` in pieces of about this many bytes (a few hundred rows).
    static let flushBytes = 128 * 1024

    /// Judges member `m` against `chain` (the ledger plus the batch so far), chains its new records
    /// and adds their rows; returns the member's outcome. With `flush`, the rows written so far are
    /// handed over (and taken out of ``copy``) whenever they pass ``flushBytes``: the append streams
    /// them into its COPY, so PostgreSQL inserts while the daemon chains the rest.
    nonisolated(nonsending) mutating func add(
        _ m: Int, to chain: inout LedgerStore.StationChain, flush: (nonisolated(nonsending) (ByteBuffer) async throws -> Void)? = nil
    ) async throws -> AppendOutcome {
        let member = members[m]
        let records = member.records, contents = member.prepared.contents
        let sorting = AppendSorting(records: records, contents: contents, known: &chain.known, archived: chain.archived)
        var outcome = AppendOutcome()
        outcome.duplicates = sorting.duplicates + member.keyDuplicates.values.reduce(0, +)
        outcome.duplicatesByKind = sorting.duplicatesByKind.merging(member.keyDuplicates, uniquingKeysWith: +)
        outcome.conflicts = sorting.conflicts.count
        if !records.isEmpty || !member.keyDuplicates.isEmpty { chain.received = true }

        if !sorting.new.isEmpty {
            var appender = ChainAppender(headPosition: chain.headSeq, headHash: chain.headHash, suite: suite)
            // Counted by the member's own keys (no station string hashed per record), merged below.
            var quarters: [Int64: Int64] = [:]
            var kinds = [Int](repeating: 0, count: Self.allKinds.count)
            var scratch: [UInt8] = []
            scratch.reserveCapacity(32)
            for i in sorting.new {
                let r = records[i]
                let link = appender.append(body: member.prepared.bodies[i])
                chain.frontier!.append(leafData: link.hash)
                let at = r.record.at
                chain.latestAt = max(chain.latestAt ?? at, at)
                let us = at.microseconds
                quarters[us.floorDivided(by: 900_000_000) * 900, default: 0] += 1
                CopyText.row(
                    into: &copy, station: member.station, chainSeq: link.position, source: r.source.rawValue, sourceSeq: r.sourceSeq,
                    kind: r.record.kind.rawValue, at: at, body: member.prepared.bodies[i], contentHash: contents[i],
                    previous: link.previous, hash: link.hash, receivedAt: receivedAt, scratch: &scratch)
                kinds[Self.allKinds.firstIndex(of: r.record.kind)!] += 1
                switch r.record {
                case .delivery(let d):
                    let key = StationTank(station: member.station, tank: d.tank)
                    deliveredTanks[key] = min(deliveredTanks[key] ?? d.startedAt, d.startedAt)
                case .tankReading(let t):
                    let key = TankHour.Key(station: member.station, tank: t.tank, hour: us.floorDivided(by: 3_600_000_000) * 3600)
                    tankHours[key, default: TankHour()].add(t.tcVolumeL ?? t.volumeL, at: us)
                default: break
                }
                if r.source == .push { chain.maxPushSeq = max(chain.maxPushSeq ?? r.sourceSeq, r.sourceSeq) }
                if let flush, copy.readableBytes >= Self.flushBytes {
                    let rows = copy
                    copy = ByteBuffer()
                    try await flush(rows)
                }
            }
            chain.headSeq = appender.headPosition
            chain.headHash = appender.headHash
            outcome.accepted = sorting.new.count
            for (quarter, n) in quarters { quarterHours[StationQuarter(station: member.station, quarter: quarter), default: 0] += n }
            for (k, n) in zip(Self.allKinds, kinds) where n > 0 { outcome.appendedByKind[k, default: 0] += n }
        }
        outcome.headSeq = chain.headSeq

        var rejected = member.rejected + sorting.conflicts.map { c in
            RejectedInput(line: records[c.index].line, raw: records[c.index].raw, seq: records[c.index].sourceSeq,
                          reason: "seq: \(records[c.index].sourceSeq) is already recorded with different content (seq conflict)")
        } + sorting.archived.map { i in
            RejectedInput(line: records[i].line, raw: records[i].raw, seq: records[i].sourceSeq,
                          reason: "seq: \(records[i].sourceSeq) falls in an archived period of the ledger (\(records[i].source.rawValue) records archived up to seq \(chain.archived[records[i].source.rawValue] ?? 0)); refused so that it is never recorded twice")
        }
        rejected.sort { $0.line < $1.line }
        let source: RecordSource = records.first?.source ?? .push
        rejects += rejected.map { QuarantineStore.Row(station: member.station, source: source, input: $0) }
        outcome.rejected = rejected
        // One `seq_conflict` alert per conflicting record, with both content hashes as evidence.
        conflicts += sorting.conflicts.map { c in
            let r = records[c.index]
            return AlertSignal(
                rule: .seqConflict, station: member.station, subject: r.source.rawValue, severity: .warning, openedAt: r.record.at,
                evidence: [
                    "source_seq": .integer(r.sourceSeq),
                    "line": .integer(Int64(r.line)),
                    "recorded_content_sha256": .text(c.recorded.hexString),
                    "offered_content_sha256": .text(contents[c.index].hexString),
                ],
                seqFrom: chain.headSeq, seqTo: chain.headSeq)
        }
        return outcome
    }
}

/// How an append sorts a request: records new to the ledger, duplicates of what is recorded (same
/// source sequence, same content: an idempotent no-op) and seq conflicts (same source sequence,
/// other content). A later line is judged against an earlier one, of the same request or of an
/// earlier request in the batch.
struct AppendSorting {
    struct Conflict {
        var index: Int
        var recorded: Digest32
    }

    /// Indices of the new records, in request order.
    var new: [Int] = []
    var duplicates = 0
    var duplicatesByKind: [RecordKind: Int] = [:]
    var conflicts: [Conflict] = []
    /// Indices of records not found in the ledger under a sequence whose period is archived: they
    /// may be recorded in the archive, so they are refused rather than appended a second time.
    var archived: [Int] = []

    static func key(_ source: RecordSource, _ seq: Int64) -> String { "\(source.rawValue)/\(seq)" }

    /// `known` holds the content recorded under each `source/seq`; the new records are added to it.
    /// `archived`: per source, the highest sequence archived.
    init(records: [IncomingRecord], contents: [Digest32], known: inout [String: Digest32], archived: [String: Int64] = [:]) {
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
            if let ceiling = archived[r.source.rawValue], r.sourceSeq <= ceiling {
                self.archived.append(i)
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
        var station: String
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

extension Int64 {
    /// Division rounding toward negative infinity (a time before 1970 belongs to the earlier quarter or hour).
    func floorDivided(by d: Int64) -> Int64 { self >= 0 ? self / d : (self - (d - 1)) / d }
}
