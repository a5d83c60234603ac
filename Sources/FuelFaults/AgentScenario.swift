import Foundation
import FuelAgent
import FuelClient
import FuelLab
import FuelModel
import FuelStore
import FuelWire
import Logging
import PostgresNIO

extension FaultTest {
    /// The station agent between an emulated console plus a drop directory and a real daemon,
    /// through a TCP proxy that cuts, stalls and refuses; the daemon killed once, the agent killed
    /// with SIGKILL three times (once while uploading, once mid-batch — a batch the cloud committed
    /// whose answer the proxy held back — and once during the outage); a spool ceiling small enough to be hit
    /// during the outage. Then the census: every good line of every file written is in the ledger
    /// exactly once, the pushed seqs are dense, no console reading is there twice, every file is
    /// in `done/`, every bad line in `rejected/`, the time the spool was full is recorded, and
    /// `fuelwarden verify` is clean.
    func agentScenario() async throws -> Result {
        let fixture = try await ProvinceFixture.make(stations: 2, database: "fuelwarden_agent", logger: logger, print: print)
        defer { fixture.stop() }
        let dir = try Self.temporaryDirectory("agent")
        let station = fixture.registry.stations[0]
        let daemon = try makeDaemon(fixture, logDirectory: dir, name: "serve")
        defer { daemon.stop() }
        var r = Result(scenario: .agent)
        try await withHTTP { http in
            let client = FuelwardenClient(baseURL: daemon.baseURL, http: http)
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            let proxy = FaultProxy(upstreamPort: daemon.port)
            let proxyPort = try await proxy.start()
            defer { proxy.stop() }

            // The console, in process; the agent polls it every second.
            var emulatorSettings = ATGEmulator.Settings()
            emulatorSettings.port = 0
            emulatorSettings.days = 1
            let (ports, portsIn) = AsyncStream.makeStream(of: Int.self)
            let emulator = ATGEmulator(station: station, settings: emulatorSettings, logger: logger) { portsIn.yield($0) }
            let emulating = Task { try await emulator.run() }
            defer { emulating.cancel() }
            var it = ports.makeAsyncIterator()
            guard let consolePort = await it.next() else { throw StoreError.unavailable("console emulator did not start") }

            let drop = dir + "/drop", spoolDir = dir + "/spool", keyFile = dir + "/station.key"
            try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
            try fixture.keys[station.id]!.write(toFile: keyFile, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
            let configPath = dir + "/agent.yaml"
            try """
                cloud: {url: "http://127.0.0.1:\(proxyPort)", allow_plain_http: true}
                station: \(station.id)
                key_file: \(keyFile)
                spool: {directory: \(spoolDir), max_mb: 1}
                upload: {batch_records: 300, max_backoff_seconds: 2, timeout_seconds: 3}
                status: {port: 0}
                drop_directory: {path: \(drop), scan_seconds: 0.2}
                atg_consoles:
                  - {host: 127.0.0.1, port: \(consolePort), interval_seconds: 1}
                """.write(toFile: configPath, atomically: true, encoding: .utf8)
            let agent = AgentProcess(executable: executable, configPath: configPath, logPath: dir + "/agent.log")
            try agent.start()
            defer { agent.stop() }
            print("  agent: \(agent.agent.name) (\(agent.agent.path))")

            // The sales system: a file every 100 ms, each line a totalizer reading whose volume is
            // its number (so the census can find each), every 25th file with one bad line too.
            let writer = DropWriter(directory: drop, nozzle: "N1", start: Timestamp(.now).adding(seconds: -86_400))
            let writing = Task { await writer.run(linesPerFile: 50) }

            let phase = agentPhaseSeconds
            func after(_ s: Double) async throws { try await Task.sleep(for: .seconds(s)) }
            var kills = 0
            try await after(phase)
            agent.kill9(); kills += 1
            print("  agent: SIGKILL (1) while files were spooled and uploaded; restarted")
            // Kill 2 inside a spool write: armed to SIGKILL itself halfway through the rows of its
            // third intake of two records or more, before the commit. Nothing of that transaction
            // may be in the spool afterwards; its file is taken again on the restart.
            try agent.start(environment: [SpoolFaultPoint.environmentKey: "3"])
            var cutStatus: Int32?
            let cutWait = ContinuousClock.now
            while cutStatus == nil, ContinuousClock.now - cutWait < .seconds(60) {
                cutStatus = agent.waitForExit(seconds: 0)
                if cutStatus == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            if cutStatus == nil { agent.kill9() }
            kills += 1
            let afterCut = try AgentSpool(directory: spoolDir, maxBytes: 1 << 20).consistencyProblems()
            r.check("agent killed inside a spool write", cutStatus == 128 + SIGKILL,
                    cutStatus.map { "exited with status \($0) (128 + 9: SIGKILL) in its third multi-record intake" } ?? "did not reach the armed write within 60 s")
            r.check("spool consistent after the cut write", afterCut.isEmpty,
                    afterCut.isEmpty ? "integrity check ok; no record or file of the cut transaction kept" : afterCut.joined(separator: "; "))
            print("  agent: SIGKILL (2) inside a spool write (before its commit); restarted")
            try agent.start()
            try await after(phase / 2)
            proxy.cutAll()
            print("  proxy: every connection cut mid-stream")
            try await after(phase / 2)
            proxy.mode = .stall
            print("  proxy: stalling (connections accepted, never answered) for \(Int(phase)) s")
            try await after(phase)
            proxy.mode = .pass
            proxy.cutAll()
            daemon.kill9()
            print("  daemon: SIGKILL; restarted")
            try daemon.start()
            try await daemon.waitUntilReady(client: client)
            try await after(phase / 2)
            // Kill 3 mid-batch, at a known point: the cloud has committed a batch whose answer the
            // proxy holds back, so the restarted agent sends it again and must be told "duplicate".
            let heldBefore = proxy.answersHeld
            proxy.mode = .holdAnswers
            let holding = ContinuousClock.now
            while proxy.answersHeld == heldBefore, ContinuousClock.now - holding < .seconds(30) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let midBatch = proxy.answersHeld > heldBefore
            agent.kill9(); kills += 1
            proxy.mode = .pass
            proxy.cutAll()
            print("  agent: SIGKILL (3) mid-batch (\(midBatch ? "a committed batch's answer held back by the proxy" : "no answer came to hold in 30 s")); restarted")
            r.check("agent killed with a committed batch unacknowledged", midBatch,
                    midBatch ? "the proxy held back \(proxy.answersHeld - heldBefore) answer reads before the kill" : "no upload answer within 30 s of holding")
            try agent.start()
            // The cloud away long enough to hit the 1 MB ceiling: consoles pause, files wait.
            let outage = agentOutageSeconds
            proxy.mode = .refuse
            proxy.cutAll()
            print("  proxy: refusing every connection for \(Int(outage)) s (the cloud away)")
            try await after(outage / 2)
            agent.kill9(); kills += 1
            print("  agent: SIGKILL (4) during the outage; restarted")
            try agent.start()
            try await after(outage / 2)
            let spool = try AgentSpool(directory: spoolDir, maxBytes: 1 << 20)
            let atCeiling = try spool.snapshot()
            r.facts.append("during the outage: \(atCeiling.spooledRecords) records spooled (\(atCeiling.spoolBytes / 1024) KiB of 1024), "
                           + "full since \(atCeiling.fullSince.map { "\($0)" } ?? "never"), \(atCeiling.skippedPollsWhileFull) console polls skipped")
            proxy.mode = .pass
            print("  proxy: passing again")
            try await after(phase)
            await writer.stop()
            _ = await writing.value
            // Drained: nothing spooled, every file done.
            let deadline = ContinuousClock.now + .seconds(120)
            var s = try spool.snapshot()
            while ContinuousClock.now < deadline {
                s = try spool.snapshot()
                let waiting = try FileManager.default.contentsOfDirectory(atPath: drop).filter { DropFile.format(ofName: $0) != nil }
                if s.spooledRecords == 0, s.filesWaiting == 0, waiting.isEmpty { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            agent.stop()
            let written = await writer.written
            r.facts.append("\(kills) agent kills, 1 daemon kill; \(written.files) files with \(written.good.count) good lines and \(written.bad) bad ones written")
            r.check("spool drained", s.spooledRecords == 0, "\(s.spooledRecords) records left; \(s.filesWaiting) files waiting")
            r.check("spool ceiling hit and recorded", atCeiling.fullSince != nil || s.fullSecondsTotal > 0,
                    "full for \(s.fullSecondsTotal) s in all, \(s.skippedPollsWhileFull) console polls skipped while full")

            // The census.
            let logger = self.logger
            let census = try await fixture.withDatabase(logger: logger) { db in try await db.connection("agent census") { conn -> (found: [Double: Int], seqs: (Int64, Int64, Int64, Int64), readings: (Int64, Int64), full: Int64) in
                var found: [Double: Int] = [:]
                for try await v in try await conn.query("""
                    SELECT (body::jsonb->>'volume_total_l')::float8 FROM ledger
                    WHERE station = \(station.id) AND source = 'push' AND kind = 'totalizer_reading'
                    """, logger: logger).decode(Double.self) { found[v, default: 0] += 1 }
                let seqs = try await conn.query("""
                    SELECT count(*), count(DISTINCT source_seq), coalesce(min(source_seq), 0), coalesce(max(source_seq), 0)
                    FROM ledger WHERE station = \(station.id) AND source = 'push'
                    """, logger: logger).collect().first!.decode((Int64, Int64, Int64, Int64).self)
                let readings = try await conn.query("""
                    SELECT count(*), count(DISTINCT (body::jsonb->>'tank') || (body::jsonb->>'at'))
                    FROM ledger WHERE station = \(station.id) AND source = 'push' AND kind = 'tank_reading'
                    """, logger: logger).collect().first!.decode((Int64, Int64).self)
                let full = try await conn.query("""
                    SELECT count(*) FROM ledger WHERE station = \(station.id) AND kind = 'device_status'
                      AND body::jsonb->>'device' = 'agent-spool' AND body LIKE '%spool_full_seconds=%'
                    """, logger: logger).collect().first!.decode(Int64.self)
                return (found, seqs, readings, full)
            } }
            var c = LedgerCensus()
            c.acknowledged = written.good.count
            c.generated = written.good.count
            for v in written.good {
                switch census.found[v] ?? 0 {
                case 0: c.lost += 1; c.note("line with volume_total_l \(v): not in the ledger")
                case 1: c.found += 1
                default: c.found += 1; c.duplicated += census.found[v]! - 1; c.note("line with volume_total_l \(v): \(census.found[v]!) rows")
                }
            }
            let extra = census.found.keys.filter { !written.good.contains($0) }
            c.duplicated += extra.count
            c.rows = Int(census.seqs.0)
            r.census = c
            let (rows, distinct, first, last) = census.seqs
            r.check("pushed seqs dense", rows == distinct && (rows == 0 || (first == 1 && last == rows)),
                    "\(rows) rows, \(distinct) distinct seqs, \(first)…\(last)")
            r.check("no console reading twice", census.readings.0 == census.readings.1 && census.readings.0 > 0,
                    "\(census.readings.0) readings, \(census.readings.1) distinct (tank, time)")
            r.check("the time full is in the ledger", census.full >= 1 || atCeiling.fullSince == nil,
                    "\(census.full) device_status records from agent-spool with spool_full_seconds")
            let reports = (try? FileManager.default.contentsOfDirectory(atPath: drop + "/rejected")) ?? []
            var reported = 0
            for f in reports {
                let text = (try? String(contentsOfFile: drop + "/rejected/" + f, encoding: .utf8)) ?? ""
                reported += text.split(separator: "\n").filter { $0.hasPrefix("line ") }.count
            }
            r.check("every bad line reported in rejected/", reported == written.bad, "\(reported) reported, \(written.bad) written")
            let done = ((try? FileManager.default.contentsOfDirectory(atPath: drop + "/done")) ?? []).count
            r.check("every file in done/", done == written.files, "\(done) of \(written.files)")
        }
        let (ok, text) = verify(fixture)
        r.check("fuelwarden verify", ok, text)
        return r
    }
}

/// Writes drop files as a sales system does (a temporary name, then a rename) and remembers what
/// it wrote.
actor DropWriter {
    let directory: String
    let nozzle: String
    let start: Timestamp
    private var stopped = false
    private(set) var written: (files: Int, good: Set<Double>, bad: Int) = (0, [], 0)

    init(directory: String, nozzle: String, start: Timestamp) {
        self.directory = directory
        self.nozzle = nozzle
        self.start = start
    }

    func stop() { stopped = true }

    func run(linesPerFile: Int) async {
        var n = 0
        while !stopped {
            var text = ""
            for _ in 0..<linesPerFile {
                n += 1
                let at = start.adding(seconds: Double(n)).rfc3339
                text += #"{"kind":"totalizer_reading","nozzle":"\#(nozzle)","at":"\#(at)","volume_total_l":\#(n)}"# + "\n"
                written.good.insert(Double(n))
            }
            if written.files % 25 == 24 {
                text += "{\"kind\":\"totalizer_reading\",\"nozzle\":\n"
                written.bad += 1
            }
            let name = String(format: "totals-%06d.ndjson", written.files)
            let temporary = "\(directory)/.\(name).tmp"
            do {
                try text.write(toFile: temporary, atomically: false, encoding: .utf8)
                try FileManager.default.moveItem(atPath: temporary, toPath: "\(directory)/\(name)")
                written.files += 1
            } catch {
                for k in (n - linesPerFile + 1)...n { written.good.remove(Double(k)) }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
