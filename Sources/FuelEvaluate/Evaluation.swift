import Foundation
import FuelDetect
import FuelModel
import FuelSim

/// `fuelwarden evaluate`'s in-process mode: generate the plan's scenarios, run each station through
/// the ingest codec, validator and detectors on all cores, and report against the ground truth.
package enum Evaluation {
    package static func run(
        plan: FaultPlan, registry: Registry, thresholds: DetectionThresholds, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) -> EvaluationReport {
        let scenarios = plan.scenarios(registry: registry, prices: DemoRegistry.prices)
        let results = RunResults(count: scenarios.count)
        DispatchQueue.concurrentPerform(iterations: scenarios.count) { i in
            var run = StationRun(scenario: scenarios[i])
            guard let profile = StationProfile(stationID: scenarios[i].station.id, registry: registry) else { return }
            run.run(profile: profile, thresholds: thresholds)
            let done = results.store(run, at: i)
            progress?(done, scenarios.count)
        }
        return EvaluationReport(runs: results.all, plan: plan, thresholds: thresholds)
    }
}

/// Runs finished on several threads, kept in scenario order.
private final class RunResults: @unchecked Sendable {
    private let lock = NSLock()
    private var runs: [StationRun?]
    private var done = 0

    init(count: Int) { runs = Array(repeating: nil, count: count) }

    func store(_ run: StationRun, at i: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        runs[i] = run
        done += 1
        return done
    }

    var all: [StationRun] {
        lock.lock()
        defer { lock.unlock() }
        return runs.compactMap { $0 }
    }
}
