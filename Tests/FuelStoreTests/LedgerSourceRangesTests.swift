@testable import FuelStore
import FuelSim
import FuelTestSupport
import Foundation
import Testing

/// A resend of a record months old is looked up only in the months whose summarised seq ranges can
/// hold it (migration 0018, README "Years of records"), and stays exact whatever is summarised.
@Suite struct LedgerSourceRangesTests {
    static let day = 86_400.0
    static func date(_ days: Double) -> Date { Date(timeIntervalSince1970: 1_780_000_000 + days * day) }
    static func month(_ from: Double?, _ until: Double, summarised: Bool = true, _ candidates: [Int] = []) -> OlderMonthsLookup.Month {
        .init(from: from.map(date), until: date(until), summarised: summarised, candidates: candidates)
    }

    @Test func summarisedMonthsAreReadOnlyForTheKeysTheirRangesHold() {
        // Three keys; months 0–30 (the first period), 30–60 and 60–90 summarised, 90–120 not.
        let lookup = OlderMonthsLookup(months: [
            Self.month(nil, 30, [0]), Self.month(30, 60, []), Self.month(60, 90, [2, 0]), Self.month(90, 120, summarised: false),
        ], keyCount: 3)
        #expect(lookup.stretches == [
            .init(from: nil, until: Self.date(30), keys: [0]),
            .init(from: Self.date(60), until: Self.date(90), keys: [0, 2]),
            .init(from: Self.date(90), until: Self.date(120), keys: [0, 1, 2]),
        ])
    }

    @Test func adjacentMonthsReadForTheSameKeysAreOneStretch() {
        // Nothing summarised (a ledger from before migration 0018): one statement, as before it.
        let none = OlderMonthsLookup(months: [Self.month(nil, 30, summarised: false), Self.month(30, 60, summarised: false)], keyCount: 2)
        #expect(none.stretches == [.init(from: nil, until: Self.date(60), keys: [0, 1])])
        // Not across a month that is skipped.
        let apart = OlderMonthsLookup(months: [Self.month(0, 30, [1]), Self.month(30, 60, [0]), Self.month(60, 90, [1])], keyCount: 2)
        #expect(apart.stretches.map(\.keys) == [[1], [0], [1]])
        #expect(OlderMonthsLookup(months: [], keyCount: 4).stretches.isEmpty)
    }

    /// Any months, any summaries: every (key, month) pair that can hold the key is read exactly once
    /// and no other pair is read.
    @Test(arguments: 0..<300) func everyMonthThatCanHoldAKeyIsReadOnceForItAndNoOtherIs(seed: Int) {
        var rng = SeededRandom(seed: UInt64(seed))
        let keyCount = Int.random(in: 1...6, using: &rng)
        var months: [OlderMonthsLookup.Month] = []
        var edge = 0.0
        for i in 0..<Int.random(in: 0...8, using: &rng) {
            let until = edge + Double(Int.random(in: 28...31, using: &rng))
            let summarised = Bool.random(using: &rng)
            let candidates = summarised ? (0..<keyCount).filter { _ in Int.random(in: 0..<3, using: &rng) == 0 } : []
            months.append(Self.month(i == 0 ? nil : edge, until, summarised: summarised, candidates))
            edge = until
        }
        var required: Set<String> = []
        for (m, month) in months.enumerated() {
            for k in 0..<keyCount where !month.summarised || month.candidates.contains(k) { required.insert("\(k)@\(m)") }
        }
        var read: [String] = []
        for stretch in OlderMonthsLookup(months: months, keyCount: keyCount).stretches {
            let covered = months.indices.filter { m in
                (stretch.from.map { months[m].until > $0 } ?? true) && (months[m].from.map { $0 < stretch.until } ?? true)
            }
            for m in covered { for k in stretch.keys { read.append("\(k)@\(m)") } }
        }
        #expect(read.count == Set(read).count, "a pair read twice: \(read)")
        #expect(Set(read) == required)
    }

    @Test func anOldResendIsFoundInTheMonthThatHoldsIt() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            #expect(try await ledger.append(station: "S1", records: (1...5).map { Fixtures.reading($0) }, rejected: []).accepted == 5)
            #expect(try await ledger.append(station: "S2", records: (1...2).map { Fixtures.reading($0) }, rejected: []).accepted == 2)
            let first = try await TestPostgres.closeFirstLedgerPeriod(db)
            #expect(try await ledger.append(station: "S1", records: (6...8).map { Fixtures.reading($0) }, rejected: []).accepted == 3)

            // Four months on, the first period and the one after it lie before the dedupe's recent months.
            let later = Date().addingTimeInterval(122 * Self.day)
            let periods = LedgerPeriods(database: db)
            #expect(try await periods.summariseClosed(now: Date()).isEmpty, "nothing is closed yet")
            let summarised = try await periods.summariseClosed(now: later)
            #expect(summarised.first == first && summarised.count >= 2)
            #expect(try await periods.summariseClosed(now: later).isEmpty, "a month is summarised once")
            let ranges = try await TestPostgres.strings(db, """
                SELECT station || ' ' || source || ' ' || period || ' ' || min_seq || '-' || max_seq FROM ledger_source_ranges ORDER BY 1
                """)
            #expect(ranges.filter { $0.contains(first) } == ["S1 push \(first) 1-5", "S2 push \(first) 1-2"])
            #expect(ranges.filter { !$0.contains(first) }.count == 1 && ranges.contains { $0.hasSuffix(" 6-8") })

            // The lookup asks the first month for seq 3 only, the next for seq 7 only, none for 42.
            let (stations, sources, seqs) = (["S1", "S1", "S1", "S2"], ["push", "push", "push", "push"], [Int64(3), 7, 42, 2])
            let months = try await db.connection("test") { conn in
                try await LedgerStore.olderMonths(stations: stations, sources: sources, seqs: seqs,
                                                  recent: LedgerStore.recentMonths(before: later), on: conn, logger: db.logger)
            }
            let stretches = OlderMonthsLookup(months: months, keyCount: 4).stretches
            #expect(stretches.map(\.keys) == [[0, 3], [1]], "\(stretches)")
            let found = try await db.connection("test") { conn in
                try await LedgerStore.recorded(stations: stations, sources: sources, seqs: seqs, now: later, on: conn, logger: db.logger)
            }
            #expect(found["S1"].map { Set($0.keys) } == ["push/3", "push/7"] && found["S2"].map { Set($0.keys) } == ["push/2"])
            // The same keys with nothing summarised: the same answer.
            try await TestPostgres.superuser(db, "UPDATE ledger_periods SET sources_summarised_at = NULL")
            let unsummarised = try await db.connection("test") { conn in
                try await LedgerStore.recorded(stations: stations, sources: sources, seqs: seqs, now: later, on: conn, logger: db.logger)
            }
            #expect(unsummarised == found)
        }
    }
}
