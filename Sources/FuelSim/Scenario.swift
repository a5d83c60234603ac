import FuelModel

/// A fault injected into a simulated station, with what it is and when it starts.
public enum InjectedFault: Hashable, Sendable, Codable {
    /// The tank loses fuel continuously from `from`.
    case leak(tank: String, litresPerHour: Double, from: Timestamp)
    /// Fuel enters the tank over ten minutes from `at` with no delivery record.
    case undeclaredDelivery(tank: String, litres: Double, at: Timestamp)
    /// The grade sells at `unitPrice` from `from` to `until`.
    case priceAboveCeiling(grade: String, unitPrice: Double, from: Timestamp, until: Timestamp)
    /// Deliveries into the tank from `from` on bring only `fraction` of what the ticket declares.
    case shortDelivery(tank: String, fraction: Double, from: Timestamp)
    /// A delivery ticket for `litres` at `at` with no fuel behind it.
    case phantomDelivery(tank: String, litres: Double, at: Timestamp)

    /// The rule a detector should raise for it.
    public var expectedRule: String {
        switch self {
        case .leak: "reconciliation_variance"
        case .undeclaredDelivery: "undeclared_delivery"
        case .priceAboveCeiling: "price_above_ceiling"
        case .shortDelivery, .phantomDelivery: "delivery_mismatch"
        }
    }

    /// Every rule this fault legitimately triggers on its subject: an undeclared delivery is also
    /// a reconciliation gain that day.
    public var explainedRules: Set<String> {
        switch self {
        case .undeclaredDelivery: ["undeclared_delivery", "reconciliation_variance"]
        // The book counts the declared litres the tank never got.
        case .shortDelivery, .phantomDelivery: ["delivery_mismatch", "reconciliation_variance"]
        default: [expectedRule]
        }
    }

    public var subject: String {
        switch self {
        case .leak(let tank, _, _), .undeclaredDelivery(let tank, _, _), .shortDelivery(let tank, _, _), .phantomDelivery(let tank, _, _): tank
        case .priceAboveCeiling(let grade, _, _, _): grade
        }
    }

    public var start: Timestamp {
        switch self {
        case .leak(_, _, let t), .undeclaredDelivery(_, _, let t), .priceAboveCeiling(_, _, let t, _), .shortDelivery(_, _, let t),
             .phantomDelivery(_, _, let t): t
        }
    }
}

/// What a simulated station should do, and the ground truth of what went wrong.
public struct StationScenario: Sendable {
    public var station: Station
    public var seed: UInt64
    public var start: Timestamp
    public var days: Double
    public var fillsPerDay: Double = 200
    public var readingIntervalSeconds: Double = 300
    /// Posted prices per grade (must be at or below the ceilings for a clean run).
    public var prices: [String: Double]
    public var faults: [InjectedFault] = []
    /// Starting stock per tank as a share of capacity (others start between 55 % and 80 %).
    public var initialLevels: [String: Double] = [:]

    public init(station: Station, seed: UInt64, start: Timestamp, days: Double, prices: [String: Double], faults: [InjectedFault] = []) {
        self.station = station
        self.seed = seed
        self.start = start
        self.days = days
        self.prices = prices
        self.faults = faults
    }
}
