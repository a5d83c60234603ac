import FuelModel
import FuelSim
import FuelStore
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

/// Requests appended together in one transaction get exactly what they would get one at a time.
@Suite struct AppendCoalescingTests {
    /// Random batches over two stations (and one that is not registered): pushed readings,
    /// deliveries and sales under seqs that repeat (duplicates) or change content (seq conflicts),
    /// collected records under natural keys that repeat, bad lines. Each round goes into one
    /// database as one batch and into another one request at a time; every outcome and every
    /// table the append writes must be the same.
    @Test func aBatchGivesEachRequestTheOutcomeItWouldGetAlone() async throws {
        try await TestPostgres.withDatabase { batched in
            try await TestPostgres.withDatabase { single in
                try await Fixtures.importRegistry(batched)
                try await Fixtures.importRegistry(single)
                let together = LedgerStore(database: batched), alone = LedgerStore(database: single)
                var random = SeededRandom(seed: 19)
                var compared = 0
                for round in 0..<25 {
                    let requests = (0..<Int.random(in: 1...10, using: &random)).map { _ in RandomRequest.make(using: &random) }
                    let a = try await together.append(requests)
                    var b: [Result<AppendOutcome, StoreError>] = []
                    for r in requests { b += try await alone.append([r]) }
                    #expect(a.count == requests.count && b.count == requests.count)
                    for (i, (x, y)) in zip(a, b).enumerated() {
                        #expect(Verdict(x) == Verdict(y), "round \(round), request \(i) for \(requests[i].station)")
                        compared += 1
                    }
                }
                #expect(compared > 100)
                for table in Self.tables {
                    let x = try await TestPostgres.strings(batched, table), y = try await TestPostgres.strings(single, table)
                    #expect(x == y, "\(table)")
                    #expect(!x.isEmpty, "\(table) should have rows")
                }
            }
        }
    }

    /// What the append writes, as comparable text (the order of rows written in one statement is
    /// not the order of ids, so rows are ordered by content). Batch mixes are left out on purpose:
    /// a delivery's mix is worked out from the readings committed by then, and a batch has a
    /// later push's readings in already.
    static let tables = [
        "SELECT station || ' ' || chain_seq || ' ' || source || ' ' || source_seq || ' ' || encode(hash, 'hex') FROM ledger ORDER BY station, chain_seq",
        "SELECT station || ' ' || head_seq || ' ' || encode(head_hash, 'hex') || ' ' || coalesce(max_push_seq, -1) || ' ' || encode(records_frontier, 'hex') || ' ' || last_record_at FROM chain_heads WHERE head_seq > 0 ORDER BY station",
        "SELECT station || ' ' || source || ' ' || line || ' ' || coalesce(seq, -1) || ' ' || raw || ' ' || reason FROM quarantine ORDER BY 1",
        "SELECT station || ' ' || rule || ' ' || subject || ' ' || evidence::text FROM alerts ORDER BY 1",
        "SELECT station || ' ' || day || ' ' || records FROM station_days ORDER BY 1",
        "SELECT station || ' ' || tank || ' ' || hour || ' ' || min_l || ' ' || max_l || ' ' || last_l || ' ' || last_at || ' ' || readings FROM tank_hours ORDER BY 1",
        "SELECT station || ' ' || source || ' ' || natural_key || ' ' || source_seq FROM collected_keys ORDER BY 1",
        "SELECT station || ' ' || source || ' ' || top_seq FROM collected_heads ORDER BY 1",
    ]

    /// A batch whose commit fails answers every request with the error and stores none of them.
    @Test func aFailedCommitAppliesNoneOfTheBatch() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            // A check the database makes at commit only: a reading of exactly 666 L fails the whole transaction then.
            for statement in [
                """
                CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.body LIKE '%"volume_l":666,%' THEN RAISE EXCEPTION 'refused at commit'; END IF;
                    RETURN NEW;
                END $$
                """,
                """
                CREATE CONSTRAINT TRIGGER refuse_666 AFTER INSERT ON ledger DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW EXECUTE FUNCTION refuse_666()
                """,
            ] {
                _ = try await db.client.query(PostgresQuery(unsafeSQL: statement), logger: TestPostgres.logger).collect()
            }
            let ledger = LedgerStore(database: db)
            // The three requests must land in one batch: a wait long enough for a machine loaded by other
            // builds (at 300 ms one run in a loaded full `swift test` split them).
            let coalescer = AppendCoalescer(ledger: ledger, settings: .init(maxRecords: 1_000, maxWait: .seconds(2)), logger: TestPostgres.logger)
            async let s1 = outcome { try await coalescer.append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: []) }
            async let s2 = outcome { try await coalescer.append(station: "S2", records: [Fixtures.reading(1, volume: 666)], rejected: []) }
            async let bad = outcome {
                try await coalescer.append(station: "S2", records: [],
                                           rejected: [RejectedInput(line: 1, raw: "{", seq: nil, reason: "line: invalid JSON")])
            }
            let results = await [s1, s2, bad]
            for r in results {
                guard case .failure(let e) = r else {
                    Issue.record("a request of the failed batch was answered \(r)")
                    continue
                }
                #expect(describeDatabaseError(e).contains("refused at commit"))
            }
            #expect(coalescer.statistics.batches == 1 && coalescer.statistics.failedBatches == 1)
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger") == ["0"])
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM quarantine") == ["0"])
            #expect(try await TestPostgres.strings(db, "SELECT string_agg(head_seq::text, ',') FROM chain_heads") == ["0,0"])

            // Without the poisoned reading the same pushes go through.
            let again = try await coalescer.append(station: "S1", records: (1...3).map { Fixtures.reading($0) }, rejected: [])
            #expect(again.accepted == 3)
        }
    }

    /// Pushes waiting together share commits; each station's pushes commit in the order they
    /// arrived, and a push cancelled while it waits is not appended.
    @Test func pushesShareCommitsInArrivalOrderPerStation() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let coalescer = AppendCoalescer(ledger: LedgerStore(database: db), settings: .init(maxRecords: 40, maxWait: .milliseconds(50), transactions: 2),
                                            logger: TestPostgres.logger)
            // 60 pushes of one record each, S1 and S2 alternating, each started once the one before is queued.
            let outcomes = try await withThrowingTaskGroup(of: (Int, AppendOutcome).self) { group in
                for i in 0..<60 {
                    let station = i % 2 == 0 ? "S1" : "S2"
                    group.addTask { (i, try await coalescer.append(station: station, records: [Fixtures.reading(Int64(i / 2 + 1))], rejected: [])) }
                    while coalescer.statistics.submitted <= i { await Task.yield() }
                }
                var out: [Int: AppendOutcome] = [:]
                for try await (i, o) in group { out[i] = o }
                return out
            }
            #expect(outcomes.values.allSatisfy { $0.accepted == 1 })
            let stats = coalescer.statistics
            #expect(stats.requests == 60 && stats.records == 60)
            #expect(stats.batches < 30, "60 pushes in \(stats.batches) batches")
            // Chain order is arrival order: push k of a station holds seq k and lands at chain position k.
            for station in ["S1", "S2"] {
                let order = try await TestPostgres.strings(db, "SELECT string_agg(source_seq::text, ',' ORDER BY chain_seq) FROM ledger WHERE station = '\(station)'")
                #expect(order == [(1...30).map(String.init).joined(separator: ",")])
            }

            // Cancelled while waiting: nothing of it is appended.
            let slow = AppendCoalescer(ledger: LedgerStore(database: db), settings: .init(maxRecords: 1_000, maxWait: .seconds(2)), logger: TestPostgres.logger)
            let task = Task { try await slow.append(station: "S1", records: [Fixtures.reading(100)], rejected: []) }
            while slow.waitingRequests == 0 { await Task.yield() }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(slow.waitingRequests == 0)
            try await Task.sleep(for: .milliseconds(2_300))
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger WHERE station = 'S1' AND source_seq = 100") == ["0"])
            #expect(slow.statistics.batches == 0)
        }
    }
}

extension AppendCoalescingTests {
    /// A push stuck behind a locked head is answered 503 at its deadline, not when the lock goes.
    @Test func aPushPastItsDeadlineIsAnswered() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            var quick = db
            quick.requestDeadline = .seconds(1)
            let coalescer = AppendCoalescer(ledger: LedgerStore(database: quick), logger: TestPostgres.logger)
            let locked = Task {
                try await db.client.withTransaction(logger: TestPostgres.logger) { tx in
                    _ = try await tx.query("SELECT 1 FROM chain_heads WHERE station = 'S1' FOR UPDATE", logger: TestPostgres.logger).collect()
                    try await Task.sleep(for: .seconds(6))
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            let started = ContinuousClock.now
            await #expect(throws: StoreError.self) {
                try await coalescer.append(station: "S1", records: [Fixtures.reading(1)], rejected: [])
            }
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(900) && waited < .seconds(4), "answered after \(waited), the lock goes after 5.7 s")
            try await locked.value
            // Whether or not the batch got in after all, the caller's resend leaves the record there once.
            let resend = try await LedgerStore(database: db).append(station: "S1", records: [Fixtures.reading(1)], rejected: [])
            #expect(resend.accepted + resend.duplicates == 1)
            #expect(try await TestPostgres.strings(db, "SELECT count(*)::text FROM ledger WHERE station = 'S1'") == ["1"])
        }
    }
}

private func outcome(_ body: @Sendable () async throws -> AppendOutcome) async -> Result<AppendOutcome, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// An outcome as comparable values.
private struct Verdict: Equatable, CustomStringConvertible {
    var text: String

    init(_ r: Result<AppendOutcome, StoreError>) {
        switch r {
        case .success(let o):
            text = "accepted \(o.accepted) duplicates \(o.duplicates) conflicts \(o.conflicts) head \(o.headSeq) "
                + "rejected \(o.rejected.map { "\($0.line):\($0.seq ?? -1):\($0.reason)" }) "
                + "appended \(o.appendedByKind.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }) "
                + "dup \(o.duplicatesByKind.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" })"
        case .failure(let e): text = "failed: \(e)"
        }
    }

    var description: String { text }
}

/// Random requests over a small space of seqs, contents and keys, so that duplicates and conflicts are common.
private enum RandomRequest {
    static func make(using random: inout SeededRandom) -> AppendRequest {
        let station = ["S1", "S2", "S1", "S2", "NOPE"].randomElement(using: &random)!
        let count = Int.random(in: 0...6, using: &random)
        var rejected: [RejectedInput] = []
        if Bool.random(using: &random) && count < 4 {
            rejected.append(RejectedInput(line: 50 + Int.random(in: 0...5, using: &random), raw: "{\"seq\":", seq: nil, reason: "line 1: invalid JSON"))
        }
        if Int.random(in: 0..<4, using: &random) == 0 {
            let records = (0..<count).map { i -> CollectedRecord in
                let k = Int.random(in: 0..<12, using: &random)
                let at = Fixtures.t0.adding(seconds: Double(k) * 300)
                return CollectedRecord(key: "T1/\(at.rfc3339)", line: i + 1, raw: "i201 \(k)",
                                       record: .tankReading(TankReading(tank: "T1", at: at, volumeL: 15_000 + Double(k))))
            }
            return AppendRequest(station: station, records: .collected(.atg, records), rejected: rejected)
        }
        let records = (0..<count).map { i -> IncomingRecord in
            let seq = Int64.random(in: 1...24, using: &random)
            // Two contents per seq: the same seq with the other one is a conflict.
            let variant = Double(Int.random(in: 0..<5, using: &random) == 0 ? 1 : 0)
            let at = Fixtures.t0.adding(seconds: Double(seq) * 600)
            let record: Record
            switch seq % 8 {
            case 3:
                record = .delivery(Delivery(tank: "T1", supplier: "SUP-001", batch: "B\(seq)", billNo: "BILL-\(seq)", grade: "92",
                                            declaredVolumeL: 8_000 + variant, startedAt: at, endedAt: at.adding(seconds: 1_800)))
            case 5:
                record = .sale(Sale(nozzle: "N1", grade: "92", volumeL: 30 + variant, unitPrice: 8, amount: (30 + variant) * 8,
                                    startedAt: at, endedAt: at.adding(seconds: 90)))
            default:
                record = .tankReading(TankReading(tank: "T1", at: at, volumeL: 18_000 - Double(seq) * 10 + variant, tcVolumeL: 17_950 - Double(seq) * 10 + variant))
            }
            return IncomingRecord(line: i + 1, raw: "push \(seq)/\(variant)", source: .push, sourceSeq: seq, record: record)
        }
        return .push(station: station, records: records, rejected: rejected)
    }
}
