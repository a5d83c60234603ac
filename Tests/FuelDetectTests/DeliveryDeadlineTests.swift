import FuelEvaluate
import FuelModel
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
}
