import FuelFeeds
import FuelModel
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// Where the agent's console poller hands its readings: into the spool, each once by its natural
/// key. While the spool is at its ceiling a poll's readings are not taken (the console keeps its
/// own history); the poll is counted as skipped and the poller tries again at its backoff.
/// Input the poller cannot use is kept as an event for the status page.
public struct AgentSpoolSink: FeedRecordSink {
    let spool: AgentSpool
    let clock: LocalClock
    let logger: Logger
    let wake: @Sendable () -> Void

    public init(spool: AgentSpool, timezone: String, logger: Logger, wake: @escaping @Sendable () -> Void = {}) {
        self.spool = spool
        self.clock = LocalClock(timezone: timezone)
        self.logger = logger
        self.wake = wake
    }

    public func clock(station: String) async throws -> LocalClock? { clock }

    public func deliver(station: String, source: RecordSource, _ records: [CollectedRecord], rejected: [RejectedInput]) async throws {
        let now = Date()
        let origin = records.first.map { String($0.key.prefix { $0 != "/" }) } ?? source.rawValue
        if try spool.mustPause() {
            try spool.markFull(now: now)
            try spool.set("poll:\(origin)", "\(Timestamp(now).rfc3339) skipped: spool full")
            try spool.countSkippedPoll()
            throw FeedError("spool full: \(records.count) readings not taken (the console keeps them)")
        }
        let items = records.map { AgentSpool.Item(record: $0.record, naturalKey: "\(source.rawValue):\($0.key)", origin: origin) }
        let added = try spool.append(items, now: now)
        for r in rejected { try spool.note(kind: "refused", text: "\(origin): \(r.reason)") }
        try spool.set("poll:\(origin)", "\(Timestamp(now).rfc3339) ok: \(added) new of \(records.count)")
        if added > 0 { wake() }
    }

    /// Kept in the spool's state, so a restarted agent reads the console's delivery history from
    /// the newest reading it had taken.
    public func resumePoint(console: String) async -> Timestamp? {
        (try? spool.value(Self.resumeKey(console))).flatMap { $0 }.flatMap(Timestamp.init(rfc3339:))
    }

    public func noteTaken(console: String, at: Timestamp) async {
        do { try spool.set(Self.resumeKey(console), at.rfc3339) } catch {
            logger.warning("could not keep the console's resume point", metadata: ["console": "\(console)", "error": "\(error)"])
        }
    }

    static func resumeKey(_ console: String) -> String { "atg_taken:\(console)" }

    public func quarantine(station: String?, source: RecordSource, raw: String, reason: String, line: Int) async {
        logger.warning("feed input not used", metadata: ["source": "\(source.rawValue)", "reason": "\(reason)"])
        try? spool.note(kind: "quarantine", text: "\(reason): \(raw.prefix(300))")
    }
}
