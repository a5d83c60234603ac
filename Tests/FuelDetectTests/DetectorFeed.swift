import FuelDetect
import FuelModel

/// Feeds a station detector ledger entries one by one and keeps what it answered.
struct DetectorFeed {
    var profile: StationProfile
    var thresholds = DetectionThresholds()
    var detector: StationDetector
    var seq: Int64 = 0
    var events: [DetectorEvent] = []
    /// Every record observed, in order.
    var entries: [Record] = []

    init(profile: StationProfile) {
        self.profile = profile
        self.detector = StationDetector(station: profile.station.id)
    }

    var raised: [AlertSignal] { events.compactMap { if case .raise(let s) = $0 { s } else { nil } } }
    var cleared: [String] { events.compactMap { if case .clear(let fp, _, _) = $0 { fp } else { nil } } }
    func figures(_ kind: FigureKind) -> [DailyFigure] { events.compactMap { if case .measured(let f) = $0, f.kind == kind { f } else { nil } } }

    /// Observes `r` as the next chain position (push seq `pushSeq`, default the position).
    @discardableResult
    mutating func add(_ r: Record, pushSeq: Int64? = nil) -> [DetectorEvent] {
        seq += 1
        entries.append(r)
        let e = detector.observe(
            LedgerEntry(station: profile.station.id, chainSeq: seq, source: .push, sourceSeq: pushSeq ?? seq, record: r),
            profile: profile, thresholds: thresholds)
        events += e
        return e
    }
}
