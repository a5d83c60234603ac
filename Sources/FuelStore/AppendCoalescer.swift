import DequeModule
import FuelModel
import Logging
import Synchronization

/// Appends that arrive together share one transaction and one commit (group commit).
///
/// Every request waits in a queue; a batch takes the requests waiting, in arrival order, up to
/// ``Settings/maxRecords`` records, once they hold that many or the oldest has waited
/// ``Settings/maxWait``, and appends them with ``LedgerStore/append(_:)``. Each caller is answered
/// after that commit with its own outcome, exactly the one it would have got alone. At most
/// ``Settings/transactions`` batches are in flight; a station with a request in flight is not
/// taken into another batch until that one ends, so a station's requests commit in arrival order.
/// A database error answers every request of its batch with that error and commits none of them.
///
/// There is no service to run: the request that finds a free transaction slot starts a drain
/// task, which takes batches until the queue is empty. A caller cancelled while queued leaves
/// the queue (nothing of it is appended); once its batch has started, its outcome stands.
///
/// Each request keeps the database's request deadline, and is answered 503 (``StoreError/unavailable(_:)``)
/// at once while the health probe says the database is down, as a lone transaction is. One
/// watcher task checks the deadlines of everything open every 100 ms, rather than a timer per
/// request: at thousands of pushes a second, per-request timers cost more than the append.
public final class AppendCoalescer: Sendable {
    public struct Settings: Sendable, Equatable {
        /// A batch closes once it holds this many records (a larger request goes alone).
        public var maxRecords: Int
        /// … or once its oldest request has waited this long. Zero: a free slot takes what is waiting at once.
        public var maxWait: Duration
        /// Batches in flight at once, each on its own connection.
        public var transactions: Int

        public init(maxRecords: Int = 5_000, maxWait: Duration = .milliseconds(2), transactions: Int = 2) {
            self.maxRecords = max(1, maxRecords)
            self.maxWait = max(.zero, maxWait)
            self.transactions = max(1, transactions)
        }
    }

    /// How the batches went, for metrics and benchmarks.
    public struct Statistics: Sendable, Equatable {
        /// Requests queued so far.
        public var submitted = 0
        public var batches = 0
        public var requests = 0
        public var records = 0
        public var failedBatches = 0
        /// Requests answered 503 because their deadline passed or the database went down while they waited.
        public var expired = 0

        public init() {}
    }

    private struct Waiting {
        var id: UInt64
        var request: AppendRequest
        var since: ContinuousClock.Instant
    }

    private struct Open {
        var continuation: CheckedContinuation<AppendOutcome, any Error>
        var deadline: ContinuousClock.Instant
    }

    private struct State {
        var queue = Deque<Waiting>()
        var queuedRecords = 0
        /// Every caller not answered yet (queued or in a batch), by id; ids rise with the deadlines.
        var open: [UInt64: Open] = [:]
        var openOrder = Deque<UInt64>()
        var drains = 0
        var watching = false
        /// Stations with a request in a batch in flight.
        var busy = Set<String>()
        var nextID: UInt64 = 0
        var statistics = Statistics()

        mutating func close(_ id: UInt64) -> CheckedContinuation<AppendOutcome, any Error>? {
            open.removeValue(forKey: id)?.continuation
        }
    }

    public let ledger: LedgerStore
    public let settings: Settings
    /// Where the time goes, when profiling (`bench ingest --profile`).
    public let profile: IngestProfile?
    private let state = Mutex(State())
    private let logger: Logger

    public init(ledger: LedgerStore, settings: Settings = Settings(), profile: IngestProfile? = nil, logger: Logger) {
        self.ledger = ledger
        self.settings = settings
        self.profile = profile
        self.logger = logger
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }
    /// Requests queued and not yet taken into a batch.
    public var waitingRequests: Int { state.withLock { $0.queue.count } }

    /// Appends `request` in the next batch and returns its outcome once that batch has committed.
    public func append(_ request: AppendRequest) async throws -> AppendOutcome {
        let database = ledger.database
        if let down = database.health.unavailableError() { throw down }
        var request = request
        let suite = try await database.ledgerSuite()
        profile.time(.canonicalAndHash) { request.prepare(suite: suite) }
        let deadline = ContinuousClock.now + database.requestDeadline
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AppendOutcome, any Error>) in
                let (startDrain, startWatch) = state.withLock { s -> (Bool, Bool) in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return (false, false)
                    }
                    s.queue.append(Waiting(id: id, request: request, since: .now))
                    s.open[id] = Open(continuation: continuation, deadline: deadline)
                    s.openOrder.append(id)
                    s.statistics.submitted += 1
                    s.queuedRecords += request.count
                    let watch = !s.watching
                    s.watching = true
                    guard s.drains < settings.transactions else { return (false, watch) }
                    s.drains += 1
                    return (true, watch)
                }
                if startWatch { Task { await self.watch() } }
                if startDrain { Task { await self.drain() } }
            }
        } onCancel: {
            let removed = state.withLock { s -> CheckedContinuation<AppendOutcome, any Error>? in
                guard let i = s.queue.firstIndex(where: { $0.id == id }) else { return nil }
                let w = s.queue.remove(at: i)
                s.queuedRecords -= w.request.count
                return s.close(id)
            }
            removed?.resume(throwing: CancellationError())
        }
    }

    /// Appends `station`'s pushed records in the next batch.
    public func append(station: String, records: [IncomingRecord], rejected: [RejectedInput]) async throws -> AppendOutcome {
        try await append(.push(station: station, records: records, rejected: rejected))
    }

    /// Appends records a feed collected in the next batch.
    public func appendCollected(station: String, source: RecordSource, records: [CollectedRecord], rejected: [RejectedInput]) async throws -> AppendOutcome {
        try await append(AppendRequest(station: station, records: .collected(source, records), rejected: rejected))
    }

    private enum Step {
        case run([Waiting])
        case wait(Duration)
        case stop
    }

    /// Takes batches while requests wait; ends when none is left for it.
    private func drain() async {
        while true {
            switch state.withLock({ take(&$0) }) {
            case .stop: return
            case .wait(let d): try? await Task.sleep(for: d)
            case .run(let batch): await run(batch)
            }
        }
    }

    private func take(_ s: inout State) -> Step {
        guard let oldest = s.queue.first else {
            s.drains -= 1
            return .stop
        }
        let waited = ContinuousClock.now - oldest.since
        if s.queuedRecords < settings.maxRecords && waited < settings.maxWait { return .wait(settings.maxWait - waited) }
        var batch: [Waiting] = [], records = 0, held = Set<String>(), kept = Deque<Waiting>()
        while let w = s.queue.popFirst() {
            // A station waiting behind a request in flight (or behind one left here) waits on, to keep its order.
            if s.busy.contains(w.request.station) || held.contains(w.request.station)
                || (!batch.isEmpty && records + w.request.count > settings.maxRecords) {
                held.insert(w.request.station)
                kept.append(w)
                continue
            }
            batch.append(w)
            records += w.request.count
        }
        s.queue = kept
        guard !batch.isEmpty else {
            // Everything waiting is behind batches in flight; they drain it when they end.
            s.drains -= 1
            return .stop
        }
        s.queuedRecords -= records
        for w in batch { s.busy.insert(w.request.station) }
        return .run(batch)
    }

    private func run(_ batch: [Waiting]) async {
        let outcome: Result<[Result<AppendOutcome, StoreError>], any Error>
        if let profile {
            let now = ContinuousClock.now
            for w in batch { profile.add(.queue, now - w.since) }
            profile.countBatch()
        }
        do {
            outcome = .success(try await ledger.append(batch.map(\.request), profile: profile))
        } catch {
            outcome = .failure(error)
        }
        // Callers whose deadline passed meanwhile were answered already: theirs are not resumed twice.
        let answers = state.withLock { s in
            for w in batch { s.busy.remove(w.request.station) }
            s.statistics.batches += 1
            s.statistics.requests += batch.count
            s.statistics.records += batch.reduce(0) { $0 + $1.request.count }
            if case .failure = outcome { s.statistics.failedBatches += 1 }
            return batch.map { s.close($0.id) }
        }
        switch outcome {
        case .success(let results):
            for (c, r) in zip(answers, results) { c?.resume(with: r.mapError { $0 as any Error }) }
        case .failure(let error):
            if batch.count > 1 {
                logger.debug("coalesced append failed", metadata: ["requests": "\(batch.count)", "error": "\(describeDatabaseError(error))"])
            }
            for c in answers { c?.resume(throwing: error) }
        }
    }

    /// Answers callers past their deadline (or all of them while the database is down) with 503;
    /// runs while any caller is open. A queued caller answered so leaves the queue; one whose
    /// batch is in flight is answered now and its batch's outcome for it is dropped (as a lone
    /// transaction past its deadline is left to finish on its own).
    private func watch() async {
        let database = ledger.database
        while true {
            try? await Task.sleep(for: .milliseconds(100))
            let down = database.health.unavailableError()
            let now = ContinuousClock.now
            let (expired, stop) = state.withLock { s -> ([(CheckedContinuation<AppendOutcome, any Error>, any Error)], Bool) in
                var out: [(CheckedContinuation<AppendOutcome, any Error>, any Error)] = []
                var gone = Set<UInt64>()
                while let id = s.openOrder.first {
                    guard let o = s.open[id] else {
                        s.openOrder.removeFirst()
                        continue
                    }
                    guard down != nil || o.deadline <= now else { break }
                    s.openOrder.removeFirst()
                    s.open[id] = nil
                    gone.insert(id)
                    out.append((o.continuation, down ?? StoreError.unavailable("append took longer than \(database.requestDeadline.inSeconds) s")))
                }
                if !gone.isEmpty {
                    let leaving = s.queue.filter { gone.contains($0.id) }.reduce(0) { $0 + $1.request.count }
                    s.queue.removeAll { gone.contains($0.id) }
                    s.queuedRecords -= leaving
                    s.statistics.expired += gone.count
                }
                guard s.open.isEmpty else { return (out, false) }
                s.openOrder.removeAll()
                s.watching = false
                return (out, true)
            }
            for (c, e) in expired { c.resume(throwing: e) }
            if stop { return }
        }
    }
}
