@testable import FuelStore
import Logging
import Testing

/// Choosing the primary and the read server from probes, and libpq's multi-host URLs: no server needed.
@Suite struct DatabaseServersTests {
    typealias Probe = DatabaseServers.Probe

    static func primary(timeline: Int = 1, wal: Double = 1000) -> Probe {
        Probe(answering: true, inRecovery: false, timeline: timeline, walPosition: wal, replayAge: nil, problem: nil)
    }
    static func standby(wal: Double, age: Double?) -> Probe {
        Probe(answering: true, inRecovery: true, timeline: 0, walPosition: wal, replayAge: age, problem: nil)
    }

    @Test func thePrimaryIsTheServerNotInRecoveryOnTheHighestTimeline() {
        let w = [true, true, true]
        #expect(DatabaseServers.choosePrimary([Self.primary(), Self.standby(wal: 1000, age: 0), .down("x")], mayWrite: w) == 0)
        // After a promotion: the old primary gone, the promoted standby writes.
        #expect(DatabaseServers.choosePrimary([.down("refused"), Self.primary(timeline: 2), nil], mayWrite: w) == 1)
        // The old primary back without being made a standby: the promoted one (higher timeline) wins, in either order.
        #expect(DatabaseServers.choosePrimary([Self.primary(timeline: 1), Self.primary(timeline: 2), nil], mayWrite: w) == 1)
        #expect(DatabaseServers.choosePrimary([Self.primary(timeline: 2), Self.primary(timeline: 1), nil], mayWrite: w) == 0)
        // Equal timelines: the first listed.
        #expect(DatabaseServers.choosePrimary([nil, Self.primary(), Self.primary()], mayWrite: w) == 1)
        // Only standbys, or nothing answering: none. A read-only server never becomes the primary.
        #expect(DatabaseServers.choosePrimary([Self.standby(wal: 1, age: 0), .down("x"), nil], mayWrite: w) == nil)
        #expect(DatabaseServers.choosePrimary([.down("x"), Self.primary()], mayWrite: [true, false]) == nil)
    }

    @Test func aStandbysLagIsNoneWhenCaughtUpElseTheAgeOfItsLastReplay() {
        let p = Self.primary(wal: 5000)
        #expect(DatabaseServers.lag(of: Self.standby(wal: 5000, age: 120), primary: p) == 0)  // idle primary: caught up
        #expect(DatabaseServers.lag(of: Self.standby(wal: 4000, age: 1.5), primary: p) == 1.5)
        #expect(DatabaseServers.lag(of: Self.standby(wal: 4000, age: nil), primary: p) == nil)
        #expect(DatabaseServers.lag(of: Self.standby(wal: 4000, age: 2), primary: nil) == 2)  // primary unknown
        #expect(DatabaseServers.lag(of: Self.standby(wal: 4000, age: -0.01), primary: p) == 0)  // clocks a hair apart
    }

    @Test func noPrimaryReasonNamesEachServer() throws {
        let a = try DatabaseURL("postgres://u@db1:5432/fw"), b = try DatabaseURL("postgres://u@db2:5433/fw")
        let servers = DatabaseServers(writeURLs: [a, b], maxConnections: 1, logger: Logger(label: "t"))
        let reason = DatabaseServers.noPrimaryReason([.down("connection refused"), Self.standby(wal: 1, age: 0)], servers: servers.servers)
        #expect(reason == "no writable primary: db1:5432: connection refused; db2:5433: a standby (in recovery)")
        let one = DatabaseServers(writeURLs: [a], maxConnections: 1, logger: Logger(label: "t"))
        #expect(DatabaseServers.noPrimaryReason([.down("timeout")], servers: one.servers).hasPrefix("database postgres://u@db1:5432/fw does not answer: timeout"))
    }

    @Test func serversNamedTwiceShareOnePool() throws {
        let a = try DatabaseURL("postgres://u@db1:5432/fw"), b = try DatabaseURL("postgres://u@db2:5432/fw")
        let s = DatabaseServers(writeURLs: [a, b], readURLs: [b, try DatabaseURL("postgres://u@db3:5432/fw")], maxConnections: 1,
                                logger: Logger(label: "t"))
        #expect(s.servers.map(\.url.host) == ["db1", "db2", "db3"])
        #expect(s.servers.map(\.mayWrite) == [true, true, false])
        #expect(s.servers.map(\.mayRead) == [false, true, true])
        // Before any probe: the first named, no read server but it.
        #expect(!s.hasPrimary && s.primary.url.host == "db1")
        #expect(s.readSource() == DatabaseServers.ReadSource(server: 0, isPrimary: true, lagSeconds: 0))
    }

    @Test func multiHostURLs() throws {
        let list = try DatabaseURL.list("postgres://fw:s%40cret@db1:5432,db2,[::1]:5434/fuel?sslmode=require")
        #expect(list.map(\.host) == ["db1", "db2", "[::1]"] || list.map(\.host) == ["db1", "db2", "::1"])
        #expect(list.map(\.port) == [5432, 5432, 5434])
        #expect(list.allSatisfy { $0.username == "fw" && $0.password == "s@cret" && $0.database == "fuel" && $0.requireTLS })
        #expect(try DatabaseURL.list("postgres://u@db1:5432/fw").count == 1)
        #expect(throws: StoreError.self) { try DatabaseURL.list("postgres://u@db1,,db2/fw") }
        #expect(throws: StoreError.self) { try DatabaseURL.list("postgres://u@db1,db2") }  // no database
    }
}
