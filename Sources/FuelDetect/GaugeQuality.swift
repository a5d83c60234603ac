import FuelModel

/// What a tank's own readings say about its gauge: its height step, its noise, how often it reads and
/// how often a reading is a glitch. Kept in the detector state (a few hundred bytes a tank) so the
/// methods that judge the tank can be chosen and weighed by the data they actually get.
///
/// - Step: the smallest height change seen between two readings.
/// - Noise: from second differences of height over *quiet* triplets (no sale of the tank between
///   the first and the last reading): for independent noise of standard deviation σ the second
///   difference has standard deviation σ·√6; a robust scale (1.4826 × the median absolute value)
///   keeps a delivery or a glitch from inflating it.
/// - Interval: the median time between readings.
public struct GaugeQuality: Hashable, Sendable, Codable {
    /// Readings seen, and those found to be glitches.
    public private(set) var readings = 0
    public private(set) var glitches = 0
    /// The smallest non-zero height change seen (mm).
    public private(set) var stepMM: Double?
    /// Recent quiet second differences of height (mm) and intervals (s), newest last.
    @Figures var secondDifferences: [Double] = []
    @Figures var intervals: [Double] = []
    /// The last two readings' height (mm) and time, and whether the tank sold in between.
    @Figures var lastHeights: [Double] = []
    var lastAt: Timestamp?
    /// Intervals counted since the median was known, and those that skipped a reading (nil in states
    /// saved before they were kept).
    var intervalsCounted: Int?
    var intervalsSkipped: Int?
    var soldSinceLast = false
    var soldBeforeLast = false

    /// How many recent values the estimates keep (the state stays a few hundred bytes a tank).
    static let window = 48

    public init() {}

    /// A sale from this tank happened since the last reading.
    mutating func sale() { soldSinceLast = true }

    /// A reading (its height when the gauge reports one) at `at`.
    mutating func reading(heightMM: Double?, at: Timestamp) {
        readings += 1
        if let last = lastAt, at > last {
            let interval = last.seconds(to: at)
            if let median = intervalSeconds {
                intervalsCounted = (intervalsCounted ?? 0) + 1
                if interval > 1.5 * median { intervalsSkipped = (intervalsSkipped ?? 0) + 1 }
            }
            Self.push(interval, to: &intervals)
        }
        lastAt = at
        let quiet = !soldSinceLast && !soldBeforeLast
        soldBeforeLast = soldSinceLast
        soldSinceLast = false
        guard let h = heightMM else { return }
        if let previous = lastHeights.last {
            // To 0.1 µm: decimal heights differ by binary fractions (0.00999… for 0.01).
            let change = (abs(h - previous) * 10_000).rounded() / 10_000
            if change > 0 { stepMM = min(stepMM ?? change, change) }
        }
        if lastHeights.count == 2, quiet {
            // Rounded to 0.1 µm: the stored state stays short.
            Self.push(((h - 2 * lastHeights[1] + lastHeights[0]) * 10_000).rounded() / 10_000, to: &secondDifferences)
        }
        lastHeights.append(h)
        if lastHeights.count > 2 { lastHeights.removeFirst() }
    }

    /// A reading turned out to be a glitch (it jumped and came back).
    mutating func glitch() { glitches += 1 }

    /// Standard deviation of the height noise of the readings as reported (rounding to the step
    /// included), from at least 12 quiet triplets; nil before.
    public var noiseMM: Double? {
        guard secondDifferences.count >= 12 else { return nil }
        let mad = Self.median(secondDifferences.map(abs))
        return 1.4826 * mad / 6.0.squareRoot()
    }

    /// The median time between readings (s), from at least three intervals.
    public var intervalSeconds: Double? { intervals.count >= 3 ? Self.median(intervals) : nil }

    /// Share of intervals that skipped at least one reading (longer than 1.5 × the median) — how
    /// often the feed loses a reading — over every interval since the median was known, with
    /// ``lossPrior`` counted beforehand: a short clean run does not claim a gauge never loses a
    /// reading, and the share settles as the intervals add up. Counted from the first interval on,
    /// so a new tank's silence is judged as cautiously as a feed that loses one reading in ten (with
    /// nothing counted until 12 intervals, a gauge that does lose one in ten was judged as a clean
    /// one for its first hours, and two readings lost in a row passed for a silent tank). Nil
    /// before the median is known.
    public var lossShare: Double? {
        guard intervalSeconds != nil else { return nil }
        return (Double(intervalsSkipped ?? 0) + Self.lossPrior.skipped) / (Double(intervalsCounted ?? 0) + Self.lossPrior.intervals)
    }

    /// The intervals counted before any are seen, and how many of them skipped a reading: a prior
    /// of one lost in ten, which a few days of a feed's own record outweigh.
    static let lossPrior = (skipped: 1.0, intervals: 10.0)

    /// Share of readings that were glitches.
    public var glitchShare: Double { readings == 0 ? 0 : Double(glitches) / Double(readings) }

    /// Appends `v`, keeping the newest `limit` values.
    static func push(_ v: Double, to values: inout [Double], limit: Int = window) {
        values.append(v)
        if values.count > limit { values.removeFirst(values.count - limit) }
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
