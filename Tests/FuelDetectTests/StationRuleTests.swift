@testable import FuelDetect
import FuelModel
import Testing

/// Exact cases for after-hours sales, tank safety, totalizers and telemetry gaps.
@Suite struct StationRuleTests {
    static func profile(hours: String = "06:00-22:00", status: StationStatus = .active) -> StationProfile {
        StationProfile(
            station: Station(id: "S1", name: "站", city: "210100", hours: OpeningHours(hours)!, status: status,
                             tanks: [Tank(id: "T1", grade: "92", capacityL: 10_000)],
                             nozzles: [Nozzle(id: "N1", tank: "T1", maxFlowLPM: 50)]),
            ceilings: [])
    }

    /// Local (UTC+8) time on a day of November 2026.
    func local(_ day: Int, _ hhmm: String) -> Timestamp { Timestamp(rfc3339: "2026-11-\(day < 10 ? "0" : "")\(day)T\(hhmm):00+08:00")! }

    func sale(_ t: Timestamp, start: Double? = nil, end: Double? = nil, volume: Double = 30) -> Record {
        .sale(Sale(nozzle: "N1", grade: "92", volumeL: volume, unitPrice: 7.9, amount: volume * 7.9, startedAt: t,
                   endedAt: t.adding(seconds: 60), totalizerStartL: start, totalizerEndL: end))
    }

    func reading(_ t: Timestamp, volume: Double = 5000, water: Double = 2) -> Record {
        .tankReading(TankReading(tank: "T1", at: t, volumeL: volume, tcVolumeL: volume, waterMM: water, temperatureC: 20))
    }

    @Test func afterHoursAndSuspended() {
        var f = DetectorFeed(profile: Self.profile())
        f.add(sale(local(1, "21:59")))  // starts inside hours, ends after closing: legal
        #expect(f.raised.isEmpty)
        f.add(sale(local(1, "23:10")))
        #expect(f.raised.map(\.rule) == [.afterHoursSale] && f.raised[0].severity == .warning)
        #expect(f.raised[0].evidence["sale_started_local"] == .text("23:10"))
        f.add(sale(local(2, "08:00")))
        #expect(f.cleared.isEmpty)  // the day after a violation is still watched
        f.add(sale(local(3, "08:00")))
        #expect(f.cleared == ["after_hours_sale/S1/station"])

        var g = DetectorFeed(profile: Self.profile(hours: "24h", status: .suspended))
        g.add(sale(local(1, "12:00")))
        #expect(g.raised.first?.severity == .critical)
    }

    @Test func tankSafetyConditionsRaiseOnceAndClear() {
        var f = DetectorFeed(profile: Self.profile())
        f.add(reading(local(1, "08:00"), volume: 9_400, water: 60))
        f.add(reading(local(1, "08:05"), volume: 9_450, water: 61))
        #expect(Set(f.raised.map(\.subject)) == ["T1:water"])
        f.add(reading(local(1, "08:10"), volume: 9_600, water: 10))
        #expect(f.raised.map(\.subject).last == "T1:level")
        #expect(f.cleared == ["tank_safety/S1/T1:water"])
        f.add(reading(local(1, "08:15"), volume: 10_300, water: 10))
        #expect(f.raised.last?.subject == "T1:capacity" && f.raised.last?.severity == .critical)
        #expect(f.cleared.contains("tank_safety/S1/T1:level"))
    }

    /// A delivery fills the tank to 97 %; the nozzles sell 300 L before the gauge's next reading, which
    /// shows 94.2 %: the level the delivery left (9,420 + 300 L of 10,000) is an overfill all the same.
    @Test func theLevelADeliveryLeftIsJudgedFromItsFirstReadingAndTheSalesSince() {
        func delivery(end: Timestamp) -> Record {
            .delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: "B1", billNo: "BL1", grade: "92", declaredVolumeL: 4_700,
                               startedAt: end.adding(seconds: -1_200), endedAt: end))
        }
        func safety(_ f: DetectorFeed) -> [AlertSignal] { f.raised.filter { $0.rule == .tankSafety } }
        var f = DetectorFeed(profile: Self.profile(hours: "24h"))
        f.add(reading(local(1, "08:00"), volume: 5_000))
        f.add(sale(local(1, "08:15")))  // ends before the delivery does: not counted
        f.add(delivery(end: local(1, "08:20")))
        for minute in stride(from: 21, to: 30, by: 1) { f.add(sale(local(1, "08:\(minute)"))) }  // 9 × 30 L
        f.add(sale(local(1, "08:29")))  // 300 L since the end
        f.add(reading(local(1, "08:30"), volume: 9_420))
        let raised = safety(f)
        #expect(raised.map(\.subject) == ["T1:level"], "\(raised)")
        func number(_ key: String) -> Double? { if case .number(let v)? = raised.first?.evidence[key] { v } else { nil } }
        #expect(abs((number("delivered_percent") ?? 0) - 97.2) < 1e-9 && number("sold_since_delivery_l") == 300)
        #expect(abs((number("percent") ?? 0) - 94.2) < 1e-9)
        // The next reading judges only itself: back within the limit.
        f.add(reading(local(1, "08:45"), volume: 9_380))
        #expect(f.cleared.filter { $0.hasPrefix("tank_safety/") } == ["tank_safety/S1/T1:level"])

        // A delivery to 92 %, and one whose first reading comes three hours later: neither is judged an overfill.
        var g = DetectorFeed(profile: Self.profile(hours: "24h"))
        g.add(delivery(end: local(1, "10:00")))
        for minute in 1..<11 { g.add(sale(local(1, "10:\(minute < 10 ? "0" : "")\(minute)"))) }
        g.add(reading(local(1, "10:15"), volume: 8_900))  // 8,900 + 300: 92 %
        g.add(delivery(end: local(1, "11:00")))
        for minute in 1..<11 { g.add(sale(local(1, "11:\(minute < 10 ? "0" : "")\(minute)"))) }
        g.add(reading(local(1, "14:05"), volume: 9_400))  // 9,400 + 300 would say 97 %, but three hours on
        #expect(safety(g).isEmpty, "\(safety(g))")
    }

    @Test func totalizerBackwardsJumpAndSpan() {
        var f = DetectorFeed(profile: Self.profile(hours: "24h"))
        f.add(sale(local(1, "08:00"), start: 1000, end: 1030))
        f.add(sale(local(1, "08:05"), start: 1030, end: 1060))
        #expect(f.raised.isEmpty)
        f.add(sale(local(1, "08:10"), start: 1100, end: 1130))  // 40 L dispensed unrecorded
        #expect(f.raised.last?.evidence["unrecorded_l"] == .number(40))
        f.add(sale(local(1, "08:15"), start: 900, end: 930))  // backwards
        #expect(f.raised.last?.evidence["finding"] == .text("totalizer went backwards"))
        f.add(sale(local(1, "08:20"), start: 1130, end: 1170))  // span 40 L for a 30 L sale
        #expect(f.raised.last?.evidence["finding"] == .text("totalizer span differs from the sale volume"))
        #expect(f.raised.allSatisfy { $0.rule == .totalizerAnomaly && $0.subject == "N1" })
        var total = 1170.0
        for i in 0..<20 {
            f.add(sale(local(1, "09:\(i < 10 ? "0" : "")\(i)"), start: total, end: total + 30))
            total += 30
        }
        #expect(f.cleared == ["totalizer_anomaly/S1/N1"])
    }

    @Test func readingGapAndDeviceOffline() {
        var f = DetectorFeed(profile: Self.profile(hours: "24h"))
        for hhmm in ["07:45", "07:50", "07:55", "08:00"] { f.add(reading(local(1, hhmm))) }  // its interval known: 5 min
        f.add(sale(local(1, "08:20")))
        #expect(f.raised.isEmpty)
        f.add(sale(local(1, "08:45")))  // 45 min without a reading while sales go on
        #expect(f.raised.map(\.rule) == [.telemetryGap] && f.raised[0].subject == "tank T1")
        f.add(reading(local(1, "08:50")))
        #expect(f.cleared == ["telemetry_gap/S1/tank T1"])
        f.add(.deviceStatus(DeviceStatus(device: "ATG-1", at: local(1, "09:00"), state: .offline, codes: ["probe out"])))
        f.add(.deviceStatus(DeviceStatus(device: "ATG-1", at: local(1, "09:01"), state: .offline)))
        #expect(f.raised.filter { $0.subject == "device ATG-1" }.count == 1)
        f.add(.deviceStatus(DeviceStatus(device: "ATG-1", at: local(1, "09:30"), state: .online)))
        #expect(f.cleared.last == "telemetry_gap/S1/device ATG-1")
    }

    /// A collector outage silences every tank at once: one `gauges` alert, not one per tank; when
    /// readings resume it clears and the other tanks get a full gap to report before each is flagged.
    @Test func allTanksSilentIsOneGaugesAlert() {
        var p = Self.profile(hours: "24h")
        p.station.tanks.append(Tank(id: "T2", grade: "95", capacityL: 10_000))
        var f = DetectorFeed(profile: p)
        func both(_ t: Timestamp) {
            f.add(reading(t))
            f.add(.tankReading(TankReading(tank: "T2", at: t, volumeL: 4000, tcVolumeL: 4000, waterMM: 2, temperatureC: 20)))
        }
        for hhmm in ["07:45", "07:50", "07:55", "08:00"] { both(local(1, hhmm)) }
        f.add(sale(local(1, "08:45")))
        #expect(f.raised.map(\.subject) == ["gauges"])
        #expect(f.raised.first?.evidence["tanks"] == .text("T1,T2"))
        f.add(sale(local(1, "09:30")))
        #expect(f.raised.count == 1)
        f.add(reading(local(1, "09:40")))  // the collector is back: T1 first
        #expect(f.cleared == ["telemetry_gap/S1/gauges"])
        for hhmm in ["09:45", "09:50", "09:55", "10:00"] { f.add(reading(local(1, hhmm))) }  // T2 has until 10:10 to report
        #expect(f.raised.count == 1)
        f.add(reading(local(1, "10:05")))
        f.add(sale(local(1, "10:15")))
        #expect(f.raised.map(\.subject) == ["gauges", "tank T2"])
    }

    /// Before a tank's interval is known it is taken as `readingGapMinutes` (30) losing one reading in
    /// ten (the prior): p = 0.1 needs seven intervals (p⁵ is 1e-5 up to rounding, not below), 3.5 h.
    /// After, a gauge must be silent long enough that losing every reading by chance is below
    /// `readingGapChance` (1e-5), its loss share counted from its first interval on with one loss in
    /// ten beforehand: one that loses one reading in ten (p = 21/206) needs seven intervals (p⁵ =
    /// 1.1e-5, p⁶ = 1.1e-6); a clean one read 199 times (p = 1/206) four (p² = 2.4e-5, p³ = 1.1e-7).
    @Test func silenceAdaptsToTheGaugesIntervalAndLosses() {
        let th = DetectionThresholds()
        #expect(th.readingSilence(intervalSeconds: nil, lossShare: nil) == 7 * 1800)
        #expect(th.readingSilence(intervalSeconds: nil, lossShare: nil) == th.readingSilence(intervalSeconds: 1800, lossShare: 0.1))
        var clean = GaugeQuality(), lossy = GaugeQuality()
        var at = local(1, "00:00"), lossyAt = at
        for i in 0..<200 {
            clean.reading(heightMM: 1000, at: at)
            lossy.reading(heightMM: 1000, at: lossyAt)
            at = at.adding(seconds: 1800)
            lossyAt = lossyAt.adding(seconds: i % 10 == 8 ? 3600 : 1800)  // every tenth interval skips one
        }
        #expect(lossy.lossShare.map { abs($0 - 21.0 / 206) < 1e-9 } == true, "\(String(describing: lossy.lossShare))")
        #expect(th.readingSilence(intervalSeconds: lossy.intervalSeconds, lossShare: lossy.lossShare) == 7 * 1800)
        #expect(clean.lossShare.map { abs($0 - 1.0 / 206) < 1e-9 } == true, "\(String(describing: clean.lossShare))")
        #expect(th.readingSilence(intervalSeconds: clean.intervalSeconds, lossShare: clean.lossShare) == 4 * 1800)
        // Just after the interval is known (one interval counted: p = 1/11) a silence must last six
        // intervals (p⁵ = 6.2e-6), not the four a long clean record earns.
        var new = GaugeQuality()
        for i in 0..<5 { new.reading(heightMM: 1000, at: local(1, "00:00").adding(seconds: Double(i) * 1800)) }
        #expect(new.lossShare.map { abs($0 - 1.0 / 11) < 1e-9 } == true, "\(String(describing: new.lossShare))")
        #expect(th.readingSilence(intervalSeconds: new.intervalSeconds, lossShare: new.lossShare) == 6 * 1800)
    }

    /// A collector outage at night too short (or too quiet in sales) to be flagged as one: when
    /// readings resume, a tank whose first reading after it is lost is not silent since before the
    /// outage — each tank's silence counts from the first reading after it. A tank that stops while
    /// the others go on is still flagged.
    @Test func aTanksSilenceCountsFromTheEndOfAStationWideSilence() {
        let profile = StationProfile(station: Station(id: "S1", name: "站", city: "210100",
                                                      tanks: [Tank(id: "T1", grade: "92", capacityL: 30_000), Tank(id: "T2", grade: "92", capacityL: 30_000)],
                                                      nozzles: []), ceilings: [])
        let th = DetectionThresholds()
        var quality: [String: GaugeQuality] = [:]
        var rule = TelemetryGapRule()
        var events: [DetectorEvent] = []
        var seq: Int64 = 0
        func read(_ tank: String, _ at: Timestamp) {
            seq += 1
            quality[tank, default: GaugeQuality()].reading(heightMM: 1000, at: at)
            rule.reading(TankReading(tank: tank, at: at, volumeL: 20_000), chainSeq: seq, profile: profile, thresholds: th, quality: quality, emit: &events)
            rule.check(now: at, chainSeq: seq, profile: profile, thresholds: th, quality: quality, emit: &events)
        }
        var raised: [String] { events.compactMap { if case .raise(let a) = $0 { a.subject } else { nil } } }
        // Two days every 30 minutes, both tanks.
        let t0 = local(1, "00:00")
        for i in 0..<96 { for tank in ["T1", "T2"] { read(tank, t0.adding(seconds: Double(i) * 1800)) } }
        let silence = th.readingSilence(intervalSeconds: quality["T2"]?.intervalSeconds, lossShare: quality["T2"]?.lossShare)
        #expect(silence < 3.5 * 3600)
        // Nothing from either tank for 2.5 h; then T1 reads and T2's first two readings are lost.
        let back = t0.adding(seconds: 95 * 1800 + 2.5 * 3600)
        for k in 0..<3 { read("T1", back.adding(seconds: Double(k) * 1800)) }
        #expect(raised.isEmpty, "\(raised)")
        // T2 silent for the tank's own silence after the outage: flagged.
        var at = back.adding(seconds: 2 * 1800)
        while back.seconds(to: at) <= silence { at = at.adding(seconds: 1800); read("T1", at) }
        #expect(raised == ["tank T2"])
        // The alert reports T2's own last reading (before the outage) and that its silence was
        // counted from the outage's end.
        let alert = events.compactMap { if case .raise(let a) = $0 { a } else { nil } }.first { $0.subject == "tank T2" }
        let lastT2 = t0.adding(seconds: 95 * 1800)
        #expect(alert?.evidence["last_reading_at"] == .text(lastT2.rfc3339), "\(String(describing: alert?.evidence))")
        #expect(alert?.evidence["counted_from"] == .text(back.rfc3339), "\(String(describing: alert?.evidence))")
        // A probe that died an hour and a half before an outage keeps its silence through it: flagged
        // at the first reading after the outage, the outage not counted in its favour.
        rule = TelemetryGapRule()
        events = []
        for i in 0..<96 { for tank in ["T1", "T2"] where tank == "T1" || i < 93 { read(tank, t0.adding(seconds: Double(i) * 1800)) } }
        #expect(raised.isEmpty)
        read("T1", back)
        #expect(raised == ["tank T2"])
    }

    @Test func aFastStationClockIsFlaggedAndClears() {
        var f = DetectorFeed(profile: Self.profile(hours: "24h"))
        let received = local(1, "10:00")
        func add(_ at: Timestamp) {
            f.seq += 1
            f.events += f.detector.observe(
                LedgerEntry(station: "S1", chainSeq: f.seq, source: .push, sourceSeq: f.seq, record: reading(at), receivedAt: received),
                profile: f.profile, thresholds: f.thresholds)
        }
        add(local(1, "10:20"))
        add(local(1, "10:21"))
        add(local(1, "09:50"))  // late records are ordinary; the run of fast ones starts again
        add(local(1, "10:20"))
        add(local(1, "10:21"))
        #expect(f.raised.isEmpty)
        add(local(1, "10:22"))
        #expect(f.raised.map(\.subject) == ["clock"] && f.raised[0].rule == .telemetryGap)
        add(local(1, "10:01"))
        #expect(f.cleared == ["telemetry_gap/S1/clock"])
        // Entries without a receipt time (the in-process evaluation) are not judged.
        var g = DetectorFeed(profile: Self.profile(hours: "24h"))
        for m in 0..<5 { g.add(reading(local(2, "10:0\(m)"))) }
        #expect(g.raised.isEmpty)
    }
}
