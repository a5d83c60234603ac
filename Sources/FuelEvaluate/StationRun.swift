import FuelDetect
import FuelModel
import FuelSim
import FuelWire

/// An alert episode as detection raised it during a run.
public struct RaisedAlert: Hashable, Sendable {
    /// The alert as first raised.
    public var signal: AlertSignal
    /// Its evidence as last updated.
    public var latestEvidence: Evidence
    /// The station's data time when the detector raised it (what "time to detect" counts from).
    public var raisedAt: Timestamp
    /// Data time it auto-resolved, if it did.
    public var clearedAt: Timestamp?

    public init(signal: AlertSignal, latestEvidence: Evidence, raisedAt: Timestamp, clearedAt: Timestamp? = nil) {
        self.signal = signal
        self.latestEvidence = latestEvidence
        self.raisedAt = raisedAt
        self.clearedAt = clearedAt
    }
}

/// One simulated station run through the code the daemon runs: each record is encoded as a push
/// line, decoded and validated by the ingest path's codec and validator, appended in chain order
/// and observed by `StationDetector` — in process, without the database.
public struct StationRun: Sendable {
    public var scenario: StationScenario
    public var alerts: [RaisedAlert] = []
    public var records = 0
    public var rejected: [String] = []

    public init(scenario: StationScenario) { self.scenario = scenario }

    public mutating func run(profile: StationProfile, thresholds: DetectionThresholds) {
        var sim = StationSimulator(scenario)
        var detector = StationDetector(station: scenario.station.id)
        var open: [String: Int] = [:]
        var chainSeq: Int64 = 0
        for n in sim.numbered() {
            let line = PushRecordCodec.encode(PushLine(seq: n.seq, record: n.record))
            let decoded: PushLine
            do {
                decoded = try PushRecordCodec.decode(Array(line.utf8))
                try RecordValidator.validate(decoded.record, station: scenario.station)
            } catch {
                rejected.append("seq \(n.seq): \(error)")
                continue
            }
            chainSeq += 1
            records += 1
            let entry = LedgerEntry(station: scenario.station.id, chainSeq: chainSeq, source: .push, sourceSeq: decoded.seq, record: decoded.record)
            for event in detector.observe(entry, profile: profile, thresholds: thresholds) {
                let now = detector.dataClock ?? decoded.record.at
                switch event {
                case .raise(let signal):
                    if let i = open[signal.fingerprint] {
                        alerts[i].latestEvidence = signal.evidence  // an update of the open alert
                    } else {
                        open[signal.fingerprint] = alerts.count
                        alerts.append(RaisedAlert(signal: signal, latestEvidence: signal.evidence, raisedAt: now))
                    }
                case .clear(let fingerprint, let at, _):
                    if let i = open.removeValue(forKey: fingerprint) { alerts[i].clearedAt = at }
                }
            }
        }
    }
}
