#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FuelModel

/// The agent's condition as `fuelwarden agent status` and `GET /status` show it.
public struct AgentStatus: Codable, Sendable {
    public struct Source: Codable, Sendable, Hashable {
        public var name: String
        /// The last poll or scan and its outcome.
        public var last: String
    }

    public struct Event: Codable, Sendable, Hashable {
        public var at: Date
        public var kind: String
        public var text: String
    }

    public var spooledRecords: Int64 = 0
    public var oldestAgeSeconds: Double?
    public var spoolBytes: Int64 = 0
    public var spoolMaxBytes: Int64 = 0
    public var nextSeq: Int64?
    public var acknowledgedSeq: Int64?
    public var acceptedTotal: Int64 = 0
    public var duplicateTotal: Int64 = 0
    public var rejectedTotal: Int64 = 0
    /// Since when the spool is at its ceiling (sources paused), nil when it is not.
    public var fullSince: Date?
    public var fullSecondsTotal: Int64 = 0
    /// Polls not taken because the spool was full (the console keeps its own history).
    public var skippedPollsWhileFull: Int64 = 0
    public var lastUpload: String?
    /// The cloud's clock minus ours, from its `Date` header.
    public var clockOffsetSeconds: Double?
    /// Why uploading is stopped (a 4xx other than 408/429), nil while it works.
    public var uploadBlocked: String?
    public var sources: [Source] = []
    public var filesWaiting: Int64 = 0
    public var filesDone: Int64 = 0
    public var recentEvents: [Event] = []

    enum CodingKeys: String, CodingKey {
        case spooledRecords = "spooled_records", oldestAgeSeconds = "oldest_age_seconds", spoolBytes = "spool_bytes"
        case spoolMaxBytes = "spool_max_bytes", nextSeq = "next_seq", acknowledgedSeq = "acknowledged_seq"
        case acceptedTotal = "accepted_total", duplicateTotal = "duplicate_total", rejectedTotal = "rejected_total"
        case fullSince = "full_since", fullSecondsTotal = "full_seconds_total", skippedPollsWhileFull = "skipped_polls_while_full"
        case lastUpload = "last_upload", clockOffsetSeconds = "clock_offset_seconds", uploadBlocked = "upload_blocked"
        case sources, filesWaiting = "files_waiting", filesDone = "files_done", recentEvents = "recent_events"
    }

    /// Text for the operator (`fuelwarden agent status`).
    public var text: String {
        var t = "spool: \(spooledRecords) records, \(spoolBytes / 1024) KiB of \(spoolMaxBytes / 1024) KiB"
        if let age = oldestAgeSeconds { t += ", oldest \(PlainFormat.fixed(age, decimals: 0)) s old" }
        t += "\nseq: next \(nextSeq.map(String.init) ?? "-"), acknowledged through \(acknowledgedSeq.map(String.init) ?? "-")"
        t += "\ncloud: \(acceptedTotal) accepted, \(duplicateTotal) duplicates, \(rejectedTotal) refused; last upload \(lastUpload ?? "never")"
        if let off = clockOffsetSeconds { t += "; clock offset \(PlainFormat.fixed(off, decimals: 1, plusSign: true)) s" }
        if let b = uploadBlocked { t += "\nUPLOAD STOPPED: \(b)" }
        if let since = fullSince { t += "\nSPOOL FULL since \(since) (sources paused, drop files wait)" }
        t += "\nfull for \(fullSecondsTotal) s in all; \(skippedPollsWhileFull) polls skipped while full"
        t += "\ndrop files: \(filesWaiting) waiting for acknowledgement, \(filesDone) done"
        for s in sources { t += "\nsource \(s.name): \(s.last)" }
        for e in recentEvents.prefix(10) { t += "\n\(e.at) \(e.kind): \(e.text)" }
        return t
    }
}
