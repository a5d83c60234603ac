import FuelDetect
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
        f.add(reading(local(1, "08:00")))
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
