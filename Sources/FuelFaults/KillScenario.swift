import Foundation
import FuelLab
import FuelClient
import FuelStore
import Logging
import PostgresNIO

extension FaultTest {
    /// `kill -9` three times in the middle of sustained pushes from every station (and an HJ 212
    /// device), each followed by a restart on the same port. Collectors resend what was not
    /// acknowledged; the census must find every acknowledged record exactly once and complete dense chains.
    func killScenario() async throws -> Result {
        // One station more than the fleet: its collector sends a 5,000-record push timed to be in flight at each kill.
        let fixture = try await ProvinceFixture.make(stations: stations + 1, database: "fuelwarden_kill", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("kill")
        // An HJ 212 device too: a 9014 is its acknowledgement, and it must hold across the kill like a 200.
        let hjStation = fixture.registry.stations[0].id
        let hj = try Self.hj212Feed(station: hjStation, directory: logs)
        let daemon = try makeDaemon(fixture, logDirectory: logs, name: "serve", environment: hj.environment)
        defer { daemon.stop() }
        var r = Result(scenario: .kill)
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            var fleet = CollectorFleet()
            fleet.recordsPerSecond = recordsPerSecond
            // Larger pushes (a collector catching up sends many records at once) keep commits in flight when the kill lands.
            fleet.batch = 25
            let control = CollectorFleet.Control()
            // Two collectors catching up after a long gap push 2,000 records at a time, back to back,
            // so a kill lands in the middle of a commit (before it, or after it and before the answer).
            var catchingUp = fleet
            catchingUp.batch = 2_000
            catchingUp.recordsPerSecond = 4_000
            let all = collectors(fixture, lines: lines)
            let steadyFleet = fleet, heavyFleet = catchingUp
            let pushing = Task {
                async let steady = steadyFleet.drive(Array(all.dropLast(2)), clients: [client], control: control)
                async let heavy = heavyFleet.drive(Array(all.suffix(2)), clients: [client], control: control)
                return await steady + heavy
            }
            let device = Task { await Self.honestHJ212(port: hj.port, mn: hj.mn, password: hj.password, until: control) }
            let extra = fixture.registry.stations[stations]
            var probe = Collector(station: extra.id, key: fixture.keys[extra.id]!, lines: lines)
            let warm = await probe.send(probe.nextBatch(size: 5_000), to: client)
            probe.settle(warm)
            // Three kills, a quarter of the run apart, each while a 5,000-record push is in flight: half
            // way through it, late in it, and the moment its commit shows in the database (before the
            // answer is out, most times).
            var downtimes: [Double] = []
            for (k, fraction) in [0.5, 0.9, -1].enumerated() {
                try await Task.sleep(for: .seconds(seconds / 4))
                let seqs = probe.nextBatch(size: 5_000)
                let snapshot = probe
                let before = try await Self.head(of: extra.id, fixture: fixture, logger: logger)
                let inFlight = Task { await snapshot.send(seqs, to: client) }
                if fraction > 0 {
                    try await Task.sleep(for: .seconds(warm.seconds * fraction))
                } else {
                    try await Self.waitForHeadChange(of: extra.id, from: before, fixture: fixture, logger: logger, seconds: warm.seconds * 3)
                }
                let pid = daemon.pid ?? 0
                daemon.kill9()
                probe.settle(await inFlight.value)
                let killedAt = ContinuousClock.now
                try await Task.sleep(for: .seconds(1))
                try daemon.start()
                try await daemon.waitUntilReady(client: client)
                downtimes.append((ContinuousClock.now - killedAt) / .seconds(1))
                let when = fraction > 0 ? String(format: "%.0f %% into", fraction * 100) : "at the commit of"
                print(String(format: "  kill %d: SIGKILL to pid %d %@ a 5,000-record push; restarted as pid %d, ready %.1f s later",
                             k + 1, pid, when as NSString, daemon.pid ?? 0, downtimes.last!))
            }
            try await Task.sleep(for: .seconds(seconds / 4))
            control.drain()
            var done = await pushing.value
            let packets = await device.value
            while !probe.isComplete {
                let a = await probe.send(probe.nextBatch(size: 5_000, fresh: false), to: client)
                probe.settle(a)
                if a.status != 200 { try await Task.sleep(for: .milliseconds(500)) }
            }
            done.append(probe)
            let attempts = done.flatMap(\.attempts)
            let cut = attempts.filter { $0.status != 200 }
            r.facts.append("\(attempts.count) pushes (25 records each; 2,000 from 2 stations catching up; 5,000 from the one timed to the kills) from \(done.count) stations: \(attempts.statusSummary)")
            r.facts.append("\(cut.count) pushes failed around the 3 kills and were resent; the daemon answered \(done.map(\.duplicatesReported).reduce(0, +)) resent records as duplicates (committed before a kill, acknowledgement lost)")
            r.facts.append(String(format: "daemon ready again %@ s after each SIGKILL", downtimes.map { String(format: "%.1f", $0) }.joined(separator: ", ") as NSString))
            try await finish(&r, fleet: done, lines: lines, fixture: fixture)
            r.census = try await fixture.withDatabase(logger: logger) { [census = r.census] db in
                var c = census
                try await c.addHJ212(station: hjStation, acknowledged: packets.acknowledged, readingsPerPacket: 2, database: db)
                return c
            }
            r.facts.append("HJ 212 device: \(packets.answered) of \(packets.sent) packets answered 9014 (unanswered ones sent again); counted with the pushes above")
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    static func head(of station: String, fixture: ProvinceFixture, logger: Logger) async throws -> Int64 {
        try await fixture.withDatabase(logger: logger) { db in
            try await db.connection("head") { conn in
                try await conn.query("SELECT head_seq FROM chain_heads WHERE station = \(station)", logger: db.logger)
                    .collect().first?.decode(Int64.self) ?? 0
            }
        }
    }

    /// Polls the station's chain head every millisecond until it moves past `from` (or `seconds` pass).
    static func waitForHeadChange(of station: String, from: Int64, fixture: ProvinceFixture, logger: Logger, seconds: Double) async throws {
        try await fixture.withDatabase(logger: logger) { db in
            try await db.connection("watch head") { conn in
                let deadline = ContinuousClock.now + .seconds(seconds)
                while ContinuousClock.now < deadline {
                    let head = try await conn.query("SELECT head_seq FROM chain_heads WHERE station = \(station)", logger: db.logger)
                        .collect().first?.decode(Int64.self) ?? 0
                    if head > from { return }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
        }
    }
}
