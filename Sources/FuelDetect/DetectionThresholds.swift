/// Rule thresholds; defaults are documented in `config/fuelwarden.example.yaml` (`detect.*`).
public struct DetectionThresholds: Hashable, Sendable, Codable {
    /// Daily book-vs-gauge variance allowed, as a percentage of the day's sales (40 CFR 280.43 uses 1%).
    public var reconciliationPercent: Double = 1.0
    /// Plus this many litres a day (gauge resolution, delivery tolerance).
    public var reconciliationFixedL: Double = 130
    /// A per-reading gauge rise (at 20 °C) above this starts or extends a delivery episode.
    public var riseStepL: Double = 10
    /// An episode that adds at least this many litres with no delivery record is an undeclared delivery.
    public var undeclaredMinL: Double = 150
    /// A delivery record whose window lies within this many minutes of the rise explains it.
    public var deliveryMatchMinutes: Double = 90
    /// Data-time minutes to wait for the delivery record after the rise ends before raising.
    public var undeclaredGraceMinutes: Double = 30
    /// Declared vs gauged delivery volume may differ by this share of the declared volume (%) …
    public var deliveryTolerancePercent: Double = 1.0
    /// … or by these litres, whichever is larger. Fills in progress when the delivery starts and
    /// ends are metered after the gauge saw them leave: up to ~100 L at a busy tank.
    public var deliveryToleranceL: Double = 150
    /// Flow allowed above a nozzle's rated maximum before a sale is impossible.
    public var flowTolerancePercent: Double = 5
    /// Tolerance on the price ceiling in yuan (rounding of posted prices).
    public var priceToleranceYuan: Double = 0.005
    /// Data-time seconds a seq gap may stay open before it is flagged (concurrent pushes reorder).
    public var seqGapGraceSeconds: Double = 600

    /// Water in a tank above this height (mm) is flagged.
    public var waterMaxMM: Double = 50
    /// A tank filled above this share of its capacity (%) is flagged (overfill risk).
    public var overfillPercent: Double = 95
    /// Volume above calibrated capacity (%, with gauge tolerance) suggests a hidden or re-strapped tank.
    public var overCapacityPercent: Double = 101
    /// Totalizer disagreement tolerated (litres, plus 0.5 % of the sale).
    public var totalizerToleranceL: Double = 0.05
    /// A tank whose readings stop this long (data time) while the station's other records go on is flagged.
    public var readingGapMinutes: Double = 30

    public init() {}
}
