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

    public mutating func observe(_ entry: LedgerEntry, profile: StationProfile, thresholds: DetectionThresholds) -> [DetectorEvent] {
        guard entry.chainSeq > cursor else { return [] }  // already seen: replay after a restart
        cursor = entry.chainSeq
        var events: [DetectorEvent] = []
        let at = entry.record.at
        if dataClock.map({ at > $0 }) ?? true { dataClock = at }

        clock.observe(entry, profile: profile, thresholds: thresholds, emit: &events)
        if entry.source == .push {
            seqGap.observe(seq: entry.sourceSeq, at: at, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
        }
        switch entry.record {
        case .sale(let s):
            if let (tank, tc) = tanks.sale(s, profile: profile) {
                reconciliation.sale(tank: tank, TimedVolume(from: s.startedAt, to: s.endedAt, litres: tc))
                balance.sale(s, tank: tank, tcL: tc, profile: profile)
            }
            vapour.sale(s)
            impossibleSale.sale(s, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
            afterHours.sale(s, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
            totalizer.sale(s, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
            price.price(grade: s.grade, unitPrice: s.unitPrice, at: s.endedAt, what: "sale on \(s.nozzle)",
                        chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
        case .delivery(let d):
            reconciliation.delivery(d)
            balance.delivery(d)
            deliveries.delivery(d, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
        case .tankReading(let r):
            let step = tanks.reading(r, chainSeq: entry.chainSeq, profile: profile)
            reconciliation.step(step, profile: profile, thresholds: thresholds, emit: &events)
            deliveries.step(step, profile: profile, thresholds: thresholds, emit: &events)
            balance.step(step, profile: profile, thresholds: thresholds, emit: &events)
            tankSafety.reading(r, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
            telemetry.reading(r, chainSeq: entry.chainSeq, profile: profile, emit: &events)
        case .priceChange(let p):
            price.price(grade: p.grade, unitPrice: p.unitPrice, at: p.effectiveAt, what: "posted price",
                        chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
        case .deviceStatus(let d):
            telemetry.device(d, chainSeq: entry.chainSeq, profile: profile, emit: &events)
        case .vapourReading(let v):
            vapour.reading(v, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
        case .totalizerReading:
            break
        }
        if let now = dataClock {
            deliveries.check(now: now, profile: profile, thresholds: thresholds, emit: &events)
            telemetry.check(now: now, chainSeq: entry.chainSeq, profile: profile, thresholds: thresholds, emit: &events)
        }
        return events
    }
}

extension StationDetector {
    /// Moves the cursor past entries that could not be observed (an undecodable body), so detection
    /// does not stall on them.
    public mutating func skip(to chainSeq: Int64) {
        if chainSeq > cursor { cursor = chainSeq }
    }
}
