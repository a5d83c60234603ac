import FuelSim

/// One line of `fuelwarden evaluate --matrix`: a gauge profile's run against issue 13's targets.
package struct MatrixRow: Sendable {
    package var profile: GaugeProfile
    package var leaksInjected = 0
    package var leaksIn14Days = 0
    package var leaksIn7Days = 0
    package var falseLeakShare: Double
    package var leakErrorWhenRaised: Double?
    package var smallestLeakIn7Days: Double?
    /// Detected / injected for the other faults the issue names.
    package var shortFill: (Int, Int)
    package var shortDelivery: (Int, Int)
    package var undeclared: (Int, Int)
    /// The rule with most false alarms per station-month, and that rate.
    package var worstRule: String?
    package var worstRate: Double
    /// Tanks that raised `gauge_quality`, of all; the median settled detection limit and leak
    /// standard error (L/h) at the end of the run.
    package var gaugeFlagged: (Int, Int)
    package var medianLimit: Double?
    package var medianSE: Double?
    package var failures: [String]
    /// Why the leak or short-fill target was missed: the median tank's or busy nozzle's standard
    /// error and detection limit.
    package var explanations: [String] = []
    /// The failures the run's own figures show out of reach: the injected fault is below the smallest
    /// the median tank (leak, 14 days) or busy nozzle (short-fill, 3 days) can resolve at 95 %.
    package var outOfReach: [String] = []
    /// Why the leak targets do not hold on this gauge (see ``outsideLeakEnvelope(_:)``; nil: they do).
    package var outsideLeakTargets: String?
    /// Every target met, or missed only where it is out of reach.
    package var metOrOutOfReach: Bool { failures.count == outOfReach.count }

    package init(profile: GaugeProfile, report r: EvaluationReport, targetLeakLPH: Double) {
        self.profile = profile
        if let leak = r.rows.first(where: { $0.name.hasPrefix("leak ") }) {
            leaksInjected = leak.injected
            leaksIn14Days = leak.detected
            leaksIn7Days = leak.hoursToDetect.filter { $0 <= 7 * 24 }.count
        }
        falseLeakShare = r.falseLeakRate
        let errors = r.leakEstimateErrors.map { abs($0) }.sorted()
        leakErrorWhenRaised = errors.isEmpty ? nil : errors[errors.count / 2]
        smallestLeakIn7Days = r.smallestLeakAt95In7Days
        func counts(_ kind: String) -> (Int, Int) {
            r.rows.first { $0.name == kind }.map { ($0.detected, $0.injected) } ?? (0, 0)
        }
        shortFill = counts("nozzle_short_fill")
        shortDelivery = counts("short_delivery")
        undeclared = counts("undeclared_delivery")
        let worst = r.falseAlarms.max { $0.value < $1.value }
        worstRule = worst?.key
        worstRate = worst.map { Double($0.value) / max(r.stationMonths, 1e-9) } ?? 0
        failures = r.failures
        gaugeFlagged = (r.gaugeFlaggedTanks, r.tanks)
        func median(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.sorted()[v.count / 2] }
        medianLimit = median(r.detectionLimits)
        medianSE = median(r.leakStandardErrors)
        let meterLimit = median(r.meterLimits)
        // Issue 13: 95 % of 0.76 L/h leaks within 7 days where the gauge steps 0.1 mm or finer.
        if profile.heightStepMM <= 0.1, leaksInjected > 0, Double(leaksIn7Days) / Double(leaksInjected) < 0.95 {
            failures.append("leak \(fmt(targetLeakLPH)) L/h: \(leaksIn7Days) of \(leaksInjected) within 7 d, target 95 % (step ≤ 0.1 mm)")
        }
        let outside = Self.outsideLeakEnvelope(profile)
        outsideLeakTargets = outside
        outOfReach = failures.filter { f in
            let leakTarget = f.hasPrefix("leak \(fmt(targetLeakLPH)) L/h:")
            return (leakTarget && ((medianLimit ?? 0) > targetLeakLPH || outside != nil))
                || (f.hasPrefix("leak test flagged") && outside != nil)
                || (f.hasPrefix("nozzle_short_fill:") && (meterLimit ?? 0) > FaultPlan.shortFillPercent)
        }
        if let outside, failures.contains(where: { $0.hasPrefix("leak ") }) {
            explanations.append("the leak targets hold for steps ≤ 1 mm, noise ≤ 0.5 mm and a reading at least every 15 min; this gauge: \(outside)")
        }
        // Where the leak target is missed, the estimator's standard error and the smallest leak the
        // tanks find at 95 % say why.
        if failures.contains(where: { $0.hasPrefix("leak ") }), let limit = medianLimit, let se = medianSE {
            explanations.append("median tank: leak standard error \(fmt(se)) L/h, detection limit \(fmt(limit)) L/h at 95 %")
        }
        // Where short-filling is missed, the meter test's standard error on busy nozzles says why.
        if failures.contains(where: { $0.hasPrefix("nozzle_short_fill:") }), let se = median(r.meterStandardErrors),
           let limit = meterLimit {
            let step = median(r.meterStepLimits).map { ", a step from \(fmt($0))%" } ?? ""
            explanations.append("median nozzle with ≥ \(fmt(EvaluationReport.busyFillsPerDay)) fills a day: meter standard error \(fmt(se))%, "
                + "smallest error found at 95 % in 3 d \(fmt(limit))%\(step) (\(r.busyNozzlesInconclusive) of \(r.busyNozzles) inconclusive)")
        }
    }

    /// Why issue 13's leak targets (found within 14 days, leak-free tanks flagged) do not hold on
    /// `profile`: they are set for steps ≤ 1 mm, noise ≤ 0.5 mm and a reading at least every 15
    /// minutes (nil: they hold). The false-alarm target holds on every profile.
    package static func outsideLeakEnvelope(_ profile: GaugeProfile) -> String? {
        var why: [String] = []
        if profile.heightStepMM > 1 { why.append("steps of \(fmt(profile.heightStepMM)) mm") }
        if profile.heightNoiseMM > 0.5 { why.append("noise \(fmt(profile.heightNoiseMM)) mm") }
        if profile.readingIntervalSeconds > 900 { why.append("a reading every \(fmt(profile.readingIntervalSeconds / 60)) min") }
        return why.isEmpty ? nil : why.joined(separator: ", ")
    }

    /// A failure as the matrix prints it: with why it does not count where it does not.
    package func annotated(_ failure: String) -> String {
        guard outOfReach.contains(failure) else { return failure }
        if outsideLeakTargets != nil, failure.hasPrefix("leak ") { return failure + " (not a target on this gauge)" }
        return failure + " (out of reach: limit above it)"
    }

    package static let header =
        "profile               step   noise  every  spikes | leak 0.76: 14 d   7 d  | free flagged | est. err | min 7 d | short-fill | short del. | undeclared | worst false alarms     | gauge flagged | limit | met"

    package var line: String {
        func pair(_ p: (Int, Int)) -> String { "\(p.0)/\(p.1)" }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        let p = profile
        return pad(p.name, 20) + lpad(fmt(p.heightStepMM), 6) + lpad(fmt(p.heightNoiseMM), 7) + lpad(fmt(p.readingIntervalSeconds / 60) + "m", 7)
            + lpad(fmt(p.spikeShare * 100) + "%", 8) + " | " + lpad("\(leaksIn14Days)/\(leaksInjected)", 14) + lpad("\(leaksIn7Days)/\(leaksInjected)", 6)
            + "  | " + lpad(fmt(falseLeakShare * 100) + "%", 12) + " | " + lpad(leakErrorWhenRaised.map { fmt($0) } ?? "-", 8)
            + " | " + lpad(smallestLeakIn7Days.map { fmt($0) } ?? "none", 7) + " | " + lpad(pair(shortFill), 10) + " | " + lpad(pair(shortDelivery), 10)
            + " | " + lpad(pair(undeclared), 10) + " | " + pad((worstRule ?? "none") + " " + fmt(worstRate), 22)
            + " | " + lpad(pair(gaugeFlagged), 13) + " | " + lpad(medianLimit.map { fmt($0) } ?? "-", 5) + " | "
            + (failures.isEmpty ? "yes" : metOrOutOfReach ? "limit" : "NO")
    }
}
