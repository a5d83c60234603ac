/// What a feed (a console poller, a device listener, the station agent) hands on, and what it
/// could not use. Shared by the cloud's feeds, which append to the ledger, and the station agent,
/// which spools for upload.

/// A record a feed collected, identified by its natural key (e.g. `1/T1/2026-11-01T08:00:00Z`).
public struct CollectedRecord: Sendable {
    public var key: String
    /// Position in the feed's input (packet or reply number), for quarantine and logs.
    public var line: Int
    public var raw: String
    public var record: Record

    public init(key: String, line: Int = 0, raw: String, record: Record) {
        self.key = key
        self.line = line
        self.raw = raw
        self.record = record
    }
}

/// Input that could not be decoded or validated; it goes to quarantine with the reason.
public struct RejectedInput: Sendable {
    public var line: Int
    public var raw: String
    public var seq: Int64?
    public var reason: String

    public init(line: Int, raw: String, seq: Int64?, reason: String) {
        self.line = line
        self.raw = raw
        self.seq = seq
        self.reason = reason
    }
}
