import Synchronization

/// Where the time of pushes goes, stage by stage, summed over every push (`bench ingest
/// --profile`). Stages overlap in time across pushes (many are in flight), so the sums are
/// time spent waiting or working per record, not CPU: they say which stage to work on next.
public final class IngestProfile: Sendable {
    public enum Stage: Int, CaseIterable, Sendable {
        /// The handler receiving the request body.
        case httpBody
        /// JSON lines decoded into records.
        case parse
        /// Records checked against the station's registry entry.
        case validate
        /// Canonical bodies and content hashes.
        case canonicalAndHash
        /// Waiting for a batch to take the push.
        case queue
        /// Leasing a connection and BEGIN.
        case begin
        /// Locking the heads, numbering collected records, looking up recorded seqs.
        case lockAndLookup
        /// The COPY of the new rows.
        case copy
        /// Heads, station days, tank hours, quarantine and alerts.
        case auxiliary
        /// Tank batch mixes recomputed after deliveries.
        case batchMixes
        /// Chain links, records tree and COPY text, worked out in the batch.
        case chainAndCopyText
        /// COMMIT, which waits for the write-ahead log to reach the disk.
        case commit
        /// From the commit to the handler's answer (verdict, metrics).
        case answer

        public var label: String {
            switch self {
            case .httpBody: "HTTP body"
            case .parse: "parse JSON lines"
            case .validate: "validate"
            case .canonicalAndHash: "canonical body + content hash"
            case .queue: "wait for a batch"
            case .begin: "connection + BEGIN"
            case .lockAndLookup: "lock heads + look up seqs"
            case .copy: "COPY rows"
            case .auxiliary: "heads, days, tank hours, quarantine"
            case .batchMixes: "batch mixes after deliveries"
            case .chainAndCopyText: "chain links + COPY text"
            case .commit: "COMMIT (fsync)"
            case .answer: "answer"
            }
        }
    }

    /// Per push: the stages' time is counted once per push, and a batch's stages once per push in it.
    private let sums = Mutex([Int64](repeating: 0, count: Stage.allCases.count))
    private let counts = Mutex((pushes: 0, records: 0, batches: 0))

    public init() {}

    /// Adds `duration` to `stage` for each of `pushes` pushes (a batch's stage is every member's wait).
    public func add(_ stage: Stage, _ duration: Duration, pushes: Int = 1) {
        let ns = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        sums.withLock { $0[stage.rawValue] += ns * Int64(pushes) }
    }

    public func countPush(records: Int) { counts.withLock { $0.pushes += 1; $0.records += records } }
    public func countBatch() { counts.withLock { $0.batches += 1 } }

    /// Time per record of each stage, in microseconds, with the pushes and records counted.
    public var perRecord: (stages: [(Stage, Double)], pushes: Int, records: Int, batches: Int) {
        let s = sums.withLock { $0 }
        let c = counts.withLock { $0 }
        let records = Double(max(1, c.records))
        return (Stage.allCases.map { ($0, Double(s[$0.rawValue]) / 1_000 / records) }, c.pushes, c.records, c.batches)
    }
}

extension Optional where Wrapped == IngestProfile {
    /// Times `body` into `stage` when profiling.
    @inlinable
    public func time<T, E: Error>(_ stage: IngestProfile.Stage, pushes: Int = 1, _ body: () throws(E) -> T) throws(E) -> T {
        guard let profile = self else { return try body() }
        let t = ContinuousClock.now
        defer { profile.add(stage, ContinuousClock.now - t, pushes: pushes) }
        return try body()
    }
}
