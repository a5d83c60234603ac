import Foundation
import FuelDetect
import FuelEvaluate
import FuelModel
import FuelSim
import FuelWire
import Testing

/// `evaluate` reports how honest the leak's standard error is: on settled tanks no fault touched, the
/// run's-end estimate divided by its standard error, whose spread is about 1 when it is right.
@Suite struct LeakCalibrationReportTests {
    let t0 = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!

    func assessment(_ tank: String, rate: Double, se: Double, days: Int) throws -> TankAssessment {
        let json = #"{"tank":"\#(tank)","readings":1000,"glitch_share":0,"method":"inventory_variance","window_days":14,"#
            + #""days_with_data":\#(days),"leak_rate_l_per_h":\#(rate),"standard_error_l_per_h":\#(se),"target_l_per_h":0.76,"limitations":[],"meters":[]}"#
        return try JSONDecoder().decode(TankAssessment.self, from: Data(json.utf8))
    }

    @Test func onlySettledTanksNoFaultTouchedAreCounted() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let station = registry.stations[0]
        #expect(station.tanks.count >= 4)
        let ids = station.tanks.map(\.id)
        var scenario = StationScenario(station: station, seed: 1, start: t0, days: 21, prices: DemoRegistry.prices)
        scenario.faults = [.leak(tank: ids[1], litresPerHour: 0.76, from: t0.adding(seconds: 86_400))]
        var run = StationRun(scenario: scenario)
        run.assessments = [
            try assessment(ids[0], rate: 0.3, se: 0.1, days: 14),
            try assessment(ids[1], rate: 0.8, se: 0.1, days: 14),   // leaking: not leak-free
            try assessment(ids[2], rate: -0.1, se: 0.1, days: 14),
            try assessment(ids[3], rate: 0.9, se: 0.1, days: 5),    // not settled
        ]
        let report = EvaluationReport(runs: [run], plan: FaultPlan(stations: 1, days: 21, seed: 1, start: t0))
        #expect(report.leakFreeZ.count == 2)
        #expect(abs(report.leakFreeZ[0] - 3) < 1e-9 && abs(report.leakFreeZ[1] + 1) < 1e-9)
        // Mean 1, sd √8 = 2.828, neither beyond ±3.
        #expect(report.table.contains("mean 1.0, sd 2.828"), "\(report.table)")
        #expect(report.table.contains("beyond ±3 on 0 of 2"))
    }

    @Test func everyCloseOfEveryLeakFreeTankIsCounted() throws {
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1))
        let ids = registry.stations[0].tanks.map(\.id)
        var scenario = StationScenario(station: registry.stations[0], seed: 1, start: t0, days: 21, prices: DemoRegistry.prices)
        scenario.faults = [.leak(tank: ids[1], litresPerHour: 0.76, from: t0.adding(seconds: 86_400))]
        var run = StationRun(scenario: scenario)
        run.closeLeakZ = [ids[0]: [3.5, 1, -0.5], ids[1]: [5, 6], ids[2]: [0]]
        let report = EvaluationReport(runs: [run], plan: FaultPlan(stations: 1, days: 21, seed: 1, start: t0))
        #expect(report.leakFreeCloseZ.sorted() == [-0.5, 0, 1, 3.5])  // the leaking tank's closes left out
        // Mean 1, sd √(9.5/3) = 1.780; one close above +3.
        #expect(report.table.contains("at every day close: mean 1.0, sd 1.78, above +3 at 1 of 4 closes"), "\(report.table)")
    }
}
