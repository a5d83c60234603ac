/// What a daily figure measures.
public enum FigureKind: String, Codable, Sendable, CaseIterable {
    /// A tank's day: closing gauge minus book stock at 20 °C (litres), band ± the allowed variance.
    case reconciliationVariance = "reconciliation_variance"
    /// A tank's leak test: the rate of the method in force (L/h) with its 95 % interval, band up to
    /// the leak threshold.
    case leakRate = "leak_rate"
    /// A nozzle's registration error (% the meter registers above what leaves the tank) with its
    /// 95 % interval, band ± the legal tolerance.
    case meterError = "meter_error"
}

/// A figure a detector measured for a tank or nozzle on one station day, kept so the console can
/// draw it over time next to the band it is judged against. A later figure for the same kind,
/// subject and day replaces an earlier one (a meter factor is re-judged through the day).
public struct DailyFigure: Hashable, Sendable, Codable {
    public var kind: FigureKind
    /// The tank or nozzle.
    public var subject: String
    /// The station's local day the figure belongs to.
    public var day: CivilDate
    /// Data time of the reading that produced it.
    public var at: Timestamp
    public var value: Double
    /// The 95 % interval around `value`, where the method gives one.
    public var low: Double?
    public var high: Double?
    /// The band the value is judged against (either end may be open).
    public var bandLow: Double?
    public var bandHigh: Double?
    /// The leak method or the fit the figure comes from, when several exist.
    public var method: String?

    public init(kind: FigureKind, subject: String, day: CivilDate, at: Timestamp, value: Double,
                low: Double? = nil, high: Double? = nil, bandLow: Double? = nil, bandHigh: Double? = nil, method: String? = nil) {
        self.kind = kind
        self.subject = subject
        self.day = day
        self.at = at
        self.value = value
        self.low = low
        self.high = high
        self.bandLow = bandLow
        self.bandHigh = bandHigh
        self.method = method
    }
}
