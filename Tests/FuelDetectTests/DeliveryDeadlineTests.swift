import FuelEvaluate
import FuelModel
import FuelSim
import FuelWire
import Testing

/// `evaluate`'s delivery deadlines run on the gauge's readings: a collector outage inside one (no
/// reading of any tank) pushes it out by its length.
@Suite struct DeliveryDeadlineTests {
    let t0 = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!
    func at(_ hours: Double) -> Timestamp { t0.adding(seconds: hours * 3600) }

    @Test func outagesInsideTheDeadlineStretchIt() {
        // 1.5 h from t0; an hour down from 1 h stretches it to 2.5 h, which takes in a second outage
        // from 2.3 h to 2.8 h (half an hour more); one from 4 h is past the stretched end (3 h).
        let outages = [(from: at(2.3), to: at(2.8)), (from: at(1), to: at(2)), (from: at(4), to: at(5))]
        #expect(abs(EvaluationReport.unreadHours(outages, from: t0, hours: 1.5) - 1.5) < 1e-9)
    }

    @Test func onlyTheOutageAfterTheFaultCounts() {
        // Down from an hour before the fault to half an hour after it: half an hour unread.
        #expect(abs(EvaluationReport.unreadHours([(from: at(-1), to: at(0.5))], from: t0, hours: 1.5) - 0.5) < 1e-9)
        #expect(EvaluationReport.unreadHours([(from: at(-3), to: at(-1)), (from: at(2), to: at(3))], from: t0, hours: 1.5) == 0)
    }

    /// An undeclared load of 300 L from 0.1 h (in by 0.15 h) on a gauge read every 30 minutes: the
    /// nominal deadline is 1.55 h. Found 1.9 h after it began: a miss when the tank's readings came on
    /// time; within the deadline when those until 1.3 h were lost, so the second reading after the
    /// load came at 1.8 h instead of by 1.15 h (0.65 h late: 2.2 h).
    @Test func readingsLostByChanceStretchTheDeadline() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let station = registry.stations[0]
        var plan = FaultPlan(stations: 1, days: 1, seed: 1, start: t0)
        plan.readingIntervalSeconds = 1800
        func report(readingsAt hours: [Double]) -> EvaluationReport.Row? {
            var s = StationScenario(station: station, seed: 1, start: t0, days: 1, prices: DemoRegistry.prices)
            s.readingIntervalSeconds = 1800
            s.faults = [.undeclaredDelivery(tank: "T1", litres: 300, at: at(0.1))]
            var run = StationRun(scenario: s)
            run.readings["T1"] = hours.map(at)
            let signal = AlertSignal(rule: .undeclaredDelivery, station: station.id, subject: "T1", severity: .critical, openedAt: at(2),
                                     evidence: [:], seqFrom: 1, seqTo: 1)
            run.alerts = [RaisedAlert(signal: signal, latestEvidence: [:], raisedAt: at(2))]
            return EvaluationReport(runs: [run], plan: plan).rows.first { $0.name == "undeclared_delivery" }
        }
        #expect(report(readingsAt: [0, 0.5, 1, 1.5, 2])?.detected == 0)
        #expect(report(readingsAt: [0, 1.3, 1.8])?.detected == 1)
        // Found at 1.9 h after its start when the readings at 1.25 h (the second after the load,
        // due by 1.15 h) came just late enough: pushed out by 0.1 h to 1.65 h — still a miss.
        #expect(report(readingsAt: [0, 0.5, 1.25, 1.5])?.detected == 0)
        var read = StationRun(scenario: StationScenario(station: station, seed: 1, start: t0, days: 1, prices: DemoRegistry.prices))
        read.readings["T1"] = [at(0), at(0.5), at(1)]
        #expect(read.readings(of: "T1", from: at(0.5), count: 2) == [at(0.5), at(1)] && read.readings(of: "T1", from: at(0.6), count: 2) == [at(1)])
        #expect(read.readings(of: "T1", from: at(1.1), count: 2).isEmpty && read.readings(of: "T2", from: at(0), count: 1).isEmpty)
        // On schedule but for the reading at 1.5 h: no reading between 1.15 h and the deadline (1.65 h),
        // the verdict waits for the one at 2 h — found at 1.9 h after the start, in time.
        #expect(report(readingsAt: [0, 0.5, 1, 2, 2.5])?.detected == 1)
        read.readings["T1"] = [0, 0.5, 1, 2, 2.5].map(at)
        #expect(abs(EvaluationReport.readingDeadline(run: read, tank: "T1", start: at(0.1), in: at(0.15), hours: 1.55, interval: 1800) - 1.9) < 1e-9)
        read.readings["T1"] = [0, 0.5, 1, 1.5, 2].map(at)
        #expect(abs(EvaluationReport.readingDeadline(run: read, tank: "T1", start: at(0.1), in: at(0.15), hours: 1.55, interval: 1800) - 1.55) < 1e-9)
    }
}
