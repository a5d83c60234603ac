import FuelModel

/// An HJ 212 device as its packets show it: when it was last heard from (any packet, heartbeats
/// included) and, per kind of upload (CN 2011 real-time, 2051 minute, 2061 hour…), the data time of
/// its newest live upload, its usual interval, and the stretch it still owes after an outage. A
/// device that was away sends the missed data again marked `RF=1` (补传); those resent uploads
/// fill the stretch, and once it is filled the device owes nothing. Pure: the listener feeds it,
/// the store keeps it, ``verdict(now:offlineAfterSeconds:openAlert:)`` says what to raise or resolve.
public struct DeviceFeedState: Hashable, Sendable, Codable {
    /// One kind of upload (one CN) of the device.
    public struct Series: Hashable, Sendable, Codable {
        /// Data time of the newest live upload.
        public var last: Timestamp
        /// The usual step between live uploads (seconds; a moving average of the ordinary steps).
        public var interval: Double?
        /// Data missing between these two live uploads (exclusive), until resent.
        public var gapFrom: Timestamp?
        public var gapTo: Timestamp?
        /// The newest resent upload inside the gap.
        public var resentTo: Timestamp?

        enum CodingKeys: String, CodingKey {
            case last, interval, gapFrom = "gap_from", gapTo = "gap_to", resentTo = "resent_to"
        }

        /// Whether resent uploads reach the end of the gap (within one and a half intervals; at least a minute).
        public var isFilled: Bool {
            guard let to = gapTo else { return true }
            guard let r = resentTo else { return false }
            return r.seconds(to: to) <= max(60, 1.5 * (interval ?? 60))
        }
    }

    public var mn: String
    public var station: String
    public var edition: String
    public var firstSeenAt: Timestamp
    public var lastSeenAt: Timestamp
    public var packets: Int64 = 0
    public var resent: Int64 = 0
    public var series: [String: Series] = [:]

    public init(mn: String, station: String, edition: String, seenAt: Timestamp) {
        self.mn = mn
        self.station = station
        self.edition = edition
        self.firstSeenAt = seenAt
        self.lastSeenAt = seenAt
    }

    /// Data time of the newest live upload of any kind.
    public var lastDataAt: Timestamp? { series.values.map(\.last).max() }

    /// The data the device still owes: from the earliest unfilled gap's start to the latest one's end.
    public var owed: (from: Timestamp, to: Timestamp)? {
        let open = series.values.filter { !$0.isFilled }
        guard let from = open.compactMap(\.gapFrom).min(), let to = open.compactMap(\.gapTo).max() else { return nil }
        return (from, to)
    }

    /// A packet arrived (any packet from the authenticated device).
    public mutating func heard(at now: Timestamp, edition: String) {
        if now > lastSeenAt { lastSeenAt = now }
        self.edition = edition
        packets += 1
    }

    /// An upload of kind `cn` with data time `at`. A live upload further from the previous one than
    /// `holeAfterSeconds` and three usual intervals opens (or extends) a gap; a resent one inside a
    /// gap fills it up to its time. Answers whether the upload filled the last of what the device owed.
    @discardableResult
    public mutating func upload(cn: String, at t: Timestamp, resent isResent: Bool, holeAfterSeconds: Double) -> Bool {
        if isResent {
            resent += 1
            guard var s = series[cn], let from = s.gapFrom, let to = s.gapTo, t > from, t < to else { return false }
            let owedBefore = owed != nil
            s.resentTo = max(s.resentTo ?? t, t)
            series[cn] = s
            return owedBefore && owed == nil
        }
        guard var s = series[cn] else {
            series[cn] = Series(last: t)
            return false
        }
        let step = s.last.seconds(to: t)
        guard step > 0 else { return false }  // an older live upload (a reordered packet) moves nothing
        if let interval = s.interval, step > max(holeAfterSeconds, 3 * interval) {
            if s.gapTo != nil, !s.isFilled {
                s.gapTo = t  // a second outage before the first was resent: one stretch owed
            } else {
                (s.gapFrom, s.gapTo, s.resentTo) = (s.last, t, nil)
            }
        } else {
            // The first step sets the interval; later ordinary ones move it slowly.
            s.interval = s.interval.map { 0.8 * $0 + 0.2 * step } ?? step
        }
        s.last = t
        series[cn] = s
        return false
    }

    /// What the device's `telemetry_gap` alert (subject `device <MN>`) should do now.
    public enum Verdict: Hashable, Sendable {
        case none
        /// Silent too long: raise (or keep) the alert.
        case offline(silentSeconds: Double)
        /// Back, but data is missing from … to …, not yet resent: keep the alert open with this evidence.
        case owes(from: Timestamp, to: Timestamp)
        /// Back and nothing owed: resolve, saying whether resent data filled the gap.
        case resolve(filled: Bool)
    }

    /// - Parameters:
    ///   - openAlert: whether the device's gap alert is open now.
    ///   - filledSinceAlert: whether a resend completed the owed data since the alert was raised.
    public func verdict(now: Timestamp, offlineAfterSeconds: Double, openAlert: Bool, filledSinceAlert: Bool = false) -> Verdict {
        let silent = lastSeenAt.seconds(to: now)
        if silent > offlineAfterSeconds { return .offline(silentSeconds: silent) }
        if let owed { return .owes(from: owed.from, to: owed.to) }
        return openAlert ? .resolve(filled: filledSinceAlert || series.values.contains { $0.gapTo != nil }) : .none
    }
}
