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
}

extension FeedRecordSink {
    public func describe(_ error: any Error) -> String { String(describing: error) }
}

/// A feed failure with a message for the operator.
public struct FeedError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
