import FuelModel

/// All detection for one station, as a pure state machine: feed it the station's committed ledger
/// entries in chain order and it answers with alert events. Its state is `Codable` so the daemon
/// persists it with its cursor and a restart neither loses nor repeats a condition.
public struct StationDetector: Hashable, Sendable, Codable {
    public private(set) var station: String
    /// Last chain position observed.
    public private(set) var cursor: Int64 = 0
    /// Latest data time seen (the station's data clock).
    public private(set) var dataClock: Timestamp?

    var tanks = TankTracker()
    var reconciliation = ReconciliationRule()
    var deliveries = DeliveryRule()
    var impossibleSale = ImpossibleSaleRule()
    var price = PriceCeilingRule()
    var seqGap = SeqGapRule()
    var afterHours = AfterHoursRule()
    var tankSafety = TankSafetyRule()
    var totalizer = TotalizerRule()
    var telemetry = TelemetryGapRule()
    var balance = TankBalanceRule()
    var vapour = VapourRecoveryRule()
    var clock = ClockSkewRule()

    public init(station: String) { self.station = station }

    /// Feeds the next committed entry (in chain order) to every rule; answers the alert events it causes. An entry at or before the cursor is ignored (a replay after a restart).
    public mutating func observe(_ entry: LedgerEntry, profile: StationProfile, thresholds: DetectionThresholds) -> [DetectorEvent] {
        guard entry.chainSeq > cursor else { return [] }  // already seen: replay after a restart
        cursor = entry.chainSeq
        let at = entry.record.at
        if dataClock.map({ at > $0 }) ?? true { dataClock = at }

        // The tank tracker turns sales and readings into what the tank rules need, once for all of them.
        var gaugeSteps: [GaugeStep] = []
        var saleTank: RuleContext.SaleTank?
        switch entry.record {
        case .sale(let s): saleTank = tanks.sale(s, profile: profile).map { RuleContext.SaleTank(tank: $0.tank, tcL: $0.tcL) }
        case .tankReading(let r): gaugeSteps = tanks.reading(r, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds)
        default: break
        }
        var context = RuleContext(entry: entry, profile: profile, thresholds: thresholds, now: dataClock ?? at,
                                  gaugeSteps: gaugeSteps, saleTank: saleTank, heldTanks: Set(tanks.held.keys), heldFallingTanks: tanks.heldFalling,
                                  gaugeQuality: tanks.quality)
        // Each rule's events keep their order; rules emit on fingerprints of their own, so their order
        // among each other does not change what is stored.
        clock.observe(&context)
        seqGap.observe(&context)
        reconciliation.observe(&context)
        balance.observe(&context)
        vapour.observe(&context)
        impossibleSale.observe(&context)
        afterHours.observe(&context)
        totalizer.observe(&context)
        price.observe(&context)
        tankSafety.observe(&context)
        deliveries.observe(&context)
        telemetry.observe(&context)
        return context.events
    }
}

extension StationDetector {
    /// What each tank's own readings say about its gauge (step, noise, interval, glitches), by tank.
    public var gaugeQuality: [String: GaugeQuality] { tanks.quality }

    /// Moves the cursor past entries that could not be observed (an undecodable body), so detection
    /// does not stall on them.
    public mutating func skip(to chainSeq: Int64) {
        if chainSeq > cursor { cursor = chainSeq }
    }
}
