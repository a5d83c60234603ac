import FuelModel
import PropertyBased
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-01T08:00:00Z", "2026-11-01T08:00:00Z"),
        ("2026-11-01T16:00:00+08:00", "2026-11-01T08:00:00Z"),
        ("2026-11-01T00:30:00-05:30", "2026-11-01T06:00:00Z"),
        ("2026-11-01 08:00:00z", "2026-11-01T08:00:00Z"),
        ("2026-11-01T08:00:00.5Z", "2026-11-01T08:00:00.5Z"),
        ("2026-11-01T08:00:00.123456789Z", "2026-11-01T08:00:00.123456Z"),
        ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
    ])
    func parsesAndNormalises(input: String, utc: String) throws {
        let t = try #require(Timestamp(rfc3339: input))
        #expect(t.rfc3339 == utc)
    }

    @Test(arguments: [
        "2026-11-01", "2026-11-01T08:00:00", "2026-13-01T08:00:00Z", "2026-02-30T08:00:00Z", "2025-02-29T00:00:00Z",
        "2026-11-01T24:00:00Z", "2026-11-01T08:00:00+8:00", "2026-11-01T08:00:00.Z", "2026-11-01T08:00:00Zjunk",
        "20261101T080000Z", "",
    ])
    func rejectsMalformed(input: String) {
        #expect(Timestamp(rfc3339: input) == nil)
    }

    @Test func epochAndKnownInstant() {
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.microseconds == 0)
        let expected: Int64 = 1_793_491_200_000_000  // date -u -d @1793491200 → 2026-11-01 00:00:00 UTC
        #expect(Timestamp(rfc3339: "2026-11-01T00:00:00Z")?.microseconds == expected)
    }

    @Test func formatParseRoundTrip() async {
        await propertyCheck(input: Gen.int(in: -2_000_000_000...4_000_000_000), Gen.int(in: 0...999_999)) { secs, micros in
            let t = Timestamp(microseconds: Int64(secs) * 1_000_000 + Int64(micros))
            #expect(Timestamp(rfc3339: t.rfc3339) == t)
        }
    }

    @Test func civilDateRoundTrip() async {
        await propertyCheck(input: Gen.int(in: -200_000...200_000)) { days in
            let d = CivilDate(daysSinceEpoch: Int64(days))
            #expect(d.daysSinceEpoch == Int64(days))
            #expect(CivilDate(iso: d.description) == d || d.year < 0 || d.year > 9999)
        }
    }

    @Test func localDayAndMinuteInShanghai() throws {
        let clock = LocalClock(timezone: "Asia/Shanghai")
        let t = try #require(Timestamp(rfc3339: "2026-11-01T16:30:00Z"))  // 00:30 next day local
        #expect(clock.day(of: t) == CivilDate(year: 2026, month: 11, day: 2))
        #expect(clock.minuteOfDay(t) == 30)
    }
}

@Suite struct OpeningHoursTests {
    @Test func parsesWindowsAndAllDay() {
        #expect(OpeningHours("24h") == .allDay)
        #expect(OpeningHours("06:00-22:00") == .window(open: 360, close: 1320))
        #expect(OpeningHours("22:00-06:00") == .window(open: 1320, close: 360))
        #expect(OpeningHours("6-22") == nil)
        #expect(OpeningHours("06:00-06:00") == nil)
        #expect(OpeningHours("25:00-06:00") == nil)
    }

    @Test func openWithinWindowIncludingMidnightCrossing() throws {
        let day = try #require(OpeningHours("06:00-22:00"))
        #expect(day.isOpen(minuteOfDay: 360))
        #expect(!day.isOpen(minuteOfDay: 1320))
        #expect(!day.isOpen(minuteOfDay: 30))
        let night = try #require(OpeningHours("22:00-06:00"))
        #expect(night.isOpen(minuteOfDay: 30))
        #expect(!night.isOpen(minuteOfDay: 720))
    }
}
