import Foundation
import FuelClient
import FuelLab

extension FaultTest {
    /// PostgreSQL stopped hard under load for `outageSeconds`, then started again, the daemon left
    /// running. Pushes during the outage must get a fast 503 with Retry-After, `/readyz` must go red
    /// and green again, pushes must succeed again without a restart, and nothing acknowledged is lost.
    func outageScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: stations, database: "fuelwarden_outage", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("outage")
        let daemon = try makeDaemon(fixture, logDirectory: logs, name: "serve")
        defer { daemon.stop() }
        var r = Result(scenario: .outage)
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let (client, control, pushing) = try await startPushing(to: daemon, fixture, lines: lines, http: http)
            let pid = daemon.pid
            let probing = Task { await Self.probeReadiness(client) }

            try await Task.sleep(for: .seconds(seconds / 2))
            try fixture.cluster.stopServer()
            let down = ContinuousClock.now
            print("  PostgreSQL stopped (immediate) under load; starting it again in \(Int(outageSeconds)) s")
            try await Task.sleep(for: .seconds(outageSeconds))
            try fixture.cluster.startServer()
            let up = ContinuousClock.now
            print("  PostgreSQL started again")
            try await Task.sleep(for: .seconds(seconds / 2))
            control.drain()
            print("  draining: collectors resend what is still unacknowledged")
            let done = await pushing.value
            probing.cancel()
            let probes = await probing.value

            let attempts = done.flatMap(\.attempts)
            r.facts.append("\(attempts.count) pushes from \(done.count) stations: \(attempts.statusSummary)")
            // Pushes sent while the server was down (a second's margin after the stop for pool connections to notice).
            let during = attempts.filter { $0.began >= down + .seconds(1) && $0.began < up }
            let failedDuring = during.filter { $0.status != 200 }
            let latencies = failedDuring.map(\.seconds)
            let p99 = latencies.quantile(0.99) ?? 0
            let worst = latencies.max() ?? 0
            let not503 = failedDuring.filter { $0.status != 503 }
            let noRetryAfter = failedDuring.filter { $0.status == 503 && $0.retryAfter == nil }
            r.check("fast 503 during the outage", !failedDuring.isEmpty && not503.isEmpty && noRetryAfter.isEmpty && p99 <= 2 && worst <= 3,
                    String(format: "%d pushes during the outage: %@; answered in p50 %.2f s, p99 %.2f s, worst %.2f s; %d without Retry-After",
                           during.count, during.statusSummary as NSString, latencies.quantile(0.5) ?? 0, p99, worst,
                           noRetryAfter.count))
            let atStop = attempts.filter { $0.began >= down - .seconds(2) && $0.began < down + .seconds(1) && $0.status != 200 }
            if let slowest = atStop.map(\.seconds).max() {
                r.facts.append(String(format: "%d pushes in flight when PostgreSQL stopped failed (%@) within %.2f s", atStop.count,
                                      atStop.statusSummary as NSString, slowest))
            }
            let odd = attempts.filter { $0.status != nil && $0.status != 200 && $0.status != 503 }
            r.check("a database outage answers 503, never another error", odd.isEmpty,
                    odd.isEmpty ? "all failed pushes answered 503" : "\(odd.count) answered \(odd.statusSummary): \(odd.first?.error?.prefix(200) ?? "")")
            let red = probes.first { $0.at > down && $0.status != 200 }
            let green = probes.first { $0.at > up && $0.status == 200 }
            let redAfter = red.map { ($0.at - down) / .seconds(1) }
            let greenAfter = green.map { ($0.at - up) / .seconds(1) }
            let slowestProbe = probes.map(\.seconds).max() ?? 0
            r.check("/readyz red, then green", red != nil && green != nil && slowestProbe <= 3,
                    String(format: "red %@ after the stop, green %@ after the start; slowest probe answer %.2f s",
                           redAfter.map { String(format: "%.1f s", $0) } ?? "never", greenAfter.map { String(format: "%.1f s", $0) } ?? "never",
                           slowestProbe) as String)
            let recovered = attempts.filter { $0.began >= up && $0.status == 200 }.map(\.began).min()
            let recovery = recovered.map { ($0 - up) / .seconds(1) }
            r.check("pushes succeed again without a restart", recovery.map { $0 <= 15 } == true && daemon.pid == pid && daemon.isRunning,
                    recovery.map { String(format: "first 200 %.1f s after PostgreSQL was back; same process (pid %d)", $0, pid ?? 0) }
                        ?? "no push succeeded after PostgreSQL was back")
            try await finish(&r, fleet: done, lines: lines, fixture: fixture)
            // A daemon that lived through an outage must still shut down when told to: a shutdown that
            // hangs keeps a supervisor waiting. (It did, 2026-12-02: a chain verification caught by the
            // outage waited forever on its dead connection; long work now fails when the database is
            // found down, and a cancelled caller no longer waits for a driver call.)
            let stopping = ContinuousClock.now
            let graceful = daemon.stop(graceSeconds: 30)
            r.check("the daemon stops on SIGTERM after the outage", graceful,
                    graceful ? String(format: "exited %.1f s after SIGTERM", (ContinuousClock.now - stopping) / .seconds(1))
                             : "still running 30 s after SIGTERM; killed (its log: \(daemon.logPath))")
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    struct Probe: Sendable {
        var at: ContinuousClock.Instant
        var status: Int?
        var seconds: Double
    }

    /// `GET /readyz` every 200 ms until cancelled.
    static func probeReadiness(_ client: FuelwardenClient) async -> [Probe] {
        var probes: [Probe] = []
        while !Task.isCancelled {
            let at = ContinuousClock.now
            let status = try? await client.send(.GET, "/readyz", token: nil, timeoutSeconds: 5).0
            probes.append(Probe(at: at, status: status, seconds: (ContinuousClock.now - at) / .seconds(1)))
            try? await Task.sleep(for: .milliseconds(200))
        }
        return probes
    }
}
