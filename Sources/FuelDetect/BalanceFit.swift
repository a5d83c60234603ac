import FuelModel

/// How a tank's leak rate and meter factors were estimated.
public enum BalanceMethod: String, Sendable, Hashable, Codable {
    /// Gauge drops between quiet readings about an hour apart, regressed on each nozzle's metered
    /// litres and time: for fine gauges, whose quiet readings are exact to a fraction of a litre.
    case quietSegments = "quiet_segments"
    /// Every reading's level regressed on each nozzle's cumulative litres, time and an offset per
    /// delivery (the SIR way): for coarse gauges, whose millimetre steps only average out over days.
    case inventoryVariance = "inventory_variance"
}

/// One method's estimate of a tank's balance over a window: each nozzle's meter factor (litres
/// leaving the tank per litre metered), the rate at which the tank loses fuel nobody paid for, and
/// their uncertainty. Both methods answer in this form, so the leak, meter and stock-gain verdicts
/// are taken the same way whichever estimate is the more precise.
struct BalanceFit: Sendable {
    var method: BalanceMethod
    /// Meter factor by nozzle index (nil: the nozzle sold nothing in the window).
    var factors: [Double?]
    /// Leak rate (L/h), positive when fuel is lost.
    var leakLPH: Double
    /// Covariance matrices of (factors…, leak) — the model's own and, where the method has one, a
    /// robust one; a variance is the larger of what they give, so errors that persist for hours
    /// (temperature, a gauge's drift) cannot make an estimate look surer than it is.
    var covariances: [[[Double]]]
    /// The residual sum of squares (model units; 0 where the method does not say): two fits of one
    /// window that differ by which nozzle a column belongs to compare by it.
    var residualSS = 0.0
    /// A lower bound on the leak rate's standard error from another argument (batch means, or a
    /// day-clustered sandwich pooled with the model's).
    var leakSEFloor = 0.0
    /// The degrees of freedom of the leak's standard error, whichever sets it (nil: many): a test on
    /// it takes Student's t. The quiet-segment method's rests on its days however its errors compare.
    var leakDegreesOfFreedom: Int?
    /// Litres metered per nozzle, hours and observations in the window.
    var nozzleLitres: [Double]
    var hours: Double
    var observations: Int
    var residualSD: Double
    /// Clusters behind the robust covariance (nil: the method has none).
    var clusters: Int?
    /// The clusters counted as epochs of full length, where the tank's epochs are shortened
    /// (``DetectionThresholds/levelEpochMaxHoursLowNoise``); nil where they are not.
    var fullLengthEpochs: Int? = nil
    /// Local days of the window that hold data.
    var days = 0
    /// A fit of a leak since this local day (days since 1970-01-01; nil: over the whole window),
    /// and the clusters from that day on, on which alone its leak rate rests.
    var leakSince: Int64? = nil
    var leakClusters: Int? = nil
    /// A fit that lets one nozzle's meter factor step on a day: the step (litres leaving per litre
    /// metered, positive when more leave than before) and its standard error.
    var meterChange: MeterStep? = nil
    /// The leak rate's delete-one-epoch jackknife standard error, where the fit computed one.
    var leakJackknifeSE: Double? = nil

    struct MeterStep: Sendable, Hashable {
        var nozzle: Int
        /// Local day of the step, as days since 1970-01-01.
        var since: Int64
        var step: Double
        var se: Double
        /// The step's model (OLS) standard error alone.
        var modelSE = 0.0
        /// The step's column in ``BalanceFit/covariances``; the known steps the fit was given come
        /// just before it, in their order (see ``InventoryRegression/fit(from:through:leakSince:meterChange:knownSteps:chartTerms:jackknife:prepared:)``).
        var column = 0
        /// The other nozzle of the tank whose step since the same day is likeliest (nil: none tested)
        /// and that step's ``modelZ``: the nozzle the step may be on instead (see ``TankBalanceRule``).
        var rival: Int?
        var rivalZ = 0.0
        /// How much better the step fits on its nozzle than on ``rival``, each placed inside the
        /// epoch that holds it: the fall in the residual sum of squares in the model's variance (nil:
        /// not compared that way).
        var attributionGap: Double?

        /// The step in its model standard errors: how much better the fit is with the step than
        /// without it (for one added column the residual sum of squares falls by z² σ²). The test
        /// takes the larger, robust standard error; which nozzle the step is on is chosen by this.
        var modelZ: Double { modelSE > 0 ? -step / modelSE : z }
        /// The step in its standard errors (the larger of model and robust): what the test takes.
        var z: Double { -step / se }
    }

    /// The critical value to use for a one-sided test that would take `z` on a normal estimate: a
    /// robust standard error from G clusters has G − 1 degrees of freedom, so its test takes
    /// Student's t (Cornish–Fisher expansion; exact enough from three degrees of freedom, and the
    /// few-cluster windows it matters for — three days of meters — are where it must be honest).
    func critical(_ z: Double) -> Double {
        guard let g = clusters else { return z }
        return Self.studentCritical(z, degreesOfFreedom: g - 1)
    }

    /// The leak test's critical value: a standard error that rests on a few days (``leakDegreesOfFreedom``)
    /// takes Student's t on its degrees of freedom. A leak since a day rests on the clusters from that day on only.
    func leakCritical(_ z: Double) -> Double {
        var c = critical(z)
        if let g = leakClusters { c = max(c, Self.studentCritical(z, degreesOfFreedom: g - 1)) }
        if let df = leakDegreesOfFreedom { c = max(c, Self.studentCritical(z, degreesOfFreedom: df)) }
        return c
    }

    /// Student's t critical value that would be `z` on a normal estimate (Cornish–Fisher
    /// expansion; exact enough from three degrees of freedom, fewer count as two).
    static func studentCritical(_ z: Double, degreesOfFreedom df: Int) -> Double {
        let v = Double(max(df, 2))
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
    }

    static func unit(_ count: Int, at i: Int) -> [Double] {
        var a = [Double](repeating: 0, count: count)
        a[i] = 1
        return a
    }

    /// The smallest leak rate the test finds with 95 % probability on a window like this one: it
    /// raises when the estimate exceeds the threshold and `leakCritical(z)` standard errors.
    func detectionLimit(thresholds th: DetectionThresholds) -> Double {
        let se = leakSE
        return max(th.leakThresholdLPH, leakCritical(th.leakZ) * se) + 1.645 * se
    }

    /// Variance of Σ aᵢ·θᵢ over (factors…, leak).
    func variance(of a: [Double]) -> Double {
        covariances.map { v in
            var s = 0.0
            for i in a.indices where a[i] != 0 { for j in a.indices where a[j] != 0 { s += a[i] * a[j] * v[i][j] } }
            return s
        }.max() ?? .infinity
    }

    /// The leak rate's standard error by the model alone (errors independent reading to reading):
    /// what the window's design and noise allow, which a leak starting inside it does not inflate.
    var leakModelSE: Double {
        let n = factors.count
        return covariances.first.map { max(0, $0[n][n]).squareRoot() } ?? leakSE
    }

    var leakSE: Double {
        max(variance(of: Self.unit(factors.count + 1, at: factors.count)).squareRoot(), leakSEFloor)
    }

    /// The leak rate were every meter factor below the legal range (more than `legalPercent` % under 1:
    /// less leaving the tank per litre metered) set to its lowest legal value and the other
    /// coefficients refitted; nil when no factor is below it.
    ///
    /// Fixing coefficients of a least-squares fit and refitting the rest gives the rest's estimates
    /// moved by their covariance with the fixed ones: L + Σ_LF Σ_FF⁻¹ (f_F,legal − f_F), on the
    /// model covariance. Only factors *below* the range: a factor too low is paid for by a higher leak
    /// (the fit can trade one for the other where trade is steady), while a real leak the meters took
    /// up shows as factors too *high*, which are left as they are.
    func leakWithLegalMeters(legalPercent: Double) -> Double? {
        let n = factors.count
        guard let v = covariances.first, v.count > n else { return nil }
        let floor = 1 - legalPercent / 100
        let low = factors.indices.filter { factors[$0].map { $0 < floor } ?? false }
        guard !low.isEmpty, let inverse = inverted(low.map { i in low.map { v[i][$0] } }) else { return nil }
        let shift = low.map { floor - factors[$0]! }
        var leak = leakLPH
        for r in low.indices {
            var weight = 0.0
            for q in low.indices { weight += v[n][low[q]] * inverse[q][r] }
            leak += weight * shift[r]
        }
        return leak
    }

    /// The same fit with what is known of meters before any reading: each meter factor a priori 1 with
    /// standard deviation `sd` (a fraction: a meter verified within the legal ±0.3 %, uniform over that
    /// range, has 0.0017), independent of the others. Nil when no nozzle has a factor.
    ///
    /// Where a tank's trade follows the hours, a leak and its meters' factors are told apart only by
    /// how trade varies; over the first days of a window the fit can pay for a leak with a meter 0.5–1 %
    /// high (a 0.76 L/h leak read 0.52 ± 0.17 L/h with a factor of 1.0072, mm-15m, seed 21). The
    /// prior is Gaussian, so the posterior is the least-squares fit with one more observation per
    /// factor: θ + V Hᵀ (H V Hᵀ + sd² I)⁻¹ (1 − f) and V − V Hᵀ (H V Hᵀ + sd² I)⁻¹ H V, the mean on the
    /// model covariance (as ``leakWithLegalMeters(legalPercent:)``), each covariance by its own. A
    /// ``leakSEFloor`` is taken as a multiple of the model's standard error, as the design effect's is.
    func withMeterPrior(sd: Double) -> BalanceFit? {
        let metered = factors.indices.filter { factors[$0] != nil }
        guard sd > 0, !metered.isEmpty, let model = covariances.first, model.count > factors.count else { return nil }
        let gap = metered.map { 1 - factors[$0]! }
        var posterior = self
        var first = true
        posterior.covariances = []
        for v in covariances {
            guard let inverse = inverted(metered.map { i in metered.map { v[i][$0] + (i == $0 ? sd * sd : 0) } }) else { return nil }
            let size = v.count
            // gain[j][b] = Σ_a V[j][F_a] S⁻¹[a][b]
            let gain = (0..<size).map { j in metered.indices.map { b in metered.indices.reduce(0.0) { $0 + v[j][metered[$1]] * inverse[$1][b] } } }
            if first {
                for j in 0...factors.count {
                    let shift = metered.indices.reduce(0.0) { $0 + gain[j][$1] * gap[$1] }
                    if j == factors.count { posterior.leakLPH += shift } else if let f = factors[j] { posterior.factors[j] = f + shift }
                }
                first = false
            }
            posterior.covariances.append((0..<size).map { i in
                (0..<size).map { j in v[i][j] - metered.indices.reduce(0.0) { $0 + gain[i][$1] * v[metered[$1]][j] } }
            })
        }
        // A floor set as a multiple of the model's standard error (the tank's design effect) keeps that multiple.
        let before = leakModelSE, after = posterior.leakModelSE
        if leakSEFloor > 0, before > 0 { posterior.leakSEFloor = leakSEFloor * after / before }
        return posterior
    }

    /// Metered litres that did not leave the tank, as a share (%) of what was metered, and its
    /// standard error: a stock gain (customers short-filled on the tank's nozzles).
    var stockGain: (percent: Double, se: Double)? {
        let used = factors.indices.filter { factors[$0] != nil && nozzleLitres[$0] > 0 }
        let total = used.reduce(0) { $0 + nozzleLitres[$1] }
        guard total > 0 else { return nil }
        var a = [Double](repeating: 0, count: factors.count + 1)
        var factor = 0.0
        for n in used {
            a[n] = nozzleLitres[n] / total
            factor += factors[n]! * a[n]
        }
        return ((1 - factor) * 100, variance(of: a).squareRoot() * 100)
    }

    /// The standard error of nozzle `n`'s meter factor.
    func factorSE(_ n: Int) -> Double {
        max(0, variance(of: Self.unit(factors.count + 1, at: n))).squareRoot()
    }

    /// Nozzle `n`'s meter factor against the tank's other nozzles (weighted by their litres), so
    /// errors common to the tank (its chart, its temperature) cancel: the factor, the reference and
    /// the standard error of their difference.
    func relativeFactor(_ n: Int) -> (factor: Double, reference: Double, se: Double)? {
        guard let f = factors[n] else { return nil }
        var a = [Double](repeating: 0, count: factors.count + 1)
        a[n] = 1
        let others = factors.indices.filter { $0 != n && factors[$0] != nil && nozzleLitres[$0] > 0 }
        let total = others.reduce(0) { $0 + nozzleLitres[$1] }
        var reference = 1.0
        if total > 0 {
            reference = 0
            for o in others {
                a[o] = -nozzleLitres[o] / total
                reference += factors[o]! * nozzleLitres[o] / total
            }
        }
        return (f, reference, max(0, variance(of: a)).squareRoot())
    }
}
