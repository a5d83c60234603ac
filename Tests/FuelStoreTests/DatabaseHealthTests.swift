import FuelPostgresFixture
import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import Testing

@Suite struct DatabaseHealthTests {
    @Test func aDownServerFailsRequestsAtOnceAndComesBack() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            db.health.markDown("database test does not answer")
            let began = ContinuousClock.now
            await #expect(throws: StoreError.self) {
                _ = try await LedgerStore(database: db).append(station: "S1", records: [Fixtures.reading(1)], rejected: [])
            }
            // Far below the request deadline (20 s here): the request did not wait for the pool.
            #expect(ContinuousClock.now - began < .seconds(3))
            #expect(db.health.unavailableError()?.description.contains("does not answer") == true)
            #expect(db.health.markUp())
            let outcome = try await LedgerStore(database: db).append(station: "S1", records: [Fixtures.reading(1)], rejected: [])
            #expect(outcome.accepted == 1)
        }
    }

    @Test func aRequestWaitingWhenTheServerGoesDownIsReleased() async throws {
        try await TestPostgres.withDatabase { db in
            let began = ContinuousClock.now
            let waiting = Task {
                try await db.connection("sleeper") { conn in
                    _ = try await conn.query("SELECT pg_sleep(10)", logger: TestPostgres.logger).collect()
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            db.health.markDown("database test went away")
            await #expect(throws: StoreError.self) { try await waiting.value }
            #expect(ContinuousClock.now - began < .seconds(5))
        }
    }

    @Test func theProbeSeesAClosedPortAsDownAndALiveServerAsUp() async throws {
        let port = try ThrowawayCluster.freePort()
        let dead = DatabaseHealth()
        let nowhere = DatabaseServers(writeURLs: [try DatabaseURL("postgres://postgres@127.0.0.1:\(port)/none")], maxConnections: 1,
                                      logger: TestPostgres.logger)
        let probe = Task { await nowhere.monitor(health: dead, interval: .milliseconds(100), timeout: .seconds(1), logger: TestPostgres.logger) }
        // Polled, not slept: CPU-bound tests running alongside may hold the cooperative threads for a while.
        try await Self.waitUntil { dead.isDown }
        probe.cancel()
        await probe.value
        #expect(dead.isDown)
        #expect(dead.outage?.reason.contains("127.0.0.1:\(port)") == true)

        try await TestPostgres.withDatabase { db in
            db.health.markDown("pretend")
            let live = Task { await db.servers.monitor(health: db.health, interval: .milliseconds(100), timeout: .seconds(2), logger: TestPostgres.logger) }
            try await Self.waitUntil { !db.health.isDown }
            live.cancel()
            await live.value
            #expect(!db.health.isDown)
            // The probe saw a primary: not in recovery, on timeline 1, with a WAL position.
            let seen = try #require(db.servers.lastProbes.first ?? nil)
            #expect(seen.answering && !seen.inRecovery && seen.timeline == 1 && seen.walPosition > 0)
            #expect(db.servers.hasPrimary)
        }
    }

    @Test func aRequestCutShortAnswersUnavailableNotCancelled() async throws {
        // The work reacts to its cancellation at once; the answer must still be the outage, every time.
        for _ in 0..<20 {
            let health = DatabaseHealth()
            let marking = Task {
                try await Task.sleep(for: .milliseconds(30))
                health.markDown("database test went away")
            }
            do {
                _ = try await withDeadline(.seconds(10), "sleeper", health: health) { try await Task.sleep(for: .seconds(10)) }
                Issue.record("the deadline did not fire")
            } catch let e as StoreError {
                #expect(e.description.contains("went away"))
            } catch {
                Issue.record("expected StoreError.unavailable, got \(error)")
            }
            _ = try? await marking.value
        }
    }

    static func waitUntil(seconds: Double = 90, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }
}

@Suite struct QuarantineTests {
    @Test func aNulByteInARejectedLineDoesNotFailThePush() async throws {
        try await TestPostgres.withDatabase { db in
            try await Fixtures.importRegistry(db)
            let outcome = try await LedgerStore(database: db).append(
                station: "S1", records: [Fixtures.reading(1)],
                rejected: [RejectedInput(line: 2, raw: "{\"seq\":2,\u{0}\"kind\"", seq: nil, reason: "line: invalid JSON at \u{0}"),
                           RejectedInput(line: 3, raw: "\u{0}\u{301}x", seq: nil, reason: "a NUL and a combining mark")])
            #expect(outcome.accepted == 1)
            let (raw, reason) = try await db.client.query("SELECT raw, reason FROM quarantine WHERE station = 'S1' ORDER BY line")
                .collect().first!.decode((String, String).self)
            #expect(raw == "{\"seq\":2,\\u0000\"kind\"")
            #expect(reason == "line: invalid JSON at \\u0000")
            let second = try await db.client.query("SELECT raw FROM quarantine WHERE station = 'S1' AND line = 3").collect().first?.decode(String.self)
            #expect(second == "\\u0000\u{301}x")
        }
    }
}
