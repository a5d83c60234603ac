import FuelModel

/// Where a feed hands what it collects: the cloud daemon appends it to the station's chain
/// (`FeedSink` in FuelService), the station agent spools it for upload (`AgentSpoolSink`). The
/// feeds themselves (console poller, device listener) do not know which.
public protocol FeedRecordSink: Sendable {
    /// The station's local clock (its time zone), to read a device's local timestamps; nil when the
    /// station is not known.
    func clock(station: String) async throws -> LocalClock?
    /// Keeps `records` (each once, by its natural key) and quarantines `rejected`; throws when
    /// nothing could be kept, so the feed tries again.
    func deliver(station: String, source: RecordSource, _ records: [CollectedRecord], rejected: [RejectedInput]) async throws
    /// Keeps input that belongs to no record (a broken frame, garbage); best effort, never throws.
    func quarantine(station: String?, source: RecordSource, raw: String, reason: String, line: Int) async
    /// An error as the operator should read it in a log line.
    func describe(_ error: any Error) -> String
    /// A device said it is alive without sending records (HJ 212 CN 9015).
    func heartbeat(station: String) async throws
    /// Data time of the newest tank reading kept from `console` by an earlier run, or nil: a
    /// restarted poller reads the console's delivery history from there, so deliveries made while
    /// it was down are not seen from the readings only.
    func resumePoint(console: String) async -> Timestamp?
    /// Remembers `at` as that point for the next start (after the readings up to it are kept).
    func noteTaken(console: String, at: Timestamp) async
}

extension FeedRecordSink {
    public func describe(_ error: any Error) -> String { String(describing: error) }
    /// Nothing to keep by default (the station agent: its own uploads show the station is alive).
    public func heartbeat(station: String) async throws {}
    /// Nothing kept across starts by default (the cloud daemon: its poller reads the history after
    /// polls missed while it runs).
    public func resumePoint(console: String) async -> Timestamp? { nil }
    public func noteTaken(console: String, at: Timestamp) async {}
    /// Input outside any line of a batch (line 0).
    public func quarantine(station: String?, source: RecordSource, raw: String, reason: String) async {
        await quarantine(station: station, source: source, raw: raw, reason: reason, line: 0)
    }
}

/// A feed failure with a message for the operator.
public struct FeedError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
