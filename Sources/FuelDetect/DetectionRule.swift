import FuelModel

/// One detection rule: a pure state machine over a station's committed ledger entries. The
/// ``StationDetector`` hands every entry, in chain order, to each rule with the same
/// ``RuleContext``; a rule keeps what it needs in its own `Codable` state (persisted with the
/// detector's cursor) and emits alert events into the context.
public protocol DetectionRule: Hashable, Sendable, Codable {
    /// Looks at the context's entry and emits what it finds.
    mutating func observe(_ context: inout RuleContext)
}

/// What every rule is handed for one ledger entry: the entry, the station's registry profile, the
/// thresholds in force, the station's data clock, what the tank tracker made of the entry, and
/// the events emitted so far.
public struct RuleContext: Sendable {
    public let entry: LedgerEntry
    public let profile: StationProfile
    public let thresholds: DetectionThresholds
    /// The station's data clock: the latest data time seen, this entry included.
    public let now: Timestamp
    /// For a tank reading: the gauge steps it lets the rules see (none while the tank tracker holds a
    /// suspect reading, two when it passes a held one on with this one).
    let gaugeSteps: [GaugeStep]
    /// For a sale: the tank it drew from and its litres at 20 °C (nil when the nozzle is unknown).
    let saleTank: SaleTank?
    /// Tanks whose latest reading the tank tracker holds (a suspected glitch, or a jump not yet confirmed).
    let heldTanks: Set<String>
    /// Those of them whose held reading is below the tank's last reading handed on (it may be the
    /// level coming back from a rise).
    let heldFallingTanks: Set<String>
    /// What each tank's readings say about its gauge, by tank.
    public let gaugeQuality: [String: GaugeQuality]
    /// Alert events emitted for this entry, in order.
    public private(set) var events: [DetectorEvent] = []

    struct SaleTank: Hashable, Sendable {
        var tank: String
        var tcL: Double
    }

    init(entry: LedgerEntry, profile: StationProfile, thresholds: DetectionThresholds, now: Timestamp,
         gaugeSteps: [GaugeStep] = [], saleTank: SaleTank? = nil, heldTanks: Set<String> = [], heldFallingTanks: Set<String> = [],
         gaugeQuality: [String: GaugeQuality] = [:]) {
        self.entry = entry
        self.profile = profile
        self.thresholds = thresholds
        self.now = now
        self.gaugeSteps = gaugeSteps
        self.saleTank = saleTank
        self.heldTanks = heldTanks
        self.heldFallingTanks = heldFallingTanks
        self.gaugeQuality = gaugeQuality
    }

    /// The entry's chain position: the evidence every alert cites.
    public var chainSeq: Int64 { entry.chainSeq }

    /// Adds an alert event for this entry.
    public mutating func emit(_ event: DetectorEvent) { events.append(event) }

    /// Runs `body` with the events as the inout list the rules' helpers write to.
    mutating func emitting(_ body: (inout [DetectorEvent]) -> Void) { body(&events) }
}
