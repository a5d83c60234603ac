import AsyncHTTPClient
import FuelPostgresFixture
import FuelService
import FuelStore
import FuelTestSupport
import Foundation
import NIOCore
import Testing

/// A primary and a hot standby of its own (`pg_basebackup`), a daemon told of both: reads named
/// for the standby go there while it keeps up and say so, writes stay on the primary, reads fall
/// back to the primary when the standby is gone, and a promotion is followed without a restart.
@Suite struct PrimaryStandbyTests {
    struct Answer {
        var status: Int
        var source: String?
        var lag: Double?
        var body: String
    }

    static func get(_ base: String, _ path: String, token: String) async throws -> Answer {
        var req = HTTPClientRequest(url: base + path)
        req.headers.add(name: "Authorization", value: "Bearer \(token)")
        let res = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
        let body = try await res.body.collect(upTo: 1 << 20)
        return Answer(status: Int(res.status.code), source: res.headers.first(name: "Fuelwarden-Read-Source"),
                      lag: res.headers.first(name: "Fuelwarden-Read-Lag-Seconds").flatMap(Double.init), body: String(buffer: body))
    }

    /// Polls `probe` every 100 ms until it answers true (at most `seconds`).
    static func eventually(_ seconds: Double, _ probe: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if (try? await probe()) == true { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func readsOnTheStandbyWritesOnThePrimaryAndAPromotionFollowed() async throws {
        let primary = try ThrowawayCluster()
        defer { primary.stop() }
        try primary.createDatabase("fw")
        let db = FuelDatabase(url: try DatabaseURL(primary.url(database: "fw")), maxConnections: 4, requestDeadline: .seconds(20),
                              logger: TestPostgres.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            _ = try await Migrator(database: db).migrate()
            let standby = try ThrowawayCluster(standbyOf: primary, name: "standby1")
            defer { standby.stop() }
            try await TestDaemon.run(on: db, tweak: { c in
                c.database.url = "postgres://postgres@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/fw"
                c.database.readURL = standby.url(database: "fw")
                c.database.maxReadLag = .seconds(5)
                c.database.requestDeadline = .seconds(3)
            }) { d in
                let s = d.registry.stations[0].id
                let key = try await d.token(.station, station: s)
                let admin = try await d.token(.admin)
                let base = d.client.baseURL
                func line(_ seq: Int) -> String {
                    #"{"seq":\#(seq),"kind":"price_change","grade":"92","unit_price":7.\#(50 + seq),"effective_at":"2026-11-01T0\#(seq):00:00Z"}"#
                }
                let v = try await d.client.push(station: s, key: key, lines: (1...3).map(line))
                #expect(v.accepted == 3)

                // The station page from the standby once it has replayed the pushes, saying so.
                var seen: Answer?
                let replicated = try await Self.eventually(15) {
                    let a = try await Self.get(base, "/v1/stations/\(s)", token: admin)
                    seen = a
                    return a.status == 200 && a.source == "standby" && a.body.contains(#""head_seq":3"#)
                }
                #expect(replicated, "last answer: \(String(describing: seen))")
                #expect((seen?.lag ?? 99) <= 5)
                let alerts = try await Self.get(base, "/v1/alerts", token: admin)
                #expect(alerts.status == 200 && alerts.source == "standby")
                // A write-and-read path stays on the primary: acknowledging is refused only for a missing alert.
                let (ackStatus, _) = try await d.client.send(.POST, "/v1/alerts/999999/ack", token: admin, body: #"{"note":"x"}"#)
                #expect(ackStatus == 404)

                // The standby gone: reads go back to the primary.
                try standby.stopServer()
                let fellBack = try await Self.eventually(10) {
                    let a = try await Self.get(base, "/v1/alerts", token: admin)
                    return a.status == 200 && a.source == "primary" && a.lag == 0
                }
                #expect(fellBack)
                try standby.startServer()
                #expect(try await Self.eventually(15) { try await Self.get(base, "/v1/alerts", token: admin).source == "standby" })

                // Failover: the primary dies; pushes answer 503 with Retry-After until the standby is promoted,
                // then land on it, the same daemon, no restart.
                try primary.stopServer()
                let refused = try await Self.eventually(10) {
                    let r = try await d.client.exchange(.POST, "/v1/stations/\(s)/records", token: key, body: line(4))
                    return r.status == 503 && r.retryAfter != nil
                }
                #expect(refused)
                try standby.promote()
                let landed = try await Self.eventually(10) {
                    try await d.client.exchange(.POST, "/v1/stations/\(s)/records", token: key, body: line(4)).status == 200
                }
                #expect(landed)
                let after = try await Self.get(base, "/v1/stations/\(s)", token: admin)
                #expect(after.status == 200 && after.source == "primary" && after.body.contains(#""head_seq":4"#))
                #expect(d.components.database.servers.primary.url.port == standby.port)
            }
        }
    }
}
