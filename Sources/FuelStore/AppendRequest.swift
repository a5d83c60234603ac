import FuelLedger
import FuelModel

/// One caller's records for one station's chain: a push (records numbered by the station) or a
/// feed's collection (records numbered by the daemon, known by their natural keys). Several of
/// these may be appended in one transaction (``LedgerStore/append(_:)``, ``AppendCoalescer``); each
/// gets the outcome it would have got alone, in the order given.
public struct AppendRequest: Sendable {
    public enum Records: Sendable {
        /// Pushed records under the station's own source sequence.
        case pushed([IncomingRecord])
        /// Records a feed of the daemon collected, to be numbered with the next sequences of `source`.
        case collected(RecordSource, [CollectedRecord])
    }

    public var station: String
    public var records: Records
    /// The caller's rejections (bad lines), quarantined with the batch.
    public var rejected: [RejectedInput]
    /// Canonical bodies and content hashes of pushed records, worked out before the batch (by the
    /// caller's task, so the work spreads over the cores instead of queueing in the batch).
    var prepared: PreparedBodies?

    public init(station: String, records: Records, rejected: [RejectedInput] = []) {
        self.station = station
        self.records = records
        self.rejected = rejected
    }

    public static func push(station: String, records: [IncomingRecord], rejected: [RejectedInput] = []) -> AppendRequest {
        AppendRequest(station: station, records: .pushed(records), rejected: rejected)
    }

    /// Records in this request (before deduplication).
    public var count: Int {
        switch records {
        case .pushed(let r): r.count
        case .collected(_, let r): r.count
        }
    }

    /// Works out the canonical bodies and content hashes of pushed records now (collected records
    /// are numbered in the batch, so theirs are worked out there).
    mutating func prepare(suite: LedgerSuite) {
        guard prepared?.suite != suite, case .pushed(let records) = records else { return }
        prepared = PreparedBodies(station: station, records: records, suite: suite)
    }
}

/// The canonical bodies of a request's records and their content hashes, under one suite.
struct PreparedBodies: Sendable {
    var suite: LedgerSuite
    var bodies: [[UInt8]]
    var contents: [Digest32]

    init(station: String, records: [IncomingRecord], suite: LedgerSuite) {
        self.suite = suite
        bodies = records.map { CanonicalEncoding.encode(station: station, source: $0.source, sourceSeq: $0.sourceSeq, record: $0.record) }
        contents = bodies.map { HashChain.contentHash($0, suite: suite) }
    }
}
