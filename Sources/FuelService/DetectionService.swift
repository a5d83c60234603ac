import FuelAsync
import AsyncAlgorithms
import Foundation
import FuelDetect
import FuelModel
import Prometheus
import FuelStore
import FuelWire
import Logging
import ServiceLifecycle
import Synchronization

/// Wakes the detection loop when records were committed (a hint only: the loop also polls).
public final class DetectionSignal: Sendable {
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func notify(_ station: String) { continuation.yield(station) }
    var wakeups: AsyncStream<String> { stream }
}

/// Runs the detectors over committed ledger records: finds stations whose chain head is past
/// their detector cursor, feeds the new entries to the station's state machine, and commits the
/// alert events together with the new state and cursor. Because the cursor and state commit
/// together, a restart resumes exactly there.
public struct DetectionService: Service {
    let ledger: LedgerStore
    let store: DetectionStore
    let registry: RegistryCache
    let settings: DetectSettings
    let signal: DetectionSignal
    let metrics: FuelMetrics
    let logger: Logger
    let spacing: DetectionPassSpacing
    let states: DetectorStateCache

    public init(
        ledger: LedgerStore, store: DetectionStore, registry: RegistryCache, settings: DetectSettings,
        signal: DetectionSignal, metrics: FuelMetrics, logger: Logger
    ) {
        self.ledger = ledger
        self.store = store
        self.registry = registry
        self.settings = settings
        self.signal = signal
        self.metrics = metrics
        self.logger = logger
        self.spacing = DetectionPassSpacing(minimum: settings.stationMinPass)
        self.states = DetectorStateCache(capacity: settings.stateCacheStations)
    }

    public func run() async throws {
        let ticks = AsyncTimerSequence(interval: settings.interval, clock: .continuous).map { _ in "" }
        var lastSweep: ContinuousClock.Instant?
        for await _ in merge(ticks, signal.wakeups).cancelOnGracefulShutdown() {
            do {
                let processed = try await runOnce()
                try await sweepIfDue(last: &lastSweep)
                // Everything waiting was held back by the spacing: sleep until the first of it is due rather
                // than ask for the backlog again on each push's wake-up (wake-ups meanwhile are kept, newest one).
                if processed == 0, let due = spacing.takeSoonestHeld() {
                    try await Task.sleep(until: min(due, .now + settings.interval), clock: .continuous)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("detection pass failed", metadata: ["error": "\(describeDatabaseError(error))"])
            }
        }
    }

    /// The stale-feed sweep, at most every quarter of the threshold (and at least every minute).
    func sweepIfDue(last: inout ContinuousClock.Instant?) async throws {
        let every = min(.seconds(60), settings.staleFeedAfter / 4)
        guard last.map({ ContinuousClock.now - $0 >= every }) ?? true else { return }
        last = .now
        let (raised, cleared) = try await store.sweepStaleFeeds(after: settings.staleFeedAfter.inSeconds)
        for (id, s, isNew) in raised where isNew {
            metrics.alertRaised(rule: s.rule.rawValue)
            logger.notice("alert raised", metadata: ["id": "\(id)", "rule": "telemetry_gap", "station": "\(s.station)", "subject": "feed"])
        }
        if cleared > 0 { logger.info("stale feeds back", metadata: ["resolved": "\(cleared)"]) }
    }

    /// One pass over every station with unprocessed records. Returns the number of entries processed.
    @discardableResult
    public func runOnce() async throws -> Int {
        let backlog = try await store.backlog()
        metrics.backlog.set(Double(backlog.count))
        // Passed over now, taken on a later tick (at most `stationMinPass` after its last pass).
        let due = backlog.filter { spacing.take($0.station, pending: $0.headSeq - $0.cursor, batchSize: settings.batchSize) }
        // Stations are independent (each its own state, committed with its cursor), so up to
        // `workers` of them run at once: one at a time, a replay's catch-up used one core of two.
        var pending = due.makeIterator()
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<settings.effectiveWorkers {
                guard let item = pending.next() else { break }
                group.addTask { try await self.process(item) }
            }
            var processed = 0
            while let n = try await group.next() {
                processed += n
                if let item = pending.next() { group.addTask { try await self.process(item) } }
            }
            return processed
        }
    }

    /// Feeds one station's unprocessed records to its detectors and commits them batch by batch.
    /// Returns the number of entries processed.
    func process(_ item: DetectionBacklog) async throws -> Int {
        guard let profile = try await registry.profileReloadingIfUnknown(item.station) else { return 0 }
        var processed = 0
        var detector = try await state(of: item)
        detector.skip(to: item.cursor)
        var cursor = item.cursor
        while cursor < item.headSeq {
            let entries = try await ledger.entries(station: item.station, after: cursor, limit: settings.batchSize)
            guard let last = entries.last else { break }
            var events: [DetectorEvent] = []
            for (i, e) in entries.enumerated() {
                // Detection is CPU work between database round trips: let requests have the threads now and then.
                if i % 256 == 255 { await Task.yield() }
                let record: Record
                do {
                    record = try PushRecordCodec.decodeBody(Array(e.body.utf8))
                } catch {
                    logger.error("ledger body does not decode", metadata: ["station": "\(item.station)", "seq": "\(e.chainSeq)", "error": "\(error)"])
                    continue
                }
                let entry = LedgerEntry(station: item.station, chainSeq: e.chainSeq, source: e.source, sourceSeq: e.sourceSeq, record: record,
                                        receivedAt: e.receivedAt.map(Timestamp.init))
                events += detector.observe(entry, profile: profile, thresholds: settings.thresholds)
            }
            if detector.cursor < last.chainSeq { detector.skip(to: last.chainSeq) }
            let applied: DetectionStore.Applied
            do {
                applied = try await store.commit(detector, station: item.station, cursor: detector.cursor, previousCursor: cursor, events: events,
                                                 encoder: Self.stateEncoder(figuresAsText: settings.stateFiguresAsText))
            } catch StoreError.conflict {
                states.forget(item.station)
                break  // another replica processed this station; pick it up next pass
            }
            states.committed(detector, station: item.station, cursor: detector.cursor)
            for (id, s) in applied.raisedNew {
                metrics.alertRaised(rule: s.rule.rawValue)
                logger.notice("alert raised", metadata: [
                    "id": "\(id)", "rule": "\(s.rule.rawValue)", "station": "\(s.station)", "subject": "\(s.subject)",
                    "severity": "\(s.severity.rawValue)",
                ])
            }
            processed += entries.count
            cursor = last.chainSeq
        }
        return processed
    }

    /// How a detector state is written: its lists of figures as text, or as the JSON arrays builds
    /// before 2026-12-07 read (`detect.state_figures_as_text`).
    static func stateEncoder(figuresAsText: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        if !figuresAsText { encoder.userInfo[.figuresAsArrays] = true }
        return encoder
    }

    /// The station's detector state at the backlog's cursor: the one this daemon committed there if
    /// it still holds it, else the stored one.
    func state(of item: DetectionBacklog) async throws -> StationDetector {
        if let held = states.state(of: item.station, at: item.cursor) {
            metrics.detectorStateRead(fromMemory: true)
            return held
        }
        metrics.detectorStateRead(fromMemory: false)
        switch try await store.loadState(StationDetector.self, station: item.station) {
        case .state(let stored): return stored
        case .none: return StationDetector(station: item.station)
        case .undecodable(let reason):
            // A format change: start this station's detectors afresh from the stored cursor, and say so.
            metrics.undecodableDetectorStates.increment()
            logger.error("stored detector state does not decode; detection restarts from the cursor", metadata: [
                "station": "\(item.station)", "cursor": "\(item.cursor)", "error": "\(reason)"])
            return StationDetector(station: item.station)
        }
    }
}
