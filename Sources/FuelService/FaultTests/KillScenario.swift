import Foundation

extension FaultTest {
    /// `kill -9` in the middle of sustained pushes from every station, then a restart on the same
    /// port. Collectors resend what was not acknowledged; the census must find every acknowledged
    /// record exactly once and complete dense chains.
    func killScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: stations, database: "fuelwarden_kill", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("kill")
        let daemon = try makeDaemon(fixture, logDirectory: logs, name: "serve")
        defer { daemon.stop() }
        var r = Result(scenario: .kill)
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            var fleet = CollectorFleet()
            fleet.recordsPerSecond = recordsPerSecond
            let control = CollectorFleet.Control()
            let pushing = Task { await fleet.drive(collectors(fixture, lines: lines), clients: [client], control: control) }
            try await Task.sleep(for: .milliseconds(Int64(seconds * 500)))
            let firstPid = daemon.pid ?? 0
            daemon.kill9()
            let killedAt = ContinuousClock.now
            print("  killed fuelwarden serve (pid \(firstPid)) with SIGKILL after \(Int(seconds / 2)) s of pushing")
            try await Task.sleep(for: .seconds(1))
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            let back = (ContinuousClock.now - killedAt) / .seconds(1)
            print(String(format: "  restarted (pid %d), ready %.1f s after the kill", daemon.pid ?? 0, back))
            try await Task.sleep(for: .milliseconds(Int64(seconds * 500)))
            control.drain()
            let done = await pushing.value
            let attempts = done.flatMap(\.attempts)
            let cut = attempts.filter { $0.status != 200 }
            r.facts.append("\(attempts.count) pushes from \(done.count) stations: \(attempts.statusSummary)")
            r.facts.append("\(cut.count) pushes failed around the kill and were resent; the daemon answered \(done.map(\.duplicatesReported).reduce(0, +)) resent records as duplicates (committed before the kill, acknowledgement lost)")
            r.facts.append(String(format: "daemon ready again %.1f s after SIGKILL", back))
            try await finish(&r, fleet: done, lines: lines, fixture: fixture)
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }
}
