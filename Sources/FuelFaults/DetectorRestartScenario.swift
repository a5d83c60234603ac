import Foundation
import FuelLab
import FuelClient
import FuelDetect
import FuelEvaluate
import FuelModel
import FuelSim
import FuelStore
import FuelWire
import PostgresNIO

extension FaultTest {
    /// An alert episode: opened once, updated `occurrences` times, perhaps resolved.
    struct Episode: Hashable, Sendable, CustomStringConvertible {
        var fingerprint: String
        var openedAtMs: Int64
        var occurrences: Int
        var resolved: Bool
        var description: String { "\(fingerprint) opened \(Timestamp(Date(timeIntervalSince1970: Double(openedAtMs) / 1000)).rfc3339) ×\(occurrences)\(resolved ? " resolved" : "")" }
    }

    /// Simulated stations with faults whose alerts build up over days, pushed to the daemon with a
    /// `kill -9` half way through (detection running behind the pushes, so it is cut mid-pass too).
    /// Every alert episode the daemon stored must equal what one uninterrupted in-process run of
    /// the same detectors over the same records produces: same opening, same number of raises,
    /// same resolution — none lost, none raised twice.
    func detectorScenario() async throws -> Result {
        let n = detectorStations
        let fixture = try await ProvinceFixture.make(stations: n, database: "fuelwarden_detector", logger: logger, print: print)
        defer { fixture.stop() }
        let logs = try Self.temporaryDirectory("detector")
        let daemon = try makeDaemon(fixture, logDirectory: logs, name: "serve")
        defer { daemon.stop() }
        var r = Result(scenario: .detector)

        let midnight = Timestamp(Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400))
        var plan = FaultPlan(stations: n, days: detectorDays, seed: 11, start: midnight.adding(seconds: -(detectorDays + 1) * 86_400))
        plan.kinds = ["nozzle_short_fill", "after_hours_sales", "gauge_offline", "vapour_recovery_failure", "price_above_ceiling",
                      "undeclared_delivery", "totalizer_reset", "seq_gap"]
        plan.targetLeakLPH = 3
        plan.sweepLeakLPH = [3]
        let scenarios = plan.scenarios(registry: fixture.registry, prices: DemoRegistry.prices)
        var made: [(String, [(Int64, String)])] = []
        var expected: [Episode] = []
        for s in scenarios {
            var sim = StationSimulator(s)
            let lines = sim.numbered().map { ($0.seq, PushRecordCodec.encode(PushLine(seq: $0.seq, record: $0.record))) }
            made.append((s.station.id, lines))
            expected += Self.referenceEpisodes(station: s.station, lines: lines, registry: fixture.registry)
        }
        let stationLines = made
        let total = stationLines.map(\.1.count).reduce(0, +)
        print("  \(n) simulated stations × \(Int(detectorDays)) days, \(total) records; an uninterrupted in-process run raises \(expected.count) alert episodes")

        try await withHTTP { http in
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            let acked = SharedCounter()
            let pushing = Task {
                await withTaskGroup(of: (String, Set<Int64>).self) { group in
                    for (station, lines) in stationLines {
                        let key = fixture.keys[station]!
                        group.addTask {
                            var ok = Set<Int64>()
                            var next = 0
                            while next < lines.count {
                                let chunk = lines[next..<min(lines.count, next + 500)]
                                let body = chunk.map(\.1).joined(separator: "\n") + "\n"
                                if let reply = try? await client.exchange(.POST, "/v1/stations/\(station)/records", token: key, body: body,
                                                                          contentType: "application/x-ndjson", timeoutSeconds: 30),
                                   reply.status == 200 {
                                    for (seq, _) in chunk { ok.insert(seq) }
                                    _ = acked.add(chunk.count)
                                    next += chunk.count
                                } else {
                                    try? await Task.sleep(for: .milliseconds(500))
                                }
                            }
                            return (station, ok)
                        }
                    }
                    var all: [String: Set<Int64>] = [:]
                    for await (s, ok) in group { all[s] = ok }
                    return all
                }
            }
            while acked.add(0) < total / 2 { try await Task.sleep(for: .milliseconds(20)) }
            daemon.kill9()
            let (heads, cursors) = try await fixture.withDatabase(logger: logger) { db in
                try await db.connection("state at the kill") { conn in
                    var heads: [String: Int64] = [:], cursors: [String: Int64] = [:]
                    for try await (s, h, c) in try await conn.query("""
                        SELECT h.station, h.head_seq, COALESCE(d.cursor, 0) FROM chain_heads h LEFT JOIN detector_state d USING (station)
                        """, logger: db.logger).decode((String, Int64, Int64).self) { heads[s] = h; cursors[s] = c }
                    return (heads, cursors)
                }
            }
            let headTotal = heads.values.reduce(0, +), cursorTotal = cursors.values.reduce(0, +)
            print("  killed with SIGKILL at \(headTotal) of \(total) records committed; detection had processed \(cursorTotal)")
            r.facts.append("killed at \(headTotal) of \(total) records committed, detection at \(cursorTotal) (cut mid-way)")
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            let ackedSeqs = await pushing.value
            let began = ContinuousClock.now
            let caughtUp = try await fixture.withDatabase(logger: logger) { db in
                let store = DetectionStore(database: db)
                while ContinuousClock.now - began < .seconds(300) {
                    if try await store.backlog(limit: 1).isEmpty { return true }
                    try await Task.sleep(for: .milliseconds(250))
                }
                return false
            }
            r.check("detection caught up after the restart", caughtUp, String(format: "%.1f s after the last push", (ContinuousClock.now - began) / .seconds(1)))

            let stored = try await fixture.withDatabase(logger: logger) { db in
                try await Self.storedEpisodes(stations: stationLines.map(\.0), database: db)
            }
            var remaining = stored.map(\.0)
            var lost: [Episode] = []
            for e in expected {
                if let i = remaining.firstIndex(of: e) { remaining.remove(at: i) } else { lost.append(e) }
            }
            let spanning = stored.filter { e, station, from, to in
                expected.contains(e) && from.map { $0 <= (heads[station] ?? 0) } == true && to.map { $0 > (heads[station] ?? 0) } == true
            }.count
            r.check("alerts across the restart: none lost, none raised twice", lost.isEmpty && remaining.isEmpty,
                    "\(expected.count) episodes expected, \(stored.count) stored; \(lost.count) lost, \(remaining.count) extra; \(spanning) of them span the kill (evidence from before it, updated after)")
            for e in lost.prefix(3) { r.facts.append("lost: \(e)") }
            for e in remaining.prefix(3) { r.facts.append("extra: \(e)") }

            // The ledger side: every acknowledged record once, chains dense.
            let census = try await fixture.withDatabase(logger: logger) { db in
                try await Self.seqCensus(stations: stationLines.map { ($0.0, Int64($0.1.count)) }, acked: ackedSeqs, database: db)
            }
            r.census = census
            let (ok, text) = verify(fixture)
            r.check("fuelwarden verify", ok, text)
        }
        if !r.passed { r.facts.append("daemon logs: \(logs)") } else { try? FileManager.default.removeItem(atPath: logs) }
        return r
    }

    /// What one uninterrupted run of the detectors over `lines` (in chain order) opens.
    static func referenceEpisodes(station: Station, lines: [(Int64, String)], registry: Registry) -> [Episode] {
        guard let profile = StationProfile(stationID: station.id, registry: registry) else { return [] }
        var detector = StationDetector(station: station.id)
        var episodes: [Episode] = []
        var open: [String: Int] = [:]
        var chainSeq: Int64 = 0
        for (_, line) in lines {
            guard let decoded = try? PushRecordCodec.decode(Array(line.utf8)), (try? RecordValidator.validate(decoded.record, station: station)) != nil
            else { continue }
            chainSeq += 1
            let entry = LedgerEntry(station: station.id, chainSeq: chainSeq, source: .push, sourceSeq: decoded.seq, record: decoded.record)
            for event in detector.observe(entry, profile: profile, thresholds: DetectionThresholds()) {
                switch event {
                case .raise(let s):
                    if let i = open[s.fingerprint] {
                        episodes[i].occurrences += 1
                    } else {
                        open[s.fingerprint] = episodes.count
                        episodes.append(Episode(fingerprint: s.fingerprint, openedAtMs: Int64((s.openedAt.date.timeIntervalSince1970 * 1000).rounded()),
                                                occurrences: 1, resolved: false))
                    }
                case .clear(let fp, _, _):
                    if let i = open.removeValue(forKey: fp) { episodes[i].resolved = true }
                case .measured:
                    break  // a chart's figure, not an alert
                }
            }
        }
        return episodes
    }

    /// The alert episodes the daemon stored for `stations` (the wall-clock feed sweep left out:
    /// it is not the detectors'), with their evidence's chain range.
    static func storedEpisodes(stations: [String], database db: FuelDatabase) async throws -> [(Episode, String, Int64?, Int64?)] {
        try await db.connection("stored episodes") { conn in
            var out: [(Episode, String, Int64?, Int64?)] = []
            for try await (fp, station, opened, occurrences, status, from, to) in try await conn.query("""
                SELECT fingerprint, station, opened_at, occurrences, status, seq_from, seq_to FROM alerts
                WHERE station = ANY(\(stations)) AND subject <> 'feed' ORDER BY id
                """, logger: db.logger).decode((String, String, Date, Int, String, Int64?, Int64?).self) {
                out.append((Episode(fingerprint: fp, openedAtMs: Int64((opened.timeIntervalSince1970 * 1000).rounded()), occurrences: occurrences,
                                    resolved: status == "resolved"), station, from, to))
            }
            return out
        }
    }

    /// Ledger census by seq for pushes that are not synthetic lines: every acknowledged seq stored
    /// once, each chain 1…head without holes, as many rows as records.
    static func seqCensus(stations: [(String, Int64)], acked: [String: Set<Int64>], database db: FuelDatabase) async throws -> LedgerCensus {
        try await db.connection("seq census") { conn in
            var c = LedgerCensus()
            for (station, made) in stations {
                var seen: [Int64: Int] = [:]
                for try await seq in try await conn.query("SELECT source_seq FROM ledger WHERE station = \(station) AND source = 'push'",
                                                          logger: db.logger).decode(Int64.self) { seen[seq, default: 0] += 1 }
                let ok = acked[station] ?? []
                c.acknowledged += ok.count
                c.generated += Int(made)
                c.rows += seen.values.reduce(0, +)
                c.unacknowledged += Int(made) - ok.count
                for s in ok { if seen[s] != nil { c.found += 1 } else { c.lost += 1; c.note("\(station) seq \(s): acknowledged, not in the ledger") } }
                for (s, k) in seen where k > 1 { c.duplicated += k - 1; c.note("\(station) seq \(s): \(k) rows") }
                if let broken = try await LedgerCensus.chainShapeProblem(station: station, on: conn, logger: db.logger) {
                    c.brokenChains.append(station)
                    c.note(broken)
                }
            }
            return c
        }
    }
}
