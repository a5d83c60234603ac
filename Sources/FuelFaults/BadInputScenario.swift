import AsyncHTTPClient
import Foundation
import FuelClient
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelSim
import FuelStore
import FuelWire
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

extension FaultTest {
    /// Garbage, truncated, oversized and slow input on every entry point at once — the push API,
    /// the HJ 212 listener and the ATG poller's consoles — while honest collectors, an honest HJ 212
    /// device and an honest console carry on. They must keep being served; every bad input gets
    /// its clear error and its quarantine row; slow senders are cut off; memory stays bounded.
    func badInputScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: max(stations, 10), database: "fuelwarden_badinput", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("badinput")
        var r = Result(scenario: .badinput)
        let ids = fixture.registry.stations.map(\.id)
        let victim = ids[0], hjStation = ids[1], goodConsoleStation = ids[2]
        let hostileStations = Array(ids[3..<7])
        let mn = "88888880000001", password = "123456"

        // Consoles: one honest emulator, one of each hostile kind.
        var settings = ATGEmulator.Settings()
        settings.port = 0
        settings.days = 1
        settings.start = Timestamp(.now).adding(seconds: -3_600)
        let station2 = fixture.registry.stations[2], emulatorSettings = settings, log = logger
        var consoleTasks: [Task<Void, any Error>] = []
        defer { for t in consoleTasks { t.cancel() } }
        var consolePorts: [(String, Int)] = []
        let (t0, p0) = try await Self.listen { try await ATGEmulator(station: station2, settings: emulatorSettings, logger: log, onListening: $0).run() }
        consoleTasks.append(t0)
        consolePorts.append((goodConsoleStation, p0))
        for (station, mode) in zip(hostileStations, HostileConsole.Mode.allCases) {
            let (t, p) = try await Self.listen { try await HostileConsole(mode: mode).run(onListening: $0) }
            consoleTasks.append(t)
            consolePorts.append((station, p))
        }
        let feeds = "atg_consoles:\n" + consolePorts.map {
            "  - {station: \($0.0), host: 127.0.0.1, port: \($0.1), interval_seconds: 1}\n"
        }.joined() + "hj212_devices:\n  - {mn: \"\(mn)\", station: \(hjStation), password: \"\(password)\", al_ratio: {q01: N1}, tank_pressure: {p01: T1}}\n"
        try feeds.write(toFile: "\(logs)/feeds.yaml", atomically: true, encoding: .utf8)

        let hjPort = try ThrowawayCluster.freePort()
        let maxBody = 1_048_576
        let daemon = DaemonProcess(
            executable: executable, databaseURL: fixture.url, port: try ThrowawayCluster.freePort(), logPath: "\(logs)/serve.log",
            environment: [
                "FUELWARDEN_FEEDS_FILE": "\(logs)/feeds.yaml", "FUELWARDEN_FEEDS_HJ212_ENABLED": "true",
                "FUELWARDEN_FEEDS_HJ212_PORT": "\(hjPort)", "FUELWARDEN_FEEDS_HJ212_PACKET_TIMEOUT_SECONDS": "3",
                "FUELWARDEN_FEEDS_ATG_TIMEOUT_SECONDS": "2", "FUELWARDEN_FEEDS_ATG_MAX_BACKOFF_SECONDS": "2",
                "FUELWARDEN_HTTP_IDLE_TIMEOUT_SECONDS": "5", "FUELWARDEN_INGEST_BODY_TIMEOUT_SECONDS": "5",
                "FUELWARDEN_INGEST_MAX_BODY_BYTES": "\(maxBody)",
            ])
        defer { daemon.stop() }
        let lines = Self.syntheticLines()
        try await withHTTP { http in
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            let pid = daemon.pid ?? 0
            try await Task.sleep(for: .seconds(1))
            let baseline = ProcessMemory.residentBytes(pid: pid)
            let memory = Task {
                var peak = 0
                while !Task.isCancelled {
                    peak = max(peak, ProcessMemory.residentBytes(pid: pid))
                    try? await Task.sleep(for: .milliseconds(250))
                }
                return peak
            }
            let stop = CollectorFleet.Control()
            var fleet = CollectorFleet()
            fleet.recordsPerSecond = recordsPerSecond
            let control = CollectorFleet.Control()
            let honest = fixture.registry.stations.dropFirst(7).prefix(stations).map {
                Collector(station: $0.id, key: fixture.keys[$0.id]!, lines: lines)
            }
            let pushing = Task { await fleet.drive(honest, clients: [client], control: control) }
            let key = fixture.keys[victim]!
            async let garbage = Self.pushGarbage(client: client, station: victim, key: key, until: stop)
            async let oversized = Self.pushOversized(client: client, http: http, station: victim, key: key, bytes: maxBody * 3 / 2, until: stop)
            async let strangers = Self.pushUnauthenticated(client: client, station: victim, key: fixture.keys[ids[1]]!, until: stop)
            async let slow = Self.slowloris(port: daemon.port, station: victim, key: key, connections: slowConnections)
            async let hjGood = Self.honestHJ212(port: hjPort, mn: mn, password: password, until: stop)
            async let hjBad = Self.hostileHJ212(port: hjPort, mn: mn, until: stop)

            try await Task.sleep(for: .seconds(max(seconds, 12)))
            stop.drain()
            control.drain()
            let (g, o, u, s, hg, hb) = await (garbage, oversized, strangers, slow, hjGood, hjBad)
            let done = await pushing.value
            memory.cancel()
            let peak = await memory.value

            let attempts = done.flatMap(\.attempts)
            let latencies = attempts.filter { $0.status == 200 }.map(\.seconds)
            let p50 = latencies.quantile(0.5) ?? 0, p99 = latencies.quantile(0.99) ?? 0
            r.check("honest collectors served throughout", attempts.allSatisfy { $0.status == 200 } && p99 < 1,
                    String(format: "%d pushes: %@; latency p50 %.1f ms, p99 %.1f ms", attempts.count, attempts.statusSummary as NSString, p50 * 1000, p99 * 1000))
            r.check("honest HJ 212 device answered", hg.sent > 0 && hg.answered == hg.sent,
                    "\(hg.answered) of \(hg.sent) packets answered 9014")

            // Quarantine as the daemon kept it.
            let (pushRows, hjRows, atgRows, goodATG, offline) = try await fixture.withDatabase(logger: logger) { db in
                try await db.connection("bad input census") { conn in
                    func count(_ sql: PostgresQuery) async throws -> Int {
                        Int(try await conn.query(sql, logger: db.logger).collect().first?.decode(Int64.self) ?? 0)
                    }
                    let push = try await count("SELECT count(*) FROM quarantine WHERE source = 'push' AND station = \(victim)")
                    let hj = try await count("SELECT count(*) FROM quarantine WHERE source = 'hj212'")
                    var atg: [String: Int] = [:], off: [String: Int] = [:]
                    for s in hostileStations {
                        atg[s] = try await count("SELECT count(*) FROM quarantine WHERE source = 'atg' AND station = \(s)")
                        off[s] = try await count("SELECT count(*) FROM ledger WHERE station = \(s) AND source = 'atg' AND body LIKE '%offline%'")
                    }
                    let good = try await count("SELECT count(*) FROM ledger WHERE station = \(goodConsoleStation) AND source = 'atg' AND kind = 'tank_reading'")
                    return (push, hj, atg, good, off)
                }
            }
            r.check("honest console polled", goodATG > 0, "\(goodATG) tank readings from the emulator console of \(goodConsoleStation)")
            r.check("garbage pushes: every line rejected by line and field, and quarantined",
                    g.requests > 0 && g.non200 == 0 && g.rejected == g.lines && g.unclear == 0 && pushRows == g.lines + o.tooLarge,
                    "\(g.requests) pushes of \(g.lines) bad lines: \(g.rejected) rejected (\(g.unclear) without a line and reason), \(g.non200) not 200; e.g. \(g.example)")
            r.check("oversized bodies: 413 and the first 4 KiB quarantined", o.sent > 0 && o.tooLarge == o.sent,
                    "\(o.sent) bodies of \(maxBody * 3 / 2) bytes (half without Content-Length): \(o.tooLarge) answered 413; push quarantine of \(victim) holds \(pushRows) rows = \(g.lines) lines + \(o.tooLarge) bodies")
            r.check("unauthenticated and foreign pushes refused", u.sent > 0 && u.refused == u.sent,
                    "\(u.sent) sent: \(u.refused) answered 401/403")
            let headClosed = s.headers.compactMap(\.closedAfter)
            let bodyEnded = s.bodies.filter { $0.closedAfter != nil || $0.status?.contains("408") == true }
            r.check("slow senders cut off", headClosed.count == s.headers.count && bodyEnded.count == s.bodies.count
                        && (headClosed.max() ?? 0) < 5 + 4,
                    String(format: "%d connections trickling headers closed after %.1f–%.1f s (idle timeout 5 s); %d trickling a body: %d ended (%@)",
                           s.headers.count, headClosed.min() ?? 0, headClosed.max() ?? 0, s.bodies.count, bodyEnded.count,
                           (s.bodies.compactMap(\.status).first ?? "no status") as NSString))
            r.check("hostile HJ 212 input quarantined, connections closed", hb.items >= 6 && hjRows >= hb.items && hb.unclosed == 0 && hb.unanswered.isEmpty,
                    "\(hb.items) bad packets and streams (garbage, bad CRC, unknown MN, bad length, 9,999 bytes of junk, stalled) on \(hb.connections) connections: \(hjRows) quarantine rows, \(hb.refusals) refusals answered"
                        + (hb.open.isEmpty ? "" : "; left open: \(hb.open.sorted().joined(separator: ", "))")
                        + (hb.unanswered.isEmpty ? "" : "; no refusal: \(hb.unanswered.sorted().joined(separator: ", "))"))
            let consolesOK = hostileStations.allSatisfy { (offline[$0] ?? 0) > 0 }
                && (atgRows[hostileStations[0]] ?? 0) > 0 && (atgRows[hostileStations[2]] ?? 0) > 0
            r.check("hostile consoles: quarantined and marked offline", consolesOK,
                    zip(hostileStations, HostileConsole.Mode.allCases).map { "\($1.rawValue): \(atgRows[$0] ?? 0) quarantined, \(offline[$0] ?? 0) offline records" }
                        .joined(separator: "; "))
            r.check("the daemon survived it", daemon.isRunning && daemon.pid == pid,
                    daemon.isRunning ? "same process (pid \(pid)) throughout" : "fuelwarden serve exited; its log is \(logs)/serve.log")
            r.check("memory bounded", peak < 300 * 1_048_576,
                    String(format: "daemon RSS %.0f MB at the start, peak %.0f MB (limit 300 MB)", Double(baseline) / 1_048_576, Double(peak) / 1_048_576))
            try await finish(&r, fleet: done, lines: lines, fixture: fixture)
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    /// Starts a listener task and returns it with the port it bound.
    static func listen(_ run: @escaping @Sendable (@escaping @Sendable (Int) async -> Void) async throws -> Void) async throws -> (Task<Void, any Error>, Int) {
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await run { sink.yield($0) } }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw StoreError.unavailable("listener did not start") }
        return (task, port)
    }

    // MARK: push API

    struct GarbageTally: Sendable {
        var requests = 0, lines = 0, rejected = 0, unclear = 0, non200 = 0
        var example = ""
    }

    /// Bodies of 20 bad lines each: random bytes (invalid UTF-8 included), valid lines cut short,
    /// JSON of the wrong shape, wrong types, unknown kinds.
    static func pushGarbage(client: FuelwardenClient, station: String, key: String, until stop: CollectorFleet.Control) async -> GarbageTally {
        var t = GarbageTally()
        var rng = SeededRandom(seed: 99)
        let sample = SyntheticLines(start: Timestamp(.now).adding(seconds: -86_400))
        while !stop.isDraining {
            var body: [UInt8] = []
            for i in 0..<20 {
                var line: [UInt8]
                switch i % 5 {
                case 0: line = (0..<(1 + Int(rng.next() % 200))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 1:
                    let good = Array(sample.line(seq: Int64(1 + rng.next() % 1000)).utf8)
                    line = Array(good.prefix(1 + Int(rng.next() % UInt64(good.count - 1))))
                case 2: line = Array(#"{"seq":"#.utf8) + Array("\(rng.next() % 1000)".utf8) + Array(#","kind":"sale"}"#.utf8)
                case 3: line = Array(#"{"seq":12,"kind":"tank_reading","tank":7,"at":"yesterday","volume_l":"lots"}"#.utf8)
                default: line = Array(#"[1,2,3]"#.utf8)
                }
                line = line.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { line = [0x7B] }
                body += line + [0x0A]
            }
            t.requests += 1
            t.lines += 20
            guard let reply = try? await client.exchange(.POST, "/v1/stations/\(station)/records", token: key,
                                                         bytes: body, contentType: "application/x-ndjson", timeoutSeconds: 30),
                  reply.status == 200, let verdict = try? PushVerdict(jsonText: reply.body) else {
                t.non200 += 1
                continue
            }
            t.rejected += verdict.rejected.count
            t.unclear += verdict.rejected.filter { $0.line < 1 || $0.error.isEmpty }.count
            if t.example.isEmpty, let first = verdict.rejected.dropFirst(3).first { t.example = "line \(first.line): \(first.error)" }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return t
    }
}
