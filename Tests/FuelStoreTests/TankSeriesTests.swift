import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

/// The hourly roll-up of tank readings the append keeps, and the chart columns read from it and
/// from the readings: the same figures either way.
@Suite struct TankSeriesTests {
    @Test func appendsRollUpByHourAndChartsReadTheSame() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let ledger = LedgerStore(database: db)
            // Readings a minute apart from 08:01 (seq 1) to 09:30 (seq 90); volumes go down, then one
            // reading out of order (seq 91, at 08:00:30) arrives in a later batch.
            func reading(_ seq: Int64, _ at: Timestamp, _ litres: Double) -> IncomingRecord {
                IncomingRecord(line: Int(seq), raw: "", source: .push, sourceSeq: seq,
                               record: .tankReading(TankReading(tank: "T1", at: at, volumeL: litres + 50, tcVolumeL: litres)))
            }
            let first = (1...60).map { reading(Int64($0), Fixtures.t0.adding(seconds: Double($0) * 60), 20_000 - Double($0) * 10) }
            let second = (61...90).map { reading(Int64($0), Fixtures.t0.adding(seconds: Double($0) * 60), 20_000 - Double($0) * 10) }
                + [reading(91, Fixtures.t0.adding(seconds: 30), 25_000)]
            _ = try await ledger.append(station: "S1", records: first, rejected: [])
            _ = try await ledger.append(station: "S1", records: second, rejected: [])
            let hours = try await db.client.query("""
                SELECT extract(hour FROM hour)::int, min_l, max_l, last_l, readings FROM tank_hours WHERE station = 'S1' AND tank = 'T1' ORDER BY hour
                """).collect().map { try $0.decode((Int, Double, Double, Double, Int).self) }
            // 08:00–08:59: seqs 1…59 and 91; 09:00–09:30: seqs 60…90.
            #expect(hours.count == 2)
            #expect(hours[0] == (8, 19_410, 25_000, 19_410, 60) as (Int, Double, Double, Double, Int))
            #expect(hours[1] == (9, 19_100, 19_400, 19_100, 31) as (Int, Double, Double, Double, Int))

            // Two columns of a day's chart read the roll-up; the same two hours read from the readings agree.
            let store = TankSeriesStore(database: db)
            let dayStart = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!.date
            let byHour = try await store.columns(station: "S1", tank: "T1", from: dayStart, to: dayStart.addingTimeInterval(86_400), columns: 24)
            #expect(byHour.map(\.column) == [9, 10] && byHour.map(\.readings) == [60, 31])
            #expect(byHour.map(\.min) == [19_410, 19_100] && byHour.map(\.max) == [25_000, 19_400] && byHour.map(\.last) == [19_410, 19_100])
            let fine = try await store.columns(station: "S1", tank: "T1", from: Fixtures.t0.date, to: Fixtures.t0.date.addingTimeInterval(7200), columns: 2)
            #expect(fine.map(\.min) == byHour.map(\.min) && fine.map(\.max) == byHour.map(\.max) && fine.map(\.last) == byHour.map(\.last))
        }
    }
}
