import FuelDetect
import FuelModel
import FuelSim
import FuelWire

/// An alert episode as detection raised it during a run.
package struct RaisedAlert: Hashable, Sendable {
    /// The alert as first raised.
    package var signal: AlertSignal
    /// Its evidence as last updated.
    package var latestEvidence: Evidence
    /// The station's data time when the detector raised it (what "time to detect" counts from).
    package var raisedAt: Timestamp
    /// Data time it auto-resolved, if it did.
    package var clearedAt: Timestamp?

    package init(signal: AlertSignal, latestEvidence: Evidence, raisedAt: Timestamp, clearedAt: Timestamp? = nil) {
        self.signal = signal
        self.latestEvidence = latestEvidence
        self.raisedAt = raisedAt
        self.clearedAt = clearedAt
    }
}

/// One simulated station run through the code the daemon runs: each record is encoded as a push
/// line, decoded and validated by the ingest path's codec and validator, appended in chain order
/// and observed by `StationDetector` — in process, without the database.
package struct StationRun: Sendable {
    package var scenario: StationScenario
    package var alerts: [RaisedAlert] = []
    package var records = 0
    package var rejected: [String] = []
    /// When each tank's declared deliveries ended (the ticket's end), in data order: a short
    /// delivery is judged from the end of the first delivery after it began.
    package var deliveryEnds: [String: [Timestamp]] = [:]
    /// Each tank's gauge quality, leak method and detection limit at the end of the run.
    package var assessments: [TankAssessment] = []
    /// When each nozzle's fills ended: issue 13's short-fill target holds for nozzles with ≥ 30 a day.
    package var fills: [String: [Timestamp]] = [:]
    /// When each tank was read (the readings that reached the detector, in data order): a delivery's
    /// deadline runs from the first reading that could show it.
    package var readings: [String: [Timestamp]] = [:]
    /// Each tank's leak estimate in its own standard errors at every day close, in data order: a false
    /// leak comes from the closes, so their spread is what the leak test's false-alarm rate rests on.
    package var closeLeakZ: [String: [Double]] = [:]

    package init(scenario: StationScenario) { self.scenario = scenario }

    package mutating func run(profile: StationProfile, thresholds: DetectionThresholds) {
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
            switch decoded.record {
            case .delivery(let d): deliveryEnds[d.tank, default: []].append(d.endedAt)
            case .sale(let s): fills[s.nozzle, default: []].append(s.endedAt)
            case .tankReading(let r): readings[r.tank, default: []].append(r.at)
            default: break
            }
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
                case .measured(let figure):
                    if figure.kind == .leakRate, let high = figure.high, high > figure.value {
                        closeLeakZ[figure.subject, default: []].append(figure.value / ((high - figure.value) / 1.96))
                    }
                }
            }
        }
        assessments = detector.tankAssessments(thresholds: thresholds)
    }

    /// The first `count` readings of `tank` at or after `time` (fewer if the run ended first).
    package func readings(of tank: String, from time: Timestamp, count: Int) -> [Timestamp] {
        let times = readings[tank, default: []]
        var low = 0, high = times.count
        while low < high {
            let mid = (low + high) / 2
            if times[mid] < time { low = mid + 1 } else { high = mid }
        }
        return Array(times[low..<min(times.count, low + count)])
    }

    /// Fills a day nozzle `nozzle` took over `days` days from `from`.
    package func fillsPerDay(_ nozzle: String, from: Timestamp, days: Double) -> Double {
        let to = from.adding(seconds: days * 86_400)
        return Double(fills[nozzle, default: []].count { $0 >= from && $0 < to }) / days
    }
}
