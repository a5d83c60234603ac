import FuelAgent
import FuelLab
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Foundation
import Logging

/// `fuelwarden bench agent`: the station agent's three figures of issue 16, in one run.
/// 1. Spool write: records/s into a fresh spool, 500 a transaction (each fsynced).
/// 2. Catch-up: a busy station's day offline (`records`, default 150,000) spooled, then uploaded
///    over loopback to a daemon in this process (durable throwaway PostgreSQL, detection on): seconds
///    until the spool is empty and the ledger holds every record.
/// 3. Steady state: `fuelwarden agent run` as its own process polling an emulated console (a
///    reading a minute per tank) with a sale now and then in its drop directory: its CPU share and
///    resident memory over `steadySeconds`.
package struct AgentBenchmark: Sendable {
    package var records = 150_000
    package var steadySeconds = 60.0
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(logger: Logger, print: @escaping @Sendable (String) -> Void) {
        self.logger = logger
        self.print = print
    }

    static func totalizer(_ i: Int, start: Timestamp) -> AgentSpool.Item {
        AgentSpool.Item(record: .totalizerReading(TotalizerReading(nozzle: "N1", at: start.adding(seconds: Double(i)), volumeTotalL: Double(i))),
                        origin: "bench")
    }

    package func run() async throws {
        #if DEBUG
        print("warning: this is a debug build; time a release build: swift run -c release fuelwarden bench agent")
        #endif
        let work = NSTemporaryDirectory() + "fuelwarden-bench-agent-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let start = Timestamp(.now).adding(seconds: -86_400)

        // 1. Spool write.
        let spool = try AgentSpool(directory: work + "/spool", maxBytes: 4 << 30)
        try spool.setFirstSeq(1)
        let began = ContinuousClock.now
        for chunk in stride(from: 0, to: records, by: 500) {
            try spool.append((chunk..<min(records, chunk + 500)).map { Self.totalizer($0, start: start) })
        }
        let writeSeconds = (ContinuousClock.now - began) / .seconds(1)
        print(String(format: "spool write: %d records in %.2f s = %.0f records/s (500 a transaction, synchronous=FULL); spool %.1f MB",
                     records, writeSeconds, Double(records) / writeSeconds, Double(try spool.usedBytes()) / 1e6))

        // 2. Catch-up to a daemon in this process.
        let cluster = try ThrowawayCluster(durable: true)
        defer { cluster.stop() }
        try cluster.createDatabase("bench_agent")
        let url = cluster.url(database: "bench_agent")
        let yaml = DemoRegistry.yaml(stations: 1)
        let registry = try RegistryFileDecoder.decode(yaml: yaml)
        let quiet = { var l = logger; l.logLevel = .warning; return l }()
        try await IngestBenchmark.prepare(url: url, yaml: yaml, logger: quiet)
        var config = FuelwardenConfig()
        config.database.url = url
        config.http.port = 0
        config.logLevel = .warning
        config.ingest.maxBodyBytes = 64 << 20
        let components = try FuelwardenComponents(config: config, logger: quiet)
        let station = registry.stations[0].id
        let (ports, portsIn) = AsyncStream.makeStream(of: Int.self)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: quiet) { portsIn.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var it = ports.makeAsyncIterator()
            guard let port = await it.next() else { throw StoreError.unavailable("daemon did not start") }
            let key = try await TokenStore(database: components.database).issue(role: .station, station: station, name: "bench agent")
            try key.write(toFile: work + "/station.key", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: work + "/station.key")
            var agentConfig = AgentConfigFile(cloudURL: "http://127.0.0.1:\(port)", station: station, keyFile: work + "/station.key",
                                              spoolDirectory: work + "/spool")
            agentConfig.allowPlainHTTP = true
            agentConfig.statusPort = 0
            agentConfig.batchRecords = 5_000
            let agent = try StationAgent(config: agentConfig, logger: quiet)
            let (agentGroup, client) = try agent.serviceGroup()
            let catchUp = ContinuousClock.now
            let running = Task { try await agentGroup.run() }
            while try agent.spool.snapshot().spooledRecords > 0 { try await Task.sleep(for: .milliseconds(50)) }
            let seconds = (ContinuousClock.now - catchUp) / .seconds(1)
            await agentGroup.triggerGracefulShutdown()
            _ = try? await running.value
            try await client.shutdown()
            let stored = try await components.database.connection("count") { conn in
                try await conn.query("SELECT count(*) FROM ledger WHERE station = \(station) AND source = 'push'", logger: quiet)
                    .collect().first?.decode(Int64.self) ?? 0
            }
            print(String(format: "catch-up: %d spooled records uploaded in %.2f s = %.0f records/s (batches of 5,000; %lld in the ledger)",
                         records, seconds, Double(records) / seconds, stored))
            guard stored == Int64(records) else { throw StoreError.invalid("expected \(records) records in the ledger, found \(stored)") }

            // 3. Steady state: the agent as its own process.
            try await steady(work: work, port: port, station: registry.stations[0])
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func steady(work: String, port: Int, station: Station) async throws {
        var settings = ATGEmulator.Settings()
        settings.port = 0
        settings.days = 1
        let (ports, portsIn) = AsyncStream.makeStream(of: Int.self)
        let emulator = ATGEmulator(station: station, settings: settings, logger: logger) { portsIn.yield($0) }
        let emulating = Task { try await emulator.run() }
        defer { emulating.cancel() }
        var it = ports.makeAsyncIterator()
        guard let consolePort = await it.next() else { throw StoreError.unavailable("console emulator did not start") }
        try FileManager.default.createDirectory(atPath: work + "/drop", withIntermediateDirectories: true)
        try """
            cloud: {url: "http://127.0.0.1:\(port)", allow_plain_http: true}
            station: \(station.id)
            key_file: \(work)/station.key
            spool: {directory: \(work)/steady-spool}
            status: {port: 0}
            drop_directory: {path: \(work)/drop, scan_seconds: 2}
            atg_consoles:
              - {host: 127.0.0.1, port: \(consolePort), interval_seconds: 60}
            """.write(toFile: work + "/agent.yaml", atomically: true, encoding: .utf8)
        // The standalone agent binary when it was built beside this one (`swift build -c release
        // --product fuelwarden-agent`), else `fuelwarden agent`.
        let agent = AgentExecutable.beside()
        let p = ChildProcess(executable: agent.path, arguments: agent.prefix + ["run", "--config", work + "/agent.yaml", "--log-level", "warning"],
                             logPath: "/dev/null")
        try p.start()
        defer { p.stop() }
        // Past start-up (the first poll, the first seq from the cloud), then measured.
        try await Task.sleep(for: .seconds(5))
        let cpu0 = Self.cpuSeconds(pid: p.pid ?? 0)
        let t0 = ContinuousClock.now
        var sales = 0
        var peak = 0
        while (ContinuousClock.now - t0) / .seconds(1) < steadySeconds {
            // 300 sales a day is one every 288 s; here one every 20 s, to keep the drop path busy.
            let at = Timestamp(.now).rfc3339
            sales += 1
            let line = #"{"kind":"sale","nozzle":"N1","grade":"92","volume_l":30,"unit_price":7.85,"amount":235.5,"started_at":"\#(at)","ended_at":"\#(at)"}"#
            try (line + "\n").write(toFile: work + "/drop/.sale-\(sales).tmp", atomically: false, encoding: .utf8)
            try FileManager.default.moveItem(atPath: work + "/drop/.sale-\(sales).tmp", toPath: work + "/drop/sale-\(sales).ndjson")
            for _ in 0..<20 {
                try await Task.sleep(for: .seconds(1))
                peak = max(peak, ProcessMemory.residentBytes(pid: p.pid ?? 0))
            }
        }
        let elapsed = (ContinuousClock.now - t0) / .seconds(1)
        let cpu = Self.cpuSeconds(pid: p.pid ?? 0) - cpu0
        let mappings = ProcessMemory.residentByMapping(pid: p.pid ?? 0)
        print(String(format: "steady state (%@, %.0f s, 4 tanks read every minute, a sale every 20 s): CPU %.2f %% of a core, RSS peak %.1f MB",
                     agent.name as NSString, elapsed, cpu / elapsed * 100, Double(peak) / 1e6))
        print("  resident at the end, by mapping: " + mappings.prefix(8).map { String(format: "%@ %.1f MB", $0.mapping as NSString, Double($0.bytes) / 1e6) }
            .joined(separator: ", ") + String(format: "; the rest %.1f MB", Double(mappings.dropFirst(8).map(\.bytes).reduce(0, +)) / 1e6))
    }

    /// User plus system CPU seconds of a process (`/proc/PID/stat`, fields 14 and 15, in clock ticks).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
