import FuelDetect
import FuelEvaluate
import FuelModel
import FuelSim
import Foundation
import FuelWire
import Testing

/// The detectors against the simulator's ground truth, through the same evaluation `fuelwarden
/// evaluate` runs: every fault kind that shows within a few days is injected, each must be found by
/// its rule on its subject, and nothing else may be raised. The table is printed with the rates.
@Suite struct SimulatedGroundTruthTests {
    @Test func injectedFaultsAreFoundAndNothingElseIsRaised() throws {
        let stations = 13
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: stations))
        var plan = FaultPlan(stations: stations, days: 4, seed: 7, start: Timestamp(rfc3339: "2026-11-01T00:00:00+08:00")!)
        plan.readingIntervalSeconds = 120
        // Vapour-recovery failures need five warning days and a short-filling nozzle up to three: longer runs show them.
        plan.kinds = FaultPlan.catalogue.filter { !["vapour_recovery_failure", "nozzle_short_fill"].contains($0) }
        let report = Evaluation.run(plan: plan, registry: registry, thresholds: DetectionThresholds())
        print(report.table)
        let injected = report.rows.reduce(0) { $0 + $1.injected }
        #expect(injected == stations)  // one fault per station (after-hours ones go to stations with hours)
        for row in report.rows { #expect(row.detected == row.injected, "\(row.name): \(row.detected)/\(row.injected)") }
        #expect(report.falseAlarms.values.reduce(0, +) == 0, "\(report.falseAlarmSamples)")
        #expect(report.rejected == 0)
        // The console names every evidence key the detectors gave, in both languages.
        let texts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/FuelConsole/Resources/texts")
        for lang in ["zh", "en"] {
            let catalogue = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: texts.appendingPathComponent("\(lang).json")))
            let unnamed = report.evidenceKeys.filter { catalogue["evidence_\($0)"] == nil }
            #expect(unnamed.isEmpty, "\(lang) has no name for evidence \(unnamed.sorted())")
        }
        #expect(report.evidenceKeys.count > 20)
    }
}
