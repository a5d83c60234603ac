import FuelModel
import FuelStore
import FuelTestSupport
import Foundation
import PostgresNIO
import Testing

/// Console sessions: idle expiry, and a last use written at most once a minute.
@Suite struct ConsoleSessionTests {
    @Test func idleExpiryAndAtMostOneWriteAMinute() async throws {
        try await TestPostgres.withDatabase { db in
            let secret = try await TokenStore(database: db).issue(role: .viewer, station: nil, name: "viewer")
            let store = ConsoleSessionStore(database: db)
            let (id, _) = try await store.signIn(secret: secret, lang: "zh", absolute: .seconds(3600))
            func lastSeenAgo() async throws -> Double {
                try await db.client.query("SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM console_sessions").collect().first!.decode(Double.self)
            }
            func backdate(_ seconds: Int) async throws {
                _ = try await db.client.query("UPDATE console_sessions SET last_seen_at = now() - make_interval(secs => \(Double(seconds)))").collect()
            }
            #expect(try await store.session(id: id, idle: .seconds(120)) != nil)
            // Seen 30 s ago: still live, and nothing written.
            try await backdate(30)
            #expect(try await store.session(id: id, idle: .seconds(120)) != nil)
            #expect(try await lastSeenAgo() >= 29)
            // Seen 90 s ago: live, and its last use moved to now.
            try await backdate(90)
            #expect(try await store.session(id: id, idle: .seconds(120)) != nil)
            #expect(try await lastSeenAgo() < 5)
            // Idle longer than allowed: gone.
            try await backdate(200)
            #expect(try await store.session(id: id, idle: .seconds(120)) == nil)
            #expect(try await store.session(id: "unknown", idle: .seconds(120)) == nil)
        }
    }
}
