import Foundation
import FuelAsync
import FuelClient
import FuelGuomi
import FuelLedger
import FuelModel
import FuelPostgresFixture
import FuelService
import FuelSim
import FuelStore
import FuelWire
import Logging
import ServiceLifecycle

/// `fuelwarden demo`: the main job on an embedded default. Starts a throwaway PostgreSQL (unless a
/// database is configured), migrates, imports a demo registry, starts the daemon, pushes simulated
/// days through the real push API with injected faults, and prints the alerts and where to look.
package struct DemoRunner: Sendable {
    package var stations = 20
    package var days = 2.0
    /// The simulated stations' tank gauges (nil: the simulator's default, a fine gauge read every 5 minutes).
    package var gauge: GaugeProfile?
    package var port = 8080
    package var waitForInterrupt = true
    package var config: FuelwardenConfig
    let logger: Logger
    let print: @Sendable (String) -> Void

    package init(config: FuelwardenConfig, logger: Logger, print: @escaping @Sendable (String) -> Void = { Swift.print($0) }) {
        self.config = config
        self.logger = logger
        self.print = print
    }

    /// The demo's vapour-recovery monitor speaks HJ 212-2025: a 24-hex-digit network code as MN and
    /// its uploads' CP encrypted with SM4 under its key (the demo's own, shown nowhere else).
    static let vapourDevice = "4445D04F000000000000F212"
    static let vapourPassword = "demo-212"
    static let vapourKey: [UInt8] = Array("fuelwarden-demo!".utf8)

    /// Start of the simulated period: the first of the month the demo ceilings apply from (local midnight).
    /// Data time the demo's simulated stations start at.
    package static let start = Timestamp(rfc3339: "2026-11-01T00:00:00+08:00")!

    /// The demo's injected faults, by station index (1-based).
    package static func faults(stations: Int) -> [Int: [InjectedFault]] {
        let day1 = start.adding(seconds: 86_400)
        // Appended, not a literal: with fewer than 12 stations two faults share the last one (a
        // dictionary literal with a repeated key traps: `demo --stations 2` crashed).
        var faults: [Int: [InjectedFault]] = [:]
        faults[min(3, stations), default: []].append(.leak(tank: "T1", litresPerHour: 25, from: start.adding(seconds: 3600)))
        faults[min(7, stations), default: []].append(.undeclaredDelivery(tank: "T2", litres: 800, at: day1.adding(seconds: 14 * 3600)))
        faults[min(12, stations), default: []].append(.priceAboveCeiling(grade: "92", unitPrice: 8.35, from: day1.adding(seconds: 10 * 3600),
                                                                        until: day1.adding(seconds: 11 * 3600)))
        return faults
    }

    package func run() async throws {
        var config = self.config
        var cluster: ThrowawayCluster?
        if config.database.url == nil {
            print("• starting a throwaway PostgreSQL cluster …")
            let c = try ThrowawayCluster()
            try c.createDatabase("fuelwarden")
            config.database.url = c.url(database: "fuelwarden")
            cluster = c
            print("  PostgreSQL on 127.0.0.1:\(c.port) (data in \(c.directory))")
        }
        defer {
            if let cluster {
                cluster.stop()
                print("• throwaway PostgreSQL stopped and removed")
            }
        }
        config.http.port = port
        config.detect.interval = .seconds(0.5)

        // One more station than pushed is fed by devices only: its tank gauge is an ATG emulator
        // the daemon polls over TCP, and a vapour-recovery monitor talks HJ 212 to the listener.
        let registry = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: stations + 1))
        let feedStation = registry.stations[stations]
        var emulatorSettings = ATGEmulator.Settings()
        emulatorSettings.port = 0
        let (emulatorPorts, emulatorPort) = AsyncStream.makeStream(of: Int.self)
        let emulator = ATGEmulator(station: feedStation, settings: emulatorSettings, logger: logger) { emulatorPort.yield($0) }
        let emulatorTask = Task { try await emulator.run() }
        defer { emulatorTask.cancel() }
        var ports = emulatorPorts.makeAsyncIterator()
        guard let atgPort = await ports.next() else { throw StoreError.unavailable("ATG emulator did not start") }
        config.feeds.hj212Enabled = true
        config.feeds.hj212.port = 0
        let feeds = FeedsFile(
            consoles: [.init(station: feedStation.id, host: "127.0.0.1", port: atgPort, intervalSeconds: 5)],
            devices: [.init(mn: Self.vapourDevice, station: feedStation.id, password: Self.vapourPassword,
                            factors: HJ212FactorMap(alRatio: ["q01": "N1", "q02": "N2"], tankPressure: ["p01": "T1"]), sm4Key: Self.vapourKey)])
        print("• ATG emulator for \(feedStation.id) on 127.0.0.1:\(atgPort) (Veeder-Root TLS); the daemon polls it every 5 s")
        let components = try FuelwardenComponents(config: config, logger: logger, feeds: feeds)
        let (listening, listeningContinuation) = AsyncStream.makeStream(of: Int.self)
        let group = FuelwardenDaemon.serviceGroup(components: components, logger: logger) { port in
            listeningContinuation.yield(port)
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // The database must be migrated and the registry imported before the daemon starts:
            // run the pool alone first.
            let db = components.database
            tasks.addTask {
                try await self.prepare(db)
                try await group.run()
            }
            tasks.addTask {
                do {
                    var ports = listening.makeAsyncIterator()
                    guard let port = await ports.next() else { return }
                    try await self.drive(components: components, port: port, feedStation: feedStation.id)
                    if !self.waitForInterrupt { await group.triggerGracefulShutdown() }
                } catch {
                    self.print("demo failed: \(error)")
                    await group.triggerGracefulShutdown()
                    throw error
                }
            }
            try await tasks.waitForAll()
        }
    }

    /// Migrates and imports the registry with a short-lived pool of its own.
    func prepare(_ daemonDB: FuelDatabase) async throws {
        let db = FuelDatabase(url: daemonDB.url, maxConnections: 4, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            let applied = try await Migrator(database: db).migrate(suite: config.ledger.suite)
            print("• migrated schema (\(applied.isEmpty ? "already current" : "applied \(applied.map(String.init).joined(separator: ","))"); ledger suite \(config.ledger.suite.summary))")
            let yaml = DemoRegistry.yaml(stations: stations + 1)
            let registry = try RegistryFileDecoder.decode(yaml: yaml)
            let summary = try await RegistryStore(database: db).importRegistry(
                registry, sourceDigest: TokenStore.hash(yaml).hexString, actor: "demo")
            print("• imported demo registry: \(summary)")
        }
    }

    /// Sends a few HJ 212 packets and shows what both device feeds put into the feed station's chain.
    func showFeeds(components: FuelwardenComponents, station: String) async throws {
        var hjPort: Int?
        for _ in 0..<100 where hjPort == nil {
            hjPort = components.listening.hj212
            if hjPort == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let hjPort else { throw StoreError.unavailable("HJ 212 listener did not start") }
        let clock = LocalClock(timezone: "Asia/Shanghai")
        let now = Timestamp(.now)
        var bytes: [UInt8] = []
        let cipher = try SM4(key: Self.vapourKey)
        for m in 0..<3 {
            let t = now.adding(seconds: Double(m - 3) * 60)
            let day = clock.day(of: t), minute = clock.minuteOfDay(t)
            let dt = String(format: "%04d%02d%02d%02d%02d00", day.year, day.month, day.day, minute / 60, minute % 60)
            let cp = "DataTime=\(dt);q01-Rtd=\(String(format: "%.2f", 1.02 + 0.03 * Double(m))),q01-Flag=N;q02-Rtd=1.10,q02-Flag=N;p01-Rtd=-85,p01-Flag=N"
            // Flag=9: edition 2025, answer wanted; the ciphertext in the standard's {0x..} text form, then raw.
            bytes += try HJ212.frame(dataSegment: "QN=\(dt)000;ST=31;CN=2051;PW=\(Self.vapourPassword);MN=\(Self.vapourDevice);Flag=9;CP=&&\(cp)&&",
                                     encryptBlocks: cipher.encryptBlocks, as: m == 0 ? .text : .raw)
        }
        let answers = try await HJ212Client(port: hjPort).send(bytes, answers: 3)
        print("• HJ 212-2025 device \(Self.vapourDevice) sent 3 SM4-encrypted minute packets to 127.0.0.1:\(hjPort): answered \(answers.map { $0.cn ?? "?" }.joined(separator: ", ")) (in \(Set(answers.map(\.version.rawValue)).sorted().joined(separator: ", ")))")
        let ledger = LedgerStore(database: components.database)
        var counts: [String: Int] = [:]
        for _ in 0..<100 {
            counts = [:]
            for e in try await ledger.entries(station: station, after: 0, limit: 10_000) {
                let kind = RecordKind.allCases.first { e.body.contains("\"kind\":\"\($0.rawValue)\"") }?.rawValue ?? "?"
                counts["\(e.source.rawValue) \(kind)", default: 0] += 1
            }
            if counts["atg tank_reading", default: 0] > 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        print("  \(station)'s chain from the device feeds: " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    }

    func drive(components: FuelwardenComponents, port: Int, feedStation: String) async throws {
        let db = components.database
        let tokens = TokenStore(database: db)
        let base = "http://127.0.0.1:\(port)"
        let client = FuelwardenClient(baseURL: base)
        var registry = components.registry.snapshot.registry
        registry.stations.removeAll { $0.id == feedStation }
        let viewer = try await tokens.issue(role: .viewer, station: nil, name: "demo regulator", actor: "demo")
        let inspector = try await tokens.issue(role: .inspector, station: nil, name: "demo inspector", actor: "demo")
        var keys: [String: String] = [:]
        for s in registry.stations { keys[s.id] = try await tokens.issue(role: .station, station: s.id, name: s.id, actor: "demo") }
        print("• daemon listening on \(base); issued \(keys.count) station keys and two regulator tokens")

        let faults = Self.faults(stations: registry.stations.count)
        for (i, fs) in faults.sorted(by: { $0.key < $1.key }) {
            for f in fs { print("  injected at \(registry.stations[i - 1].id): \(f.kind.replacingOccurrences(of: "_", with: " ")) on \(f.subject) from \(f.start)") }
        }
        print("• simulating \(registry.stations.count) stations × \(JSONText.number(days)) days and pushing through POST /v1/stations/{id}/records …")
        let started = ContinuousClock.now
        var totals = PushVerdict()
        try await withThrowingTaskGroup(of: PushVerdict.self) { group in
            var next = 0
            let stations = registry.stations
            func add() {
                guard next < stations.count else { return }
                let idx = next
                next += 1
                let station = stations[idx]
                let key = keys[station.id]!
                var scenario = StationScenario(
                    station: station, seed: UInt64(idx + 1), start: Self.start, days: days, prices: DemoRegistry.prices,
                    faults: faults[idx + 1] ?? [])
                if let gauge = self.gauge { scenario.gauge = gauge }
                group.addTask {
                    var sim = StationSimulator(scenario)
                    let lines = sim.records().enumerated().map { PushRecordCodec.encode(PushLine(seq: Int64($0.offset + 1), record: $0.element)) }
                    var v = PushVerdict()
                    for chunk in stride(from: 0, to: lines.count, by: 1000) {
                        let r = try await client.push(station: station.id, key: key, lines: Array(lines[chunk..<min(chunk + 1000, lines.count)]))
                        v.accepted += r.accepted
                        v.duplicates += r.duplicates
                        v.rejected += r.rejected
                    }
                    return v
                }
            }
            for _ in 0..<4 { add() }
            for try await v in group {
                totals.accepted += v.accepted
                totals.duplicates += v.duplicates
                totals.rejected += v.rejected
                add()
            }
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        print("  pushed \(totals.accepted) records in \(String(format: "%.1f", seconds)) s (\(totals.duplicates) duplicates, \(totals.rejected.count) rejected)")

        // Show idempotency and rejection on the real API.
        let demoStation = registry.stations[0].id
        var sim = StationSimulator(StationScenario(station: registry.stations[0], seed: 1, start: Self.start, days: days, prices: DemoRegistry.prices))
        let firstLines = sim.records().prefix(3).enumerated().map { PushRecordCodec.encode(PushLine(seq: Int64($0.offset + 1), record: $0.element)) }
        let again = try await client.push(station: demoStation, key: keys[demoStation]!, lines: firstLines)
        print("• pushing \(demoStation)'s first 3 records again: \(again.accepted) accepted, \(again.duplicates) duplicates")
        let bad = try await client.push(station: demoStation, key: keys[demoStation]!, lines: [
            #"{"seq":999999,"kind":"delivery","tank":"T9","supplier":"SUP-001","batch":"X","bill_no":"BL-1","grade":"92","declared_volume_l":20000,"started_at":"2026-11-03T09:10:00+08:00","ended_at":"2026-11-03T09:40:00+08:00"}"#,
        ])
        print("• a line naming an unknown tank: rejected with \"\(bad.rejected.first?.error ?? "?")\" (kept in quarantine)")
        let (forbidden, _) = try await client.send(.POST, "/v1/stations/\(registry.stations[1].id)/records", token: keys[demoStation], body: firstLines[0])
        print("• \(demoStation)'s key pushing for \(registry.stations[1].id): HTTP \(forbidden)")

        try await showFeeds(components: components, station: feedStation)

        // Wait for detection to catch up with the ledger.
        let store = DetectionStore(database: db)
        for _ in 0..<240 {
            if try await store.backlog(limit: 1).isEmpty { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let (_, body) = try await client.send(.GET, "/v1/alerts?status=all", token: viewer)
        let alerts = (try? JSONParser.parse(body)).flatMap { v -> [JSONValue]? in
            guard case .object(let o) = v, case .array(let a)? = o.first(where: { $0.0 == "alerts" })?.1 else { return nil }
            return a
        } ?? []
        print("\nAlerts raised (\(alerts.count)):")
        for a in alerts.reversed() {
            guard case .object(let o) = a else { continue }
            func f(_ k: String) -> String {
                switch o.first(where: { $0.0 == k })?.1 {
                case .string(let s)?: s
                case .number(let d, _)?: JSONText.number(d)
                default: "-"
                }
            }
            var evidence = ""
            if case .object(let e)? = o.first(where: { $0.0 == "evidence" })?.1 {
                evidence = e.prefix(4).map { "\($0.0)=\($0.1.jsonText)" }.joined(separator: " ")
            }
            print("  #\(f("id")) \(f("severity").padding(toLength: 8, withPad: " ", startingAt: 0)) \(f("rule").padding(toLength: 24, withPad: " ", startingAt: 0)) \(f("station")) \(f("subject").padding(toLength: 4, withPad: " ", startingAt: 0)) \(f("status").padding(toLength: 9, withPad: " ", startingAt: 0)) opened \(f("opened_at"))  \(evidence)")
        }
        print("""

            The console (监管控制台): open \(base)/console/ and sign in with the inspector token
              \(inspector)

            Look at:
              \(base)/healthz   \(base)/readyz   \(base)/metrics
              curl -H 'Authorization: Bearer \(viewer)' '\(base)/v1/alerts?status=open'
              curl -H 'Authorization: Bearer \(viewer)' \(base)/v1/stations/\(demoStation)
              acknowledge (inspector token): curl -X POST -H 'Authorization: Bearer \(inspector)' -d '{"note":"on site"}' \(base)/v1/alerts/ID/ack
              verify the chains: fuelwarden verify --database-url \(db.url.urlString)
            """)
        if waitForInterrupt { print("Press Ctrl-C to stop (the throwaway database is removed).") }
    }
}
