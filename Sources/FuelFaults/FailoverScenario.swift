import Foundation
import FuelClient
import FuelLab
import FuelPostgresFixture

extension FaultTest {
    /// A primary and a standby made with `pg_basebackup`, streaming (synchronously: a commit returns
    /// once the standby has it; or asynchronously), one daemon given both hosts in `database.url`.
    /// Under load the link to the standby is cut, a second later the primary is killed
    /// (`pg_ctl -m immediate`), and `promoteAfterSeconds` later the
    /// standby is promoted, as an operator or a cluster manager would. The daemon must answer 503
    /// with Retry-After meanwhile, write to the new primary without a restart, and — synchronously —
    /// lose nothing it acknowledged. Asynchronously, the census shows what was lost: commits the
    /// primary acknowledged but had not yet sent.
    func failoverScenario(synchronous: Bool) async throws -> Result {
        let name = synchronous ? "failover" : "failover_async"
        let fixture = try await ProvinceFixture.make(stations: stations, database: "fuelwarden_\(name)", logger: logger, print: print)
        defer { fixture.stop() }
        let standby = try ThrowawayCluster(standbyOf: fixture.cluster, name: "standby1")
        defer { standby.stop() }
        if synchronous { try fixture.cluster.setSynchronousStandbys(["standby1"]) }
        let state = try await Self.waitForReplication(primary: fixture.cluster, standby: "standby1", state: synchronous ? "sync" : "async")
        print("  standby on 127.0.0.1:\(standby.port) streaming from 127.0.0.1:\(fixture.cluster.port) (\(state))")
        let both = "postgres://postgres@127.0.0.1:\(fixture.cluster.port),127.0.0.1:\(standby.port)/\(fixture.databaseName)"
        let logs = try Self.temporaryDirectory(name)
        let daemon = DaemonProcess(executable: executable, databaseURL: both, port: try ThrowawayCluster.freePort(), logPath: "\(logs)/serve.log")
        defer { daemon.stop() }
        var r = Result(scenario: synchronous ? .failover : .failoverAsync)
        r.lossesExpected = !synchronous
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let (_, control, pushing) = try await startPushing(to: daemon, fixture, lines: lines, http: http)
            let pid = daemon.pid

            try await Task.sleep(for: .seconds(seconds / 2))
            // A partition first: the link to the standby cut a second before the primary dies (the
            // standby pointed at a port where nothing listens, its walsender ended). Synchronously,
            // commits wait for the standby and nothing is acknowledged meanwhile; asynchronously, they
            // are acknowledged and never reach it.
            try standby.psql(database: "postgres", "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=9 user=postgres'")
            try standby.psql(database: "postgres", "SELECT pg_reload_conf()")
            try fixture.cluster.psql(database: "postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication")
            try await Task.sleep(for: .seconds(1))
            try fixture.cluster.stopServer()
            let killed = ContinuousClock.now
            print("  link to the standby cut, 1 s later the primary killed (pg_ctl stop -m immediate) under load; promoting the standby in \(Int(promoteAfterSeconds)) s")
            try await Task.sleep(for: .seconds(promoteAfterSeconds))
            try standby.promote()
            let promoted = ContinuousClock.now
            print("  standby promoted (pg_ctl promote)")
            try await Task.sleep(for: .seconds(seconds / 2))
            control.drain()
            print("  draining: collectors resend what is still unacknowledged")
            let done = await pushing.value

            let attempts = done.flatMap(\.attempts)
            r.facts.append("\(attempts.count) pushes from \(done.count) stations: \(attempts.statusSummary)")
            let between = attempts.filter { $0.began >= killed + .seconds(1) && $0.began < promoted && $0.status != 200 }
            let odd = attempts.filter { $0.status != nil && $0.status != 200 && $0.status != 503 }
            let slow = between.map(\.seconds).max() ?? 0
            r.check("503 with Retry-After while there is no primary", odd.isEmpty && between.allSatisfy { $0.status == 503 && $0.retryAfter != nil } && slow <= 3,
                    String(format: "%d pushes between the kill and the promotion: %@, slowest answer %.2f s; %d answered neither 200 nor 503",
                           between.count, between.statusSummary as NSString, slow, odd.count))
            let first = attempts.filter { $0.began >= promoted && $0.status == 200 }.map { $0.began + .seconds($0.seconds) }.min()
            let recovery = first.map { ($0 - promoted) / .seconds(1) }
            r.check("writes reach the promoted standby without a restart", recovery.map { $0 < 10 } == true && daemon.pid == pid && daemon.isRunning,
                    recovery.map { String(format: "first 200 %.1f s after the promotion (%.1f s after the kill); same process (pid %d)",
                                          $0, (first! - killed) / .seconds(1), pid ?? 0) }
                        ?? "no push succeeded after the promotion")
            try await finish(&r, fleet: done, lines: lines, databaseURL: standby.url(database: fixture.databaseName))
            if !synchronous {
                r.facts.append(r.census.lost == 0
                    ? "asynchronous replication: nothing acknowledged was lost this time; what the standby had not received when the primary died would have been"
                    : "asynchronous replication: \(r.census.lost) acknowledged records lost with the primary (committed there, not yet streamed)")
            }
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    /// Waits until `standby` streams from `primary` in `state` (`sync` or `async`); answers it.
    static func waitForReplication(primary: ThrowawayCluster, standby: String, state: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        var seen = ""
        while ContinuousClock.now < deadline {
            seen = (try? primary.psql(database: "postgres",
                                      "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '\(standby)'")) ?? ""
            seen = seen.trimmingCharacters(in: .whitespacesAndNewlines)
            if seen == "streaming \(state)" { return "streaming, \(state == "sync" ? "synchronous" : "asynchronous")" }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LabError("the standby \(standby) did not reach streaming \(state) within 30 s (pg_stat_replication: \"\(seen)\")")
    }
}
