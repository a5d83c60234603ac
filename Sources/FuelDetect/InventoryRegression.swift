import FuelModel

/// The cumulative inventory-variance method for one tank, the way statistical inventory
/// reconciliation (SIR) reads coarse data: every gauge reading's level (at 20 °C) is regressed on
/// each nozzle's cumulative metered litres, on time, and on one offset per *epoch* (the stretch
/// between two deliveries),
///
///     levelᵢ = offset(epoch) − Σₙ fₙ · cumulativeₙ(tᵢ) − L · hoursᵢ + errorᵢ,
///
/// so a millimetre's 20–30 L of quantisation, which swamps the drop between two readings, averages
/// out over the hundreds of readings of a window. fₙ is nozzle n's meter factor, L the leak rate.
///
/// - Epochs start at a delivery (its window and a margin are left out) and at any rise of the level
///   the sales do not explain beyond `levelBreakSigmas` of the measured noise (an undeclared
///   delivery): a new offset then absorbs it.
/// - A reading taken while a fill is flowing is uncertain by the flow times the clocks' disagreement
///   (`quietMinutes` / 2); it is weighted down by that variance against the gauge's own noise, which
///   is measured from the level's second differences over quiet readings.
/// - An epoch also ends after `levelEpochMaxHours` (`levelEpochMaxHoursLowNoise` on a
///   tenth-millimetre gauge whose measured noise is low): over days a tank's level sweeps much of its strapping chart, whose curved
///   errors of tenths of a percent would otherwise pass for a trend.
/// - The rule keeps per epoch the readings' weighted means and centred cross-products
///   (``CentredMoments``): a window is the epochs whose latest reading falls in it, each epoch's
///   offset is absorbed by centring it on its own mean, and each epoch is a cluster for the robust
///   standard error (whose few degrees of freedom the tests respect, see ``BalanceFit/critical(_:)``).
struct InventoryRegression: Hashable, Sendable, Codable {
    struct Sale: Hashable, Sendable, Codable {
        var nozzle: Int
        var volume: TimedVolume
    }
    /// The readings of one epoch, dated by the local day of its latest reading.
    struct Cell: Hashable, Sendable {
        var epoch: Int
        /// Local day of its latest reading, as days since 1970-01-01.
        var day: Int64
        /// (cumulative litres per nozzle since the epoch began, hours since it began, level).
        var moments: CentredMoments
        /// Litres metered per nozzle and hours spanned between the cell's first and last reading.
        var sold: [Double]
        var hours: Double
        /// Stored with every figure as it is (the open cell, still growing) instead of in the closed
        /// cells' compact layout (``storedFigures``).
        var exact = false
    }

    let nozzles: Int
    /// Litres metered per nozzle from sales that ended before the last reading used.
    @Figures private(set) var cumulative: [Double]
    /// Sales not yet wholly before the last reading used.
    var sales: [Sale] = []
    /// Readings waiting for the sales to catch up with them: time and level at 20 °C.
    var waiting: [Level] = []
    /// Delivery windows (with their margin) not yet passed.
    var inflows: [TimeSpan] = []
    var epoch = 0
    var epochStart: Timestamp?
    @Figures var epochCumulative: [Double]
    /// The last readings used in this epoch: their sales-corrected level and flow uncertainty (L²).
    var recent: [[Double]] = []
    var lastAt: Timestamp?
    /// |second differences| of the corrected level: over quiet triplets, and over any triplet.
    @Figures var quietNoise: [Double] = []
    @Figures var anyNoise: [Double] = []
    var open: Cell?
    /// The open cell's last reading and the cumulative litres at its first.
    var openLastAt: Timestamp?
    @Figures var openFirstCumulative: [Double] = []
    var cells: [Cell] = []
    /// The hours its latest epoch was allowed (``epochMaxHours(stepMM:noiseL:thresholds:)``) when
    /// fewer than ``DetectionThresholds/levelEpochMaxHours``; nil when not.
    var shortEpochHours: Double?

    init(nozzles: Int) {
        self.nozzles = nozzles
        cumulative = Array(repeating: 0, count: nozzles)
        epochCumulative = Array(repeating: 0, count: nozzles)
    }

    /// A sale from nozzle index `nozzle` at 20 °C.
    mutating func sale(nozzle: Int, volume: TimedVolume) {
        if let last = lastAt, volume.to <= last {
            // Late: the readings it belonged to are already used; count it from here on.
            cumulative[nozzle] += volume.litres
        } else {
            sales.append(Sale(nozzle: nozzle, volume: volume))
        }
    }

    mutating func inflow(_ span: TimeSpan) { inflows.append(span) }

    /// Takes a reading, at most one per `minimumInterval` seconds: a gauge read every minute would
    /// cost five times the work and state for little more than its quiet segments already tell.
    mutating func reading(_ p: GaugePoint, minimumInterval: Double = 0) {
        if let latest = waiting.last?.at ?? lastAt, latest.seconds(to: p.at) < minimumInterval { return }
        waiting.append(Level(at: p.at, tcVolumeL: p.tcVolumeL))
        // A bound on the state's size, not a detection parameter.
        if waiting.count > 2_000 { waiting.removeFirst(waiting.count - 2_000) }
    }

    /// Uses the waiting readings up to `through` (the data time the sales have reached); `stepMM` is
    /// the gauge's measured height step (``epochMaxHours(stepMM:noiseL:thresholds:)``).
    mutating func advance(through: Timestamp, day: (Timestamp) -> Int64, stepMM: Double? = nil, thresholds th: DetectionThresholds) {
        while let p = waiting.first, p.at <= through {
            waiting.removeFirst()
            use(p, day: day(p.at), stepMM: stepMM, thresholds: th)
        }
    }

    /// How long an epoch may last on this tank: ``DetectionThresholds/levelEpochMaxHoursLowNoise`` on a
    /// tenth-millimetre gauge — height steps (`stepMM`, measured by ``GaugeQuality``) coarser than half
    /// the fine mark and no coarser than twice it — whose measured noise is at most
    /// ``DetectionThresholds/levelEpochLowNoiseL``; else, and until both are known,
    /// ``DetectionThresholds/levelEpochMaxHours``. Not on a millimetre gauge: its level holds still
    /// between sales, so its measured noise can read near zero while each reading is uncertain by a step
    /// of 10–30 L. Not on a fine gauge: its quiet segments judge it where they can, and where its cells
    /// are kept as well (a busy 30-minute station), twice the cells took its state past 32 KB.
    /// `noiseL` is the tank's measured noise (``noiseL``), which the caller has at hand.
    static func epochMaxHours(stepMM: Double?, noiseL: Double?, thresholds th: DetectionThresholds) -> Double {
        guard th.levelEpochLowNoiseL > 0, let step = stepMM, step > th.gaugeFineStepMM / 2, step <= 2 * th.gaugeFineStepMM,
              let noise = noiseL, noise <= th.levelEpochLowNoiseL else { return th.levelEpochMaxHours }
        return min(th.levelEpochMaxHours, th.levelEpochMaxHoursLowNoise)
    }

    /// Measured noise (L, one reading) of the sales-corrected level.
    var noiseL: Double? {
        let values = quietNoise.count >= 12 ? quietNoise : anyNoise.count >= 12 ? anyNoise : nil
        return values.map { 1.4826 * GaugeQuality.median($0) / 6.0.squareRoot() }
    }

    private mutating func use(_ p: Level, day: Int64, stepMM: Double?, thresholds th: DetectionThresholds) {
        guard lastAt.map({ p.at > $0 }) ?? true else { return }
        // Cumulative litres at the reading, sales split by time; and how uncertain a flowing fill makes it.
        var cum = cumulative
        var flowVariance = 0.0
        let skew = th.quietMinutes * 30
        for s in sales {
            cum[s.nozzle] += s.volume.litres(from: TankTracker.distantPast, to: p.at)
            if s.volume.from.adding(seconds: -skew) <= p.at, s.volume.to.adding(seconds: skew) >= p.at {
                let rate = s.volume.litres / max(1, s.volume.from.seconds(to: s.volume.to))
                flowVariance += (rate * skew) * (rate * skew) / 3
            }
        }
        for s in sales where s.volume.to <= p.at { cumulative[s.nozzle] += s.volume.litres }
        sales.removeAll { $0.volume.to <= p.at }
        let previous = lastAt
        lastAt = p.at

        let inDelivery = inflows.contains { $0.from <= p.at && $0.to >= p.at }
        let crossed = previous.map { from in inflows.contains { $0.overlaps(from: from, to: p.at) } } ?? false
        inflows.removeAll { $0.to < p.at }
        if inDelivery {
            epochStart = nil
            return
        }
        let level = p.tcVolumeL + cum.reduce(0, +)
        // Measured once a reading (a median of recent figures): the noise weighs it and bounds its epoch.
        let measured = noiseL
        let noise = max(measured ?? th.levelNoiseFloorL, th.levelNoiseFloorL)
        let risen = recent.contains { r in
            level - r[0] > max(th.levelBreakMinL, th.levelBreakSigmas * (2 * noise * noise + flowVariance + r[1]).squareRoot())
        }
        let maxHours = Self.epochMaxHours(stepMM: stepMM, noiseL: measured, thresholds: th)
        shortEpochHours = maxHours < th.levelEpochMaxHours ? maxHours : nil
        let long = epochStart.map { $0.seconds(to: p.at) > maxHours * 3600 } ?? false
        if epochStart == nil || crossed || risen || long {
            epoch += 1
            epochStart = p.at
            epochCumulative = cum
            recent = []
        }
        if recent.count == 2 {
            let d2 = abs(level - 2 * recent[1][0] + recent[0][0])
            Self.push((d2 * 100).rounded() / 100, to: &anyNoise)
            if flowVariance == 0, recent[0][1] == 0, recent[1][1] == 0 { Self.push((d2 * 100).rounded() / 100, to: &quietNoise) }
        }
        recent.append([level, flowVariance])
        if recent.count > 2 { recent.removeFirst() }

        let x = (0..<nozzles).map { cum[$0] - epochCumulative[$0] }
        let hours = epochStart!.seconds(to: p.at) / 3600
        // A cell is an epoch (at most `maxHours`), dated by its latest reading's local day.
        if let o = open, o.epoch != epoch { close() }
        if open == nil {
            open = Cell(epoch: epoch, day: day, moments: CentredMoments(variables: nozzles + 2), sold: Array(repeating: 0, count: nozzles), hours: 0, exact: true)
            openLastAt = p.at
            openFirstCumulative = cum
        }
        open!.day = day
        open!.moments.add(x + [hours, p.tcVolumeL], weight: noise * noise / (noise * noise + flowVariance))
        open!.hours += (openLastAt ?? p.at).seconds(to: p.at) / 3600
        openLastAt = p.at
        open!.sold = (0..<nozzles).map { cum[$0] - openFirstCumulative[$0] }
    }

    /// Closes the open cell: kept as it is stored (``Cell/storedFigures``), so a detector holds the
    /// same cells in memory as after a restart.
    private mutating func close() {
        defer {
            open = nil
            openLastAt = nil
            openFirstCumulative = []
        }
        // A one-reading epoch (the level settling after a delivery breaks the epoch twice) carries no
        // slope: its offset absorbs its only level. Kept, it cost ~45 bytes and counted as a cluster
        // whose score is zero — degrees of freedom the robust test does not have.
        guard let o = open, o.moments.count >= 2, let stored = Cell(storedFigures: o.storedFigures) else { return }
        cells.append(stored)
    }

    /// Forgets cells before local day `day`.
    mutating func forget(before day: Int64) {
        cells.removeAll { $0.day < day }
    }

    /// The fit over the local days `from…through`, or nil without enough data.
    ///
    /// With `leakSince`, the leak is a *leak since that day*: the time regressor is kept only in the
    /// epochs whose latest reading is on or after that day (before it the tank is taken as tight),
    /// while the meter factors come from the whole window. A leak that began inside the window is
    /// then measured at its own rate instead of averaged with the days before it, whose within-epoch
    /// slopes, unlike the leak's, would also inflate the robust standard error. (A free time term for
    /// the days before was tried: it leaves the meter factors less determined, so the leak since the
    /// day is known less well — mm-15m found 18 of 20 within 14 days instead of 20 — and it raised as
    /// many false leaks on the busy 24-hour millimetre tanks.)
    ///
    /// With `meterChange`, that nozzle's meter factor may step on that local day: a column of its
    /// litres in the epochs from that day on is added, whose coefficient is the step (see
    /// ``BalanceFit/meterChange``).
    ///
    /// `knownSteps` are meters already found to have stepped: each gets its step column too, so a
    /// tested nozzle on the same tank is not credited with their steps.
    ///
    /// `chartTerms` columns model the strapping chart: the tank's litres (all nozzles) weighed by the
    /// 1st, 2nd, … power of each epoch's mean level about the window's (in 1,000 L). A chart's error
    /// whose slope changes with the level makes a litre sold lower the gauge by more at some levels
    /// than at others; with an epoch's level taken as its mean, the column's coefficient is how that
    /// slope changes with the level, and the meter factors stay the nozzles' own.
    ///
    /// `prepared`: the window of the same days from ``window(from:through:)``, which a scan of many
    /// models over one window computes once.
    func fit(from: Int64, through: Int64, leakSince: Int64? = nil, meterChange: MeterChange? = nil,
             knownSteps: [MeterChange] = [], chartTerms: Int = 0, jackknife: Bool = false, prepared: Window? = nil) -> BalanceFit? {
        guard let w = prepared ?? window(from: from, through: through) else { return nil }
        let window = w.cells, epochs = w.epochs, epochDay = w.epochDay
        // Design columns: the nozzles' litres, hours, each stepped meter's litres from its step on
        // (the known ones, then the one tested), and the level last (`source`: each column's variable
        // in the moments). An epoch before the leak's start has no hours column (its moments of time
        // are left out), one before a meter's step no column of that step.
        let steps = knownSteps.filter { $0 != meterChange } + (meterChange.map { [$0] } ?? [])
        let changeColumn = meterChange.map { _ in nozzles + steps.count }
        // A step at an epoch's end has that epoch's litres of the nozzle as a column of their own (after the steps).
        let transition = meterChange?.transition, transitionColumn = nozzles + 1 + steps.count
        let chart = max(0, chartTerms), firstChart = nozzles + 1 + steps.count + (transition == nil ? 0 : 1)
        let k = firstChart + chart, size = k + 1, p = w.variables
        // Each epoch's mean level about the window's (weighted as the fit weighs readings), in 1,000 L.
        let level = nozzles + 1
        var levels: [Int: Double] = [:]
        if chart > 0 {
            // Summed in epoch order, as the fit's sums are (below): a dictionary's order differs between
            // a running detector and one restored from its state, and so would the last bits of the centre.
            let ordered = epochs.keys.sorted().map { epochs[$0]! }
            let total = ordered.reduce(0.0) { $0 + $1.weight }
            let centre = ordered.reduce(0.0) { $0 + $1.weight * $1.mean[level] } / max(total, 1e-12)
            for (key, e) in epochs { levels[key] = (e.mean[level] - centre) / 1_000 }
        }
        // A chart column's variable is every nozzle's litres at once (`every`): its moments are the sums
        // of the nozzles' (`pairSum`), weighed by the epoch's power of level (`present`).
        let every = -1
        let source = Array(0...nozzles) + steps.map(\.nozzle) + (transition == nil ? [] : [meterChange!.nozzle])
            + Array(repeating: every, count: chart) + [level]
        let pairSum = { (i: Int, j: Int, value: (Int, Int) -> Double) -> Double in
            let si = source[i], sj = source[j]
            if si != every && sj != every { return value(si, sj) }
            var total = 0.0
            for u in si == every ? 0..<self.nozzles : si..<(si + 1) {
                for v in sj == every ? 0..<self.nozzles : sj..<(sj + 1) { total += value(u, v) }
            }
            return total
        }
        let before = { (epoch: Int) in leakSince.map { (epochDay[epoch] ?? .min) < $0 } ?? false }
        // Which columns an epoch has (0 or 1 each; a chart column its weight). Flat buffers and no
        // matrix built per epoch or per cell: this fit runs nozzles × days + 1 times a tank-hour in the step scan, and building
        // its small matrices as arrays of arrays spent more time allocating than summing (perf,
        // end-to-end mm-15m). The sums are the same terms in the same order as before.
        var present = [Double](repeating: 1, count: size)
        let presence = { (epoch: Int) in
            let tight = before(epoch), day = epochDay[epoch] ?? .min
            for i in 0..<size {
                if transition != nil, i == transitionColumn {
                    present[i] = epoch == transition ? 1 : 0
                } else if i > nozzles && i < firstChart, let t = steps[i - nozzles - 1].transition {
                    present[i] = epoch > t ? 1 : 0
                } else {
                    present[i] = (tight && i == nozzles) || (i > nozzles && i < firstChart && day < steps[i - nozzles - 1].since) ? 0 : 1
                }
            }
            // A chart column is present in every epoch, at the power of its level.
            if chart > 0, let x = levels[epoch] {
                var power = 1.0
                for c in 0..<chart {
                    power *= x
                    present[firstChart + c] = power
                }
            }
        }
        var a = [Double](repeating: 0, count: size * size)
        // Each epoch's share of `a`, kept for the jackknife (which refits without one epoch at a time).
        var shares: [[Double]] = []
        var count = 0
        // Summed in epoch order: a dictionary's order differs between instances (a detector restored
        // from its state summed in another order than the one that kept running, and its estimates
        // differed in the last bits — enough to flip a verdict sitting on its threshold).
        for key in epochs.keys.sorted() {
            let e = epochs[key]!
            presence(key)
            var share = jackknife ? [Double](repeating: 0, count: size * size) : []
            for i in 0..<size where present[i] != 0 {
                for j in 0..<size where present[j] != 0 {
                    let v = present[i] * present[j] * pairSum(i, j) { e.centred($0, $1) }
                    a[i * size + j] += v
                    if jackknife { share[i * size + j] = v }
                }
            }
            if jackknife { shares.append(share) }
            count += e.count
        }
        // Columns with data (a nozzle that sold nothing within its epochs has none); the leak's always.
        let used = (0..<k).filter { a[$0 * size + $0] > 1e-9 }
        guard used.contains(nozzles), count > epochs.count + used.count + 2,
              let inv = inverted(used.map { i in used.map { a[i * size + $0] } }) else { return nil }
        let xy = used.map { a[$0 * size + k] }
        let beta = used.indices.map { r in used.indices.reduce(0.0) { $0 + inv[r][$1] * xy[$1] } }
        let rss = max(0, a[k * size + k] - zip(beta, xy).reduce(0) { $0 + $1.0 * $1.1 })
        let sigma2 = rss / Double(count - epochs.count - used.count)
        // Cluster-robust (sandwich) covariance, a cluster per cell: each cell's score about its epoch's mean.
        let m = used.count
        var meat = [Double](repeating: 0, count: m * m)
        var score = [Double](repeating: 0, count: m)
        for (c, cell) in window.enumerated() {
            presence(cell.epoch)
            let base = c * p * p
            let s = { (i: Int, j: Int) in present[i] * present[j] == 0 ? 0 : present[i] * present[j] * pairSum(i, j) { w.products[base + $0 * p + $1] } }
            for r in 0..<m {
                var fitted = 0.0
                for q in 0..<m { fitted += s(used[r], used[q]) * beta[q] }
                score[r] = s(used[r], k) - fitted
            }
            for r in 0..<m { for q in 0..<m { meat[r * m + q] += score[r] * score[q] } }
        }
        let g = Double(window.count)
        let correction = g > 1 ? g / (g - 1) : 1
        var ols = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        var robust = ols
        for (r, i) in used.enumerated() {
            for (q, j) in used.enumerated() {
                ols[i][j] = sigma2 * inv[r][q]
                var v = 0.0
                for u in 0..<m { for x in 0..<m { v += inv[r][u] * meat[u * m + x] * inv[x][q] } }
                robust[i][j] = v * correction
            }
        }
        // The regression is of the level on the litres and hours: their coefficients are −f and −L.
        var factors = [Double?](repeating: nil, count: nozzles)
        for (r, i) in used.enumerated() where i < nozzles { factors[i] = -beta[r] }
        let leak = -beta[used.firstIndex(of: nozzles)!]
        // The step is in the level's coefficient: a factor that grows by Δ lowers the level by Δ a litre.
        let change = meterChange.flatMap { c -> BalanceFit.MeterStep? in
            guard let column = changeColumn, let r = used.firstIndex(of: column) else { return nil }
            return BalanceFit.MeterStep(nozzle: c.nozzle, since: c.since, step: -beta[r],
                                        se: max(ols[column][column], robust[column][column]).squareRoot(),
                                        modelSE: ols[column][column].squareRoot(), column: column)
        }
        let leakJackknifeSE = jackknife ? Self.jackknifeSE(of: used.firstIndex(of: nozzles)!, estimate: -leak, used: used, size: size,
                                                           total: a, shares: shares) : nil
        var sold = [Double](repeating: 0, count: nozzles)
        for c in window { for n in 0..<nozzles { sold[n] += c.sold[n] } }
        return BalanceFit(method: .inventoryVariance, factors: factors, leakLPH: leak, covariances: [ols, robust], residualSS: rss,
                          nozzleLitres: sold, hours: window.reduce(0) { $0 + $1.hours }, observations: count,
                          residualSD: sigma2.squareRoot(), clusters: window.count, days: Set(window.map(\.day)).count,
                          leakSince: leakSince, leakClusters: leakSince.map { _ in window.filter { !before($0.epoch) }.count },
                          meterChange: change, leakJackknifeSE: leakJackknifeSE)
    }

    /// The delete-one-epoch jackknife standard error of coefficient `r` (of the `used` columns): the
    /// fit redone without each epoch in turn, `√((G − 1)/G · Σ (β₋ₑ − β)²)` — the CR3 variance, which
    /// unlike the sandwich is not biased low when the clusters are few and one of them carries the
    /// estimate. Nil when leaving an epoch out leaves a column without data or the fit singular.
    static func jackknifeSE(of r: Int, estimate: Double, used: [Int], size: Int, total: [Double], shares: [[Double]]) -> Double? {
        let g = shares.count, k = size - 1
        guard g >= 3 else { return nil }
        var sum = 0.0
        for share in shares {
            let a = { (i: Int, j: Int) in total[i * size + j] - share[i * size + j] }
            guard used.allSatisfy({ a($0, $0) > 1e-9 }), let inv = inverted(used.map { i in used.map { a(i, $0) } }) else { return nil }
            let beta = used.indices.reduce(0.0) { $0 + inv[r][$1] * a(used[$1], k) }
            sum += (beta - estimate) * (beta - estimate)
        }
        return (Double(g - 1) / Double(g) * sum).squareRoot()
    }

    static func push(_ v: Double, to values: inout [Double]) { GaugeQuality.push(v, to: &values, limit: 24) }
}

extension InventoryRegression {
    /// The cells of a window of local days, their epochs' merged moments and days, and each cell's
    /// cross-products about its epoch's mean: what every fit over the window shares.
    struct Window: Sendable {
        var cells: [Cell]
        var epochs: [Int: CentredMoments]
        var epochDay: [Int: Int64]
        /// Variables in the moments (the nozzles' litres, hours, level).
        var variables: Int
        /// Cell by cell, its variables × variables cross-products, row by row.
        var products: [Double]
    }

    /// The window of local days `from…through`, or nil when it holds no reading.
    func window(from: Int64, through: Int64) -> Window? {
        let cells = (self.cells + (open.map { [$0] } ?? [])).filter { $0.day >= from && $0.day <= through && $0.moments.count > 1 }
        guard !cells.isEmpty else { return nil }
        var epochs: [Int: CentredMoments] = [:]
        var epochDay: [Int: Int64] = [:]
        for c in cells {
            epochs[c.epoch, default: CentredMoments(variables: nozzles + 2)].merge(c.moments)
            epochDay[c.epoch] = max(epochDay[c.epoch] ?? c.day, c.day)
        }
        var products: [Double] = []
        products.reserveCapacity(cells.count * (nozzles + 2) * (nozzles + 2))
        for c in cells { c.moments.appendCrossProducts(about: epochs[c.epoch]!.mean, to: &products) }
        return Window(cells: cells, epochs: epochs, epochDay: epochDay, variables: nozzles + 2, products: products)
    }

    /// A nozzle whose meter factor may have stepped on a local day (days since 1970-01-01).
    struct MeterChange: Hashable, Sendable {
        var nozzle: Int
        var since: Int64
        /// With an epoch: the step falls inside that epoch — the factor steps in the epochs after
        /// it, and the nozzle's litres within it are a column of their own — instead of at the start
        /// of local day `since`. A short-fill set at 16:00 is in neither the day it began nor the
        /// next for the whole of that day's epoch; which of a tank's nozzles stepped is told by how
        /// their fills interleave, and a step placed hours wrong on the one misreads that.
        var transition: Int? = nil
    }

    /// A reading as this method needs it: when, and the level at 20 °C. Stored as a pair of figures.
    struct Level: Hashable, Sendable, Codable {
        var at: Timestamp
        var tcVolumeL: Double

        init(at: Timestamp, tcVolumeL: Double) {
            self.at = at
            self.tcVolumeL = tcVolumeL
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            let v = try c.decodeFigures()
            guard v.count == 2, let micros = Int64(exactly: v[0]) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "level: expected microseconds and litres")
            }
            self.init(at: Timestamp(microseconds: micros), tcVolumeL: v[1])
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encodeFigures([Double(at.microseconds), tcVolumeL])
        }
    }
}
