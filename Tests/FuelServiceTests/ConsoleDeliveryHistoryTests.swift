import FuelFeeds
import FuelModel
import FuelWire
import Testing

/// Deliveries a console measured (`i202`) while its polls were missed, turned into tank readings:
/// which edges are taken, in what order, under which natural keys.
struct ConsoleDeliveryHistoryTests {
    let console = FeedsFile.ATGConsole(station: "LN-SY-0001", host: "127.0.0.1")
    let clock = LocalClock(timezone: "Asia/Shanghai")

    func time(_ digits: String) -> VeederRootTLS.ConsoleTime { VeederRootTLS.ConsoleTime(Array(digits.utf8))! }

    func delivery(tank: Int, _ start: String, _ end: String, startL: Double?, endL: Double?) -> VeederRootTLS.GaugedDelivery {
        VeederRootTLS.GaugedDelivery(tank: tank, product: "1", start: time(start), end: time(end),
                                     startVolumeL: startL, startTCVolumeL: startL.map { $0 - 10 }, startWaterMM: 3, startTemperatureC: 14,
                                     endVolumeL: endL, endTCVolumeL: endL.map { $0 - 20 }, endWaterMM: 3, endTemperatureC: 16,
                                     startHeightMM: 800, endHeightMM: 1900)
    }

    func at(_ r: CollectedRecord) -> Timestamp? {
        if case .tankReading(let t) = r.record { return t.at }
        return nil
    }

    @Test func edgesInsideTheMissedStretchBecomeReadingsInTimeOrder() {
        let deliveries = [
            delivery(tank: 1, "2611211000", "2611211040", startL: 5_000, endL: 17_000),  // wholly inside
            delivery(tank: 2, "2611210800", "2611210910", startL: 4_000, endL: 14_000),  // began before: its end only
            delivery(tank: 3, "2611211150", "2611211230", startL: 6_000, endL: 16_000),  // ends after: its start only
            delivery(tank: 4, "2611211100", "2611211130", startL: 3_000, endL: nil),     // no end volume: its start only
        ]
        let since = time("2611210900").instant(in: clock), upTo = time("2611211200").instant(in: clock)
        let out = ATGPoller<NoSink>.deliveryReadings(deliveries, console: console, clock: clock, after: since, upTo: upTo, raw: "r")
        #expect(out.compactMap(at) == ["2611210910", "2611211000", "2611211040", "2611211100", "2611211150"].map { time($0).instant(in: clock) })
        let a = time("2611211000").instant(in: clock).rfc3339, b = time("2611210800").instant(in: clock).rfc3339
        #expect(out.map(\.key) == [
            "atg:127.0.0.1:10001/T2/i202/\(b)/end", "atg:127.0.0.1:10001/T1/i202/\(a)/start", "atg:127.0.0.1:10001/T1/i202/\(a)/end",
            "atg:127.0.0.1:10001/T4/i202/\(time("2611211100").instant(in: clock).rfc3339)/start",
            "atg:127.0.0.1:10001/T3/i202/\(time("2611211150").instant(in: clock).rfc3339)/start",
        ])
        guard case .tankReading(let end) = out[2].record else { Issue.record("not a reading"); return }
        #expect(end == TankReading(tank: "T1", at: time("2611211040").instant(in: clock), volumeL: 17_000, tcVolumeL: 16_980,
                                   heightMM: 1900, ullageL: nil, waterMM: 3, temperatureC: 16, status: nil))
    }

    @Test func nothingOutsideTheStretchAndTheSameHistoryGivesTheSameKeys() {
        let d = [delivery(tank: 1, "2611211000", "2611211040", startL: 5_000, endL: 17_000)]
        let clockTime = { (s: String) in self.time(s).instant(in: self.clock) }
        #expect(ATGPoller<NoSink>.deliveryReadings(d, console: console, clock: clock, after: clockTime("2611211040"), upTo: clockTime("2611211200"), raw: "").isEmpty)
        #expect(ATGPoller<NoSink>.deliveryReadings(d, console: console, clock: clock, after: clockTime("2611210900"), upTo: clockTime("2611211000"), raw: "").isEmpty)
        let once = ATGPoller<NoSink>.deliveryReadings(d, console: console, clock: clock, after: clockTime("2611210900"), upTo: clockTime("2611211200"), raw: "")
        let again = ATGPoller<NoSink>.deliveryReadings(d, console: console, clock: clock, after: clockTime("2611210905"), upTo: clockTime("2611211300"), raw: "")
        #expect(once.map(\.key) == again.map(\.key))
    }
}

/// A sink that takes nothing: the history's conversion is pure, the poller's type needs one.
struct NoSink: FeedRecordSink {
    func clock(station: String) async throws -> LocalClock? { nil }
    func deliver(station: String, source: RecordSource, _ records: [CollectedRecord], rejected: [RejectedInput]) async throws {}
    func quarantine(station: String?, source: RecordSource, raw: String, reason: String, line: Int) async {}
    func heartbeat(station: String) async throws {}
    func describe(_ error: any Error) -> String { "\(error)" }
}
