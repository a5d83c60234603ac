import FuelModel

/// What the meter test knows about one nozzle now: its registration error over the meter window,
/// how well that is known, and the smallest error the test would find — so a regulator sees which
/// nozzles are watched and which are `inconclusive` (too few fills, or a gauge too coarse to judge
/// them within the window). A nozzle the window holds no estimate for at all is listed too, without
/// figures and inconclusive, rather than left out.
///
/// The test raises when the error against the tank's other nozzles exceeds `meterFlagPercent` and
/// the legal ±`meterLegalPercent` by its critical value c times the standard error se, and the
/// error itself (standard error se₀) exceeds the flag at its 95 % lower bound, so the smallest
/// error found with 95 % probability is max(flag + 1.645·se₀, legal + c·se) + 1.645·se.
public struct NozzleMeterAssessment: Sendable, Hashable, Codable {
    public var nozzle: String
    /// The method the estimate comes from (nil: no estimate) and the window (days) it covers.
    public var method: BalanceMethod?
    public var windowDays: Int
    /// How much more the meter registers than leaves the tank (%), and against the tank's other nozzles.
    public var errorPercent: Double?
    public var versusTankPercent: Double?
    /// Standard error (%) of the nozzle's factor against the tank's other nozzles.
    public var standardErrorPercent: Double?
    /// Standard error (%) of the registration error itself (`errorPercent`).
    public var errorStandardErrorPercent: Double?
    /// The smallest registration error (%) found at 95 % within the window, and the target.
    public var detectionLimitPercent: Double?
    public var targetPercent: Double
    /// Whether the estimate is sure enough to be judged (else the nozzle's verdict is inconclusive).
    public var conclusive: Bool
    /// On a coarse gauge (the inventory-variance method): the standard error (%) of a step of the
    /// meter's registration since the meter window's first day — what the step scan knows of a meter
    /// set to short-fill that long ago — and the smallest such step found at 95 % within the window.
    /// A short-fill is judged by this where the meter's own error is too uncertain (inconclusive).
    public var stepStandardErrorPercent: Double?
    /// The model standard error (%) of that step's difference from the same step on the tank's least
    /// distinguishable other nozzle: which of the two stepped is told to this.
    public var stepVersusTankStandardErrorPercent: Double?
    public var stepDetectionLimitPercent: Double?

    enum CodingKeys: String, CodingKey {
        case nozzle, method, windowDays = "window_days", errorPercent = "error_percent", versusTankPercent = "versus_tank_percent"
        case standardErrorPercent = "standard_error_percent", errorStandardErrorPercent = "error_standard_error_percent"
        case detectionLimitPercent = "detection_limit_percent"
        case targetPercent = "target_percent", conclusive
        case stepStandardErrorPercent = "step_standard_error_percent", stepDetectionLimitPercent = "step_detection_limit_percent"
        case stepVersusTankStandardErrorPercent = "step_versus_tank_standard_error_percent"
    }

    /// The smallest registration step (%) the step scan raises on the right nozzle with 95 %
    /// probability when the step's standard error is `se` (%) and its difference from the same step
    /// on the tank's other nozzle has model standard error `versusTank`: it raises a step beyond
    /// `meterStepFlagPercent` at its 95 % lower bound, beyond the legal `meterLegalPercent` by `meterZ`
    /// standard errors and beyond nought by `meterChangeZ`, on the nozzle it fits better than the
    /// other by `meterStepAttributionEvidence` model variances (a difference of √that standard errors).
    static func stepLimit(standardError se: Double, versusTank: Double? = nil, thresholds th: DetectionThresholds) -> Double {
        let found = max(th.meterStepFlagPercent + 1.645 * se, th.meterLegalPercent + th.meterZ * se, th.meterChangeZ * se) + 1.645 * se
        guard let v = versusTank, th.meterStepAttributionEvidence > 0 else { return found }
        return max(found, (th.meterStepAttributionEvidence.squareRoot() + 1.645) * v)
    }

    /// The assessment of nozzle `nozzle` (index `n` of its tank) from its best estimate among `fits`.
    /// The assessment of nozzle `nozzle` (index `n` of its tank) from its best estimate among `fits`;
    /// without one, inconclusive and without figures.
    static func of(_ nozzle: String, index n: Int, fits: [BalanceFit], thresholds th: DetectionThresholds) -> NozzleMeterAssessment {
        TankBalanceRule.meterEstimate(n, fits: fits, thresholds: th).map { NozzleMeterAssessment(nozzle, index: n, estimate: $0, thresholds: th) }
            ?? NozzleMeterAssessment(nozzle: nozzle, windowDays: th.meterWindowDays, targetPercent: th.meterTargetPercent, conclusive: false)
    }

}

extension NozzleMeterAssessment {
    /// The assessment from an estimate: the figures the meter test judges by (`TankBalanceRule` takes
    /// them from here, so what a regulator reads is what was judged).
    init(_ nozzle: String, index n: Int, estimate: (fit: BalanceFit, relative: (factor: Double, reference: Double, se: Double)), thresholds th: DetectionThresholds) {
        let (fit, r) = estimate
        let se: Double = r.se / r.factor * 100
        let critical: Double = fit.critical(th.meterZ)
        let error: Double = (1 / r.factor - 1) * 100
        let versusTank: Double = (r.reference / r.factor - 1) * 100
        // d(1/f) = −df / f²: the error's standard error from the factor's.
        let errorSE: Double = fit.factorSE(n) / (r.factor * r.factor) * 100
        let limit: Double = max(th.meterFlagPercent + 1.645 * errorSE, th.meterLegalPercent + critical * se) + 1.645 * se
        let conclusive = se <= (th.meterTargetPercent - th.meterLegalPercent) / critical
        self.init(nozzle: nozzle, method: fit.method, windowDays: th.meterWindowDays, errorPercent: error, versusTankPercent: versusTank,
                  standardErrorPercent: se, errorStandardErrorPercent: errorSE, detectionLimitPercent: limit, targetPercent: th.meterTargetPercent,
                  conclusive: conclusive)
    }
}
