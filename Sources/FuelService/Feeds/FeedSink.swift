import FuelDetect
import FuelFeeds
import FuelModel
import FuelStore
import FuelWire
import Logging

/// Where the device feeds put what they collect: records are validated against the station's
/// registry entry like pushed ones, appended to its chain (numbered by the daemon, deduplicated by
/// natural key), counted, and handed to detection; anything refused is quarantined with the reason.
public struct FeedSink: FeedRecordSink {
    let appends: AppendCoalescer
    let registry: RegistryCache
    let metrics: FuelMetrics
    let detection: DetectionSignal
    let logger: Logger

    public init(appends: AppendCoalescer, registry: RegistryCache, metrics: FuelMetrics, detection: DetectionSignal, logger: Logger) {
        self.appends = appends
        self.registry = registry
        self.metrics = metrics
        self.detection = detection
        self.logger = logger
    }

    /// The station's registry entry (reloading the registry once if it is not known yet).
    func profile(_ station: String) async throws -> StationProfile? {
        try await registry.profileReloadingIfUnknown(station)
    }

    /// Validates and appends; returns what was committed. Throws only when nothing could be committed.
    @discardableResult
    func collect(station: String, source: RecordSource, _ records: [CollectedRecord], rejected: [RejectedInput] = []) async throws -> AppendOutcome {
        guard let profile = try await profile(station) else { throw StoreError.notFound("station \(station) is not in the registry") }
        var good: [CollectedRecord] = []
        var bad = rejected
        for r in records {
            do {
                try RecordValidator.validate(r.record, station: profile.station)
                good.append(r)
            } catch {
                bad.append(RejectedInput(line: r.line, raw: r.raw, seq: nil, reason: "\(error)"))
            }
        }
        appends.profile?.countPush(records: records.count + rejected.count)
        let outcome = try await appends.appendCollected(station: station, source: source, records: good, rejected: bad)
        for (kind, n) in outcome.appendedByKind { metrics.count(kind: kind.rawValue, verdict: "accepted", n) }
        for (kind, n) in outcome.duplicatesByKind { metrics.count(kind: kind.rawValue, verdict: "duplicate", n) }
        metrics.count(kind: "unknown", verdict: "rejected", outcome.rejected.count)
        if outcome.accepted > 0 { detection.notify(station) }
        if let first = outcome.rejected.first {
            logger.info("feed input rejected", metadata: [
                "station": "\(station)", "source": "\(source.rawValue)", "rejected": "\(outcome.rejected.count)", "first": "\(first.reason)",
            ])
        }
        return outcome
    }

    public func clock(station: String) async throws -> LocalClock? {
        try await profile(station)?.clock
    }

    public func deliver(station: String, source: RecordSource, _ records: [CollectedRecord], rejected: [RejectedInput]) async throws {
        try await collect(station: station, source: source, records, rejected: rejected)
    }

    public func describe(_ error: any Error) -> String { describeDatabaseError(error) }

    /// A device said it is alive without sending records (HJ 212 CN 9015): the station's feed is not stale.
    public func heartbeat(station: String) async throws {
        try await appends.ledger.markAlive(station: station)
    }

    /// Keeps input that belongs to no station's chain (unknown device, broken frame). Best effort:
    /// a database outage is logged, not thrown, so the feed keeps serving.
    public func quarantine(station: String?, source: RecordSource, raw: String, reason: String, line: Int = 0) async {
        metrics.count(kind: "unknown", verdict: "rejected", 1)
        do {
            try await QuarantineStore.record(appends.ledger.database, station: station, source: source, [RejectedInput(line: line, raw: raw, seq: nil, reason: reason)])
        } catch {
            logger.warning("could not quarantine feed input", metadata: [
                "source": "\(source.rawValue)", "reason": "\(reason)", "error": "\(describeDatabaseError(error))",
            ])
        }
    }
}
