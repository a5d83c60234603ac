import FuelModel

/// A fault injected into a simulated station, with its parameters and start time. The catalogue
/// follows the design brief's "What to flag": each fault is something a regulator must be told about.
public enum InjectedFault: Hashable, Sendable, Codable {
    /// The tank loses fuel continuously from `from`.
    case leak(tank: String, litresPerHour: Double, from: Timestamp)
    /// Fuel enters the tank over a few minutes from `at` with no delivery record (illegal oil).
    case undeclaredDelivery(tank: String, litres: Double, at: Timestamp)
    /// The grade sells at `unitPrice` from `from` to `until`.
    case priceAboveCeiling(grade: String, unitPrice: Double, from: Timestamp, until: Timestamp)
    /// Deliveries into the tank from `from` on bring only `fraction` of what the ticket declares.
    case shortDelivery(tank: String, fraction: Double, from: Timestamp)
    /// A delivery ticket for `litres` at `at` with no fuel behind it.
    case phantomDelivery(tank: String, litres: Double, at: Timestamp)
    /// The nozzle's meter registers `percent` more than it dispenses from `from` (customers short-filled).
    case nozzleShortFill(nozzle: String, percent: Double, from: Timestamp)
    /// The nozzle's electronic totalizer is reset to zero at `at`.
    case totalizerReset(nozzle: String, at: Timestamp)
    /// The station sells outside its licensed hours between `from` and `until`.
    case afterHoursSales(from: Timestamp, until: Timestamp)
    /// The tank gauge stops answering for `minutes` from `from` (sales go on).
    case gaugeOffline(from: Timestamp, minutes: Double)
    /// The station's collector loses `count` numbered records at `at` (a hole in its seq).
    case seqGap(at: Timestamp, count: Int)
    /// Water enters the tank at `mmPerHour` from `from`.
    case waterIngress(tank: String, mmPerHour: Double, from: Timestamp)
    /// A delivery at `at` fills the tank to `percent` of its capacity.
    case overfill(tank: String, percent: Double, at: Timestamp)
    /// The tank is larger than registered (a hidden compartment): a delivery at `at` fills it to
    /// `percent` of the registered capacity.
    case overCapacity(tank: String, percent: Double, at: Timestamp)
    /// The nozzle's vapour recovery fails from `from`: its A/L ratio centres on `alRatio`.
    case vapourRecoveryFailure(nozzle: String, alRatio: Double, from: Timestamp)
    /// The nozzle's A/L readings are fabricated from `from`: the same value with hardly any spread.
    case falsifiedVapour(nozzle: String, from: Timestamp)

    /// The fault's name in reports (`evaluate` rows, ground-truth files).
    public var kind: String {
        switch self {
        case .leak: "leak"
        case .undeclaredDelivery: "undeclared_delivery"
        case .priceAboveCeiling: "price_above_ceiling"
        case .shortDelivery: "short_delivery"
        case .phantomDelivery: "phantom_delivery"
        case .nozzleShortFill: "nozzle_short_fill"
        case .totalizerReset: "totalizer_reset"
        case .afterHoursSales: "after_hours_sales"
        case .gaugeOffline: "gauge_offline"
        case .seqGap: "seq_gap"
        case .waterIngress: "water_ingress"
        case .overfill: "overfill"
        case .overCapacity: "over_capacity"
        case .vapourRecoveryFailure: "vapour_recovery_failure"
        case .falsifiedVapour: "falsified_vapour"
        }
    }

    /// The rule a detector should raise for it.
    public var expectedRule: String {
        switch self {
        case .leak: "leak_suspected"
        case .undeclaredDelivery: "undeclared_delivery"
        case .priceAboveCeiling: "price_above_ceiling"
        case .shortDelivery, .phantomDelivery: "delivery_mismatch"
        case .nozzleShortFill: "meter_drift"
        case .totalizerReset: "totalizer_anomaly"
        case .afterHoursSales: "after_hours_sale"
        case .gaugeOffline: "telemetry_gap"
        case .seqGap: "seq_gap"
        case .waterIngress, .overfill, .overCapacity: "tank_safety"
        case .vapourRecoveryFailure: "vapour_recovery"
        case .falsifiedVapour: "falsified_telemetry"
        }
    }

    /// The alert subject the expected rule should name.
    public var subject: String {
        switch self {
        case .leak(let tank, _, _), .undeclaredDelivery(let tank, _, _), .shortDelivery(let tank, _, _), .phantomDelivery(let tank, _, _):
            tank
        case .priceAboveCeiling(let grade, _, _, _): grade
        case .nozzleShortFill(let nozzle, _, _), .totalizerReset(let nozzle, _), .vapourRecoveryFailure(let nozzle, _, _),
             .falsifiedVapour(let nozzle, _):
            nozzle
        case .afterHoursSales: "station"
        case .gaugeOffline: "gauges"
        case .seqGap: "push"
        case .waterIngress(let tank, _, _): "\(tank):water"
        case .overfill(let tank, _, _): "\(tank):level"
        case .overCapacity(let tank, _, _): "\(tank):capacity"
        }
    }

    /// The tank or nozzle the fault touches (for keeping faults of one station apart).
    public var touches: String {
        switch self {
        case .waterIngress(let tank, _, _), .overfill(let tank, _, _), .overCapacity(let tank, _, _): tank
        case .gaugeOffline, .seqGap, .afterHoursSales: "station"
        default: subject
        }
    }

    /// Whether an alert of `rule` on `subject` is this fault's detection (the whole gauge down is one
    /// `gauges` alert on a station with several tanks, a tank's on one with a single tank).
    /// Fuel slipped in while a declared delivery to the tank is under way (or within the window that
    /// matches rises to tickets) is that delivery's excess: found as `delivery_mismatch` ("more fuel
    /// than declared") on the tank — as it should be, since the gauge cannot tell the two loads apart.
    public func isDetection(rule: String, subject s: String) -> Bool {
        if case .undeclaredDelivery(let tank, _, _) = self, rule == "delivery_mismatch" { return s == tank }
        guard rule == expectedRule else { return false }
        if case .gaugeOffline = self { return s == subject || s.hasPrefix("tank ") }
        return s == subject
    }

    /// Whether an alert is explained by this fault: its expected finding, or what the fault
    /// legitimately sets off besides (an undeclared delivery is also a gain in that day's book; a
    /// short-filling nozzle is a stock gain of its tank). A `meter_drift` on another nozzle of the
    /// short-filling nozzle's tank is not: it sends the inspector to the wrong meter.
    public func explains(rule: String, subject s: String, station: Station) -> Bool {
        if isDetection(rule: rule, subject: s) { return true }
        let tankOfNozzle = station.nozzle(subject)?.tank
        switch self {
        case .leak(let tank, _, _):
            return [tank, "\(tank):30d"].contains(s) && rule == "reconciliation_variance"
        case .undeclaredDelivery(let tank, _, _):
            return rule == "reconciliation_variance" && s.hasPrefix(tank) || rule == "tank_safety" && s.hasPrefix("\(tank):")
        case .shortDelivery(let tank, _, _), .phantomDelivery(let tank, _, _):
            return rule == "reconciliation_variance" && s.hasPrefix(tank)
        case .nozzleShortFill:
            return s == tankOfNozzle && ["stock_gain", "reconciliation_variance"].contains(rule)
        case .vapourRecoveryFailure:
            return rule == "vapour_recovery" && tankOfNozzle.map { s == "\($0):pressure" } == true
        case .totalizerReset: return false
        case .gaugeOffline: return rule == "telemetry_gap" && s.hasPrefix("tank ")
        case .overCapacity(let tank, _, _), .overfill(let tank, _, _):
            return rule == "tank_safety" && s.hasPrefix("\(tank):")
        default: return false
        }
    }

    public var start: Timestamp {
        switch self {
        case .leak(_, _, let t), .undeclaredDelivery(_, _, let t), .priceAboveCeiling(_, _, let t, _), .shortDelivery(_, _, let t),
             .phantomDelivery(_, _, let t), .nozzleShortFill(_, _, let t), .totalizerReset(_, let t), .afterHoursSales(let t, _),
             .gaugeOffline(let t, _), .seqGap(let t, _), .waterIngress(_, _, let t), .overfill(_, _, let t), .overCapacity(_, _, let t),
             .vapourRecoveryFailure(_, _, let t), .falsifiedVapour(_, let t):
            t
        }
    }
}

/// What a simulated station should do, and the ground truth of what went wrong.
public struct StationScenario: Sendable {
    public var station: Station
    public var seed: UInt64
    public var start: Timestamp
    public var days: Double
    /// How busy the station is, over the day and over its nozzles.
    public var usage = StationUsage.ordinary
    /// Mean fills a day over the whole station (the usage's).
    public var fillsPerDay: Double {
        get { usage.fillsPerDay }
        set { usage.fillsPerDay = newValue }
    }
    /// How the station's tank gauges measure and report.
    public var gauge = GaugeProfile(name: "fine-5m")
    /// Seconds between gauge readings (the gauge profile's).
    public var readingIntervalSeconds: Double {
        get { gauge.readingIntervalSeconds }
        set { gauge.readingIntervalSeconds = newValue }
    }
    /// Posted prices per grade (must be at or below the ceilings for a clean run).
    public var prices: [String: Double]
    public var faults: [InjectedFault] = []
    /// Starting stock per tank as a share of capacity (others start between 55 % and 80 %).
    public var initialLevels: [String: Double] = [:]
    /// Whether the gasoline nozzles and tanks report vapour recovery (A/L per fill, tank pressure).
    public var vapourMonitoring = false
    /// Largest clock error (seconds) of the station's POS and gauge clocks, each drawn within ±this.
    public var maxClockSkewSeconds: Double = 0
    /// The collector's outages the gauge profile causes (`outagesPerDay`, `outageMinutes`): stretches
    /// without any reading of any tank, drawn from a random stream of their own so the ground truth
    /// is known without running the simulation. A telemetry gap they cause is a true alert.
    public var collectorOutages: [(from: Timestamp, to: Timestamp)] {
        guard gauge.outagesPerDay > 0 else { return [] }
        var rng = SeededRandom(seed: seed ^ 0x6A09_E667_F3BC_C908)
        var out: [(from: Timestamp, to: Timestamp)] = []
        var minute = 0.0
        let (low, high) = (gauge.outageMinutes.lowerBound, gauge.outageMinutes.upperBound)
        while true {
            // Exponential waits between outages: `outagesPerDay` a day on average.
            minute += rng.exponential(mean: 1440 / gauge.outagesPerDay)
            guard minute < days * 1440 else { return out }
            let length = low + rng.uniform() * (high - low)
            out.append((start.adding(seconds: minute * 60), start.adding(seconds: (minute + length) * 60)))
            minute += length
        }
    }

    public init(station: Station, seed: UInt64, start: Timestamp, days: Double, prices: [String: Double], faults: [InjectedFault] = []) {
        self.station = station
        self.seed = seed
        self.start = start
        self.days = days
        self.prices = prices
        self.faults = faults
    }
}
