import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import Testing

/// The daemon's token cache against a real database: busy stations are not looked up one by one
/// every TTL (one recheck keeps them all fresh), and a revoked key stops working within the TTL.
@Suite struct TokenCacheTests {
    @Test func oneRecheckKeepsEveryCachedKeyFreshAndARevokedKeyStopsWithinTheTTL() async throws {
        try await TestPostgres.withDatabase { db in
            try await TwoStations.importRegistry(db)
            let store = TokenStore(database: db)
            var keys: [String] = []
            for i in 0..<40 { keys.append(try await store.issue(role: .station, station: i % 2 == 0 ? "S1" : "S2", name: "collector \(i)")) }
            let ttl = Duration.seconds(1)
            let cache = TokenCache(store: store, ttl: ttl)
            for key in keys { #expect(try await cache.principal(for: key)?.role == .station) }
            #expect(cache.statistics.lookups == 40)

            // Every key used for four TTLs: looked up one by one each TTL, that would be 160 more lookups.
            let until = ContinuousClock.now + .seconds(4)
            var uses = 0
            while ContinuousClock.now < until {
                for key in keys { #expect(try await cache.principal(for: key) != nil) }
                uses += keys.count
                try await Task.sleep(for: .milliseconds(50))
            }
            let after = cache.statistics
            #expect(uses > 400)
            #expect(after.rechecks >= 3, "rechecks: \(after.rechecks)")
            #expect(after.lookups < 40 + 40, "one-by-one lookups: \(after.lookups)")

            // Revoked: refused within the TTL (and a bit for the recheck's own query), dropped by a recheck.
            let revoked = keys[7]
            let id = try #require(try await store.authenticate(secret: revoked)).tokenID
            try await store.revoke(id: id)
            let deadline = ContinuousClock.now + ttl + .milliseconds(500)
            var refused = false
            while ContinuousClock.now < deadline, !refused {
                refused = try await cache.principal(for: revoked) == nil
                if !refused { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(refused, "a revoked key was still accepted more than the TTL after its revocation")
            #expect(try await cache.principal(for: keys[8]) != nil)
            #expect(try await cache.principal(for: revoked + "x") == nil)
        }
    }

    @Test func aTTLOfZeroAsksTheDatabaseEveryTime() async throws {
        try await TestPostgres.withDatabase { db in
            try await TwoStations.importRegistry(db)
            let store = TokenStore(database: db)
            let key = try await store.issue(role: .station, station: "S1", name: "collector")
            let cache = TokenCache(store: store, ttl: .zero)
            for _ in 0..<5 { #expect(try await cache.principal(for: key)?.station == "S1") }
            #expect(cache.statistics.lookups == 5)
            #expect(cache.statistics.rechecks == 0)
        }
    }
}
