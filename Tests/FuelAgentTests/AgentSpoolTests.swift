import FuelAgent
import GRDB
import FuelModel
import FuelWire
import Foundation
import PropertyBased
import Testing

/// The spool on a real SQLite file: numbering, natural keys (also after acknowledgement), drop
/// files with their records, the ceiling and the record saying how long it was hit, and that a
/// reopened spool carries on where it stopped.
@Suite struct AgentSpoolTests {
    static func directory() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("fw-spool-\(UUID().uuidString)").path
        return d
    }

    static func price(_ i: Int) -> AgentSpool.Item {
        AgentSpool.Item(record: .priceChange(PriceChange(grade: "92", unitPrice: 7 + Double(i) / 100, effectiveAt: Timestamp(seconds: 1_793_000_000 + Int64(i)))),
                        origin: "test")
    }

    static func reading(_ minute: Int) -> AgentSpool.Item {
        AgentSpool.Item(record: .tankReading(TankReading(tank: "T1", at: Timestamp(seconds: 1_793_000_000 + Int64(minute) * 60), volumeL: 10_000)),
                        naturalKey: "atg:c/T1/\(minute)", origin: "atg:c")
    }

    @Test func recordsAreNumberedOnceAndLeaveOnlyWhenAcknowledged() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        #expect(try spool.needsFirstSeq())
        #expect(throws: AgentError.self) { try spool.append([Self.price(0)]) }
        try spool.setFirstSeq(41)
        try spool.setFirstSeq(7)  // once only
        #expect(try spool.append([Self.price(0), Self.price(1), Self.reading(0), Self.reading(0), Self.reading(1)]) == 4)
        var batch = try spool.batch(limit: 10)
        #expect(batch.map(\.seq) == [41, 42, 43, 44])
        let line = try PushRecordCodec.decode(Array(batch[0].line.utf8))
        #expect(line.seq == 41 && line.record == Self.price(0).record)
        // Acknowledged through 42: those leave; the same console reading polled again adds nothing,
        // before and after its acknowledgement.
        _ = try spool.acknowledge(through: 42, accepted: 2, duplicates: 0, rejected: [])
        #expect(try spool.append([Self.reading(0)]) == 0)
        _ = try spool.acknowledge(through: 44, accepted: 2, duplicates: 0, rejected: [(44, "reading.tank: unknown tank T1")])
        #expect(try spool.append([Self.reading(0), Self.reading(1), Self.reading(2)]) == 1)
        // Reopened (a restart, or after kill -9: every append above was committed), it carries on.
        spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        batch = try spool.batch(limit: 10)
        #expect(batch.map(\.seq) == [45])
        let s = try spool.snapshot()
        #expect(s.acknowledgedSeq == 44 && s.nextSeq == 46 && s.acceptedTotal == 4 && s.rejectedTotal == 1 && s.spooledRecords == 1)
        #expect(s.recentEvents.contains { $0.text.contains("unknown tank T1") })
    }

    @Test func aDropFileIsDoneWhenEveryRecordOfItIsAcknowledged() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        try spool.setFirstSeq(1)
        try spool.append([Self.price(0)])
        try spool.append([Self.price(1), Self.price(2)], file: .init(name: "a.ndjson", digest: "d1", lines: 3, rejected: 1))
        try spool.append([], file: .init(name: "empty.csv", digest: "d2", lines: 1, rejected: 1))
        #expect(try spool.knowsFile(digest: "d1") && !spool.knowsFile(digest: "d3"))
        #expect(try spool.acknowledgedFiles().map(\.name) == ["empty.csv"])
        #expect(try spool.acknowledge(through: 2, accepted: 2, duplicates: 0, rejected: []).isEmpty)
        let done = try spool.acknowledge(through: 3, accepted: 1, duplicates: 0, rejected: [])
        #expect(done.map(\.name) == ["a.ndjson"])
        for f in try spool.acknowledgedFiles() { try spool.fileDone(f.id) }
        #expect(try spool.acknowledgedFiles().isEmpty && spool.snapshot().filesDone == 2)
    }

    @Test func aHalfKeptIntakeIsReportedAndAWholeOneIsNot() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        try spool.setFirstSeq(1)
        try spool.append([Self.price(0), Self.price(1)], file: .init(name: "a.ndjson", digest: "d1", lines: 2, rejected: 0))
        _ = try spool.acknowledge(through: 1, accepted: 1, duplicates: 0, rejected: [])
        #expect(try spool.consistencyProblems().isEmpty)
        // What a write cut before its commit would leave if the store kept part of a transaction:
        // a file's rows without the file's own count, and a seq beyond the next one.
        let db = try DatabaseQueue(path: spool.path)
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO files (name, digest, lines, records, rejected, state, taken_at) VALUES ('b.csv', 'd2', 2, 0, 0, 'spooled', 0);
                INSERT INTO records (seq, fields, kind, origin, file_id, collected_at) VALUES (9, '{}', 'price_change', 'test', last_insert_rowid(), 0);
                """)
        }
        let problems = try spool.consistencyProblems()
        #expect(problems.contains { $0.contains("b.csv") && $0.contains("1 records spooled against 0") }, "\(problems)")
        #expect(problems.contains { $0.contains("seq 9 at or beyond the next seq 3") }, "\(problems)")
    }

    @Test func theFaultPointIsInertUnlessArmedAndFiresOnceOnItsAppend() {
        #expect(SpoolFaultPoint(environment: [:]).dieInAppend == nil)
        #expect(SpoolFaultPoint(environment: [SpoolFaultPoint.environmentKey: "0"]).dieInAppend == nil)
        #expect(SpoolFaultPoint(environment: [SpoolFaultPoint.environmentKey: "x"]).dieInAppend == nil)
        let point = SpoolFaultPoint(environment: [SpoolFaultPoint.environmentKey: "2"])
        // Single-record appends do not count; the second of two records or more is the one.
        let fired = [1, 3, 1, 2, 5, 4].map { point.armed(records: $0) }
        #expect(fired == [false, false, false, true, false, false])
    }

    @Test func atTheCeilingNothingIsDroppedAndTheTimeFullIsRecorded() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 256 * 1024)
        try spool.setFirstSeq(1)
        var n = 0
        while try !spool.isFull() {
            try spool.append((0..<200).map { Self.price(n + $0) })
            n += 200
        }
        let t0 = Date()
        try spool.markFull(now: t0)
        #expect(try spool.snapshot().fullSince != nil)
        // Drained by uploads: below the ceiling, one device_status record says how long it was full.
        _ = try spool.acknowledge(through: Int64(n), accepted: n, duplicates: 0, rejected: [])
        #expect(try !spool.isFull())
        let seconds = try spool.clearFull(station: "agent-spool", now: t0.addingTimeInterval(3600))
        #expect(seconds == 3600)
        let batch = try spool.batch(limit: 10)
        #expect(batch.count == 1 && batch[0].seq == Int64(n + 1))
        guard case .deviceStatus(let d) = try PushRecordCodec.decode(Array(batch[0].line.utf8)).record else { Issue.record("not a status"); return }
        #expect(d.device == "agent-spool" && d.codes.contains("spool_full_seconds=3600"))
        #expect(try spool.snapshot().fullSince == nil && spool.snapshot().fullSecondsTotal == 3600)
        #expect(try spool.clearFull(station: "agent-spool") == nil)
    }

    /// Any interleaving of appends and acknowledgements: every record is sent with one seq, in
    /// order, and none is lost or sent twice.
    @Test func appendsAndAcknowledgementsNeverLoseOrRepeat() async throws {
        await propertyCheck(count: 30, input: Gen.int(in: 0...6).array(of: 1...40)) { steps in
            let dir = Self.directory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let spool = try! AgentSpool(directory: dir, maxBytes: 64 << 20)
            try! spool.setFirstSeq(1)
            var made = 0
            var sent: [Int64] = []
            for step in steps {
                if step < 4 {
                    try! spool.append((0..<step).map { Self.price(made + $0) })
                    made += step
                } else {
                    let batch = try! spool.batch(limit: step)
                    guard let last = batch.last else { continue }
                    sent += batch.map(\.seq)
                    _ = try! spool.acknowledge(through: last.seq, accepted: batch.count, duplicates: 0, rejected: [])
                }
            }
            let rest = try! spool.batch(limit: 10_000)
            sent += rest.map(\.seq)
            #expect(sent == (0..<made).map { Int64($0 + 1) })
        }
    }
}

/// The station clock against the cloud's: past the limit, and back, each spools one record.
@Suite struct ClockOffsetTests {
    @Test func aClockOffPastTheLimitIsRecordedOncePerChange() throws {
        let dir = AgentSpoolTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        try spool.setFirstSeq(1)
        #expect(try !spool.noteClockOffset(2.0))
        #expect(try spool.noteClockOffset(-95.4))
        #expect(try !spool.noteClockOffset(-96))
        #expect(try spool.noteClockOffset(1))
        let lines = try spool.batch(limit: 10).map { try PushRecordCodec.decode(Array($0.line.utf8)).record }
        guard lines.count == 2, case .deviceStatus(let off) = lines[0], case .deviceStatus(let back) = lines[1] else {
            Issue.record("expected two status records, got \(lines)")
            return
        }
        #expect(off.device == "agent-clock" && off.state == .alarm && off.codes.contains("clock_offset_seconds=-95"))
        #expect(back.state == .online && back.codes.contains("clock_offset_seconds=+1"))
        #expect(try spool.snapshot().clockOffsetSeconds == 1)
    }
}

/// The spool's schema is recorded where GRDB's migrator recorded it when the agent wrote its spool
/// through GRDB: a spool from an earlier agent opens as it is, and GRDB reads this one as migrated.
@Suite struct AgentSpoolSchemaTests {
    @Test func migrationsAreRecordedAsGRDBRecordsThemAndRunOnce() throws {
        let dir = AgentSpoolTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
            try spool.setFirstSeq(1)
            try spool.append([AgentSpoolTests.price(0)])
        }
        // Opened again (the migrations would fail on the tables they create if run twice) …
        let again = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        #expect(try again.snapshot().spooledRecords == 1)
        // … and GRDB's migrator, given the spool's migration names, has nothing left to do.
        var migrator = DatabaseMigrator()
        for name in ["1 spool", "2 hj212 keys"] {
            migrator.registerMigration(name) { _ in Issue.record("GRDB would run \(name) again") }
        }
        let queue = try DatabaseQueue(path: again.path)
        #expect(try queue.read { try migrator.hasCompletedMigrations($0) })
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }
}
