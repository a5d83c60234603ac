import FuelModel

/// Missing push sequence numbers: records a station numbered but never delivered. Gaps are kept as
/// ranges; one still open `seqGapGraceSeconds` of data time after it appeared is flagged, and the
/// alert clears when the missing records arrive.
struct SeqGapRule: Hashable, Sendable, Codable {
    var highest: Int64?
    /// Disjoint, sorted missing ranges (inclusive).
    var missing: [[Int64]] = []
    var gapSince: Timestamp?
    var raised = false
    /// Missing count last reported, so a steady gap is one alert update, not one per record.
    var reportedCount: Int64 = 0

    var missingCount: Int64 { missing.reduce(0) { $0 + $1[1] - $1[0] + 1 } }

    mutating func observe(seq: Int64, at: Timestamp, chainSeq: Int64, profile: StationProfile, thresholds: DetectionThresholds, emit: inout [DetectorEvent]) {
        if let h = highest {
            if seq > h + 1 {
                missing.append([h + 1, seq - 1])
                if missing.count > thresholds.seqGapMaxTracked { missing.removeFirst(missing.count - thresholds.seqGapMaxTracked) }
            } else if seq <= h {
                fill(seq)
            }
            highest = max(h, seq)
        } else {
            highest = seq
        }
        let fp = AlertSignal.fingerprint(rule: .seqGap, station: profile.station.id, subject: "push")
        if missing.isEmpty {
            gapSince = nil
            if raised {
                raised = false
                emit.append(.clear(fingerprint: fp, at: at, reason: "missing records arrived"))
            }
            return
        }
        let since = gapSince ?? at
        gapSince = since
        if since.seconds(to: at) >= thresholds.seqGapGraceSeconds || raised {
            let firstRanges = missing.prefix(5).map { $0[0] == $0[1] ? "\($0[0])" : "\($0[0])-\($0[1])" }.joined(separator: ",")
            let count = missingCount
            if !raised || count != reportedCount {
                raised = true
                reportedCount = count
                emit.append(.raise(AlertSignal(
                    rule: .seqGap, station: profile.station.id, subject: "push", severity: .warning, openedAt: at,
                    evidence: [
                        "missing_count": .integer(count),
                        "missing": .text(firstRanges),
                        "highest_seq": .integer(highest ?? seq),
                    ],
                    seqFrom: chainSeq, seqTo: chainSeq)))
            }
        }
    }

    private mutating func fill(_ seq: Int64) {
        guard let i = missing.firstIndex(where: { $0[0] <= seq && seq <= $0[1] }) else { return }
        let r = missing[i]
        var replacement: [[Int64]] = []
        if r[0] < seq { replacement.append([r[0], seq - 1]) }
        if seq < r[1] { replacement.append([seq + 1, r[1]]) }
        missing.replaceSubrange(i...i, with: replacement)
    }
}

extension SeqGapRule: DetectionRule {
    /// Only pushed records carry the station's own seq; collected ones are numbered by the daemon.
    mutating func observe(_ c: inout RuleContext) {
        guard c.entry.source == .push else { return }
        let (e, profile, th) = (c.entry, c.profile, c.thresholds)
        c.emitting { observe(seq: e.sourceSeq, at: e.record.at, chainSeq: e.chainSeq, profile: profile, thresholds: th, emit: &$0) }
    }
}
