import FuelAgent
@testable import FuelFeeds
import FuelLab
import FuelModel
import FuelSim
import FuelWire
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

/// A restarted agent reads its consoles' delivery history from the newest reading it had taken
/// before it stopped (kept in the spool), so a delivery made while it was down comes as the
/// console measured it, not only as a jump between two readings.
@Suite struct AgentConsoleResumeTests {
    static let logger = Logger(label: "agent-resume-test")

    /// Runs an emulated console of `station` whose clock reads `clock` while `body` runs.
    static func withConsole<T: Sendable>(_ station: Station, start: Timestamp, clock: @escaping @Sendable () -> Timestamp,
                                         _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        var settings = ATGEmulator.Settings()
        settings.port = 0
        settings.start = start
        settings.days = 10
        settings.clock = clock
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        let emulator = ATGEmulator(station: station, settings: settings, logger: logger) { cont.yield($0) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            // The stream ends with the console, so a console that cannot listen fails the wait below.
            group.addTask { defer { cont.finish() }; try await emulator.run(); return nil }
            var it = ports.makeAsyncIterator()
            guard let port = await it.next() else {
                _ = try await group.next()  // the console's own error
                throw AgentError("the emulated console did not start")
            }
            group.addTask { try await body(port) }
            defer { group.cancelAll() }
            while let r = try await group.next() { if let r { return r } }
            throw AgentError("the emulated console stopped")
        }
    }

    /// Polls the console at `port` into the spool (a fresh poller, as after a start) until `done`.
    static func poll(_ station: Station, port: Int, sink: AgentSpoolSink, until done: @escaping @Sendable () throws -> Bool) async throws {
        var settings = ATGPollerSettings()
        settings.maxClockSkew = .seconds(3_650 * 86_400)  // the emulated console's clock is in November
        let console = FeedsFile.ATGConsole(station: station.id, host: "127.0.0.1", port: port, intervalSeconds: 0.1)
        let poller = ATGPoller(consoles: [console], settings: settings, sink: sink, logger: logger)
        let polling = Task { await poller.poll(console) }
        // The poller is stopped and awaited, as an agent's shutdown does.
        for _ in 0..<150 where (try? done()) != true { try? await Task.sleep(for: .milliseconds(100)) }
        polling.cancel()
        await polling.value
    }

    @Test func aRestartedAgentReadsTheDeliveriesMadeWhileItWasDown() async throws {
        let station = try RegistryFileDecoder.decode(yaml: DemoRegistry.yaml(stations: 1)).stations[0]
        let start = Timestamp(microseconds: 1_795_000_000_000_000)  // 2026-11-18
        var probe = ATGEmulator.Settings()
        probe.start = start
        probe.days = 10
        let (tank, first) = try #require(ATGEmulator(station: station, settings: probe, logger: Self.logger).deliveries
            .flatMap { t, ds in ds.map { (t, $0) } }.filter { $0.1.start > start.adding(seconds: 7_200) }.min { $0.1.start < $1.1.start })

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try AgentSpool(directory: dir, maxBytes: 64 << 20)
        try spool.setFirstSeq(1)
        let sink = AgentSpoolSink(spool: spool, timezone: station.timezone, logger: Self.logger)
        let keys = { @Sendable () throws -> [String] in
            try DatabaseQueue(path: spool.path).read { db in try String.fetchAll(db, sql: "SELECT natural_key FROM records WHERE natural_key IS NOT NULL ORDER BY seq") }
        }
        let history = { @Sendable () throws -> [String] in try keys().filter { $0.contains("/i202/") } }

        // The console's clock is stepped by the test: a console minute each time the agent has taken
        // a reading, from 90 minutes before the delivery; the agent stops, and starts
        // again 10 console minutes after the delivery ended.
        let now = Mutex(first.start.adding(seconds: -5_400))
        // The clock moves on only once the agent has taken what the console showed (however slow
        // the machine), so the first run stops within minutes of console time.
        let taken = Mutex(0)
        let tick = { @Sendable () throws in
            let count = try keys().count
            if taken.withLock({ let moved = count > $0; $0 = count; return moved }) { now.withLock { $0 = $0.adding(seconds: 60) } }
        }
        let (name, kept) = try await Self.withConsole(station, start: start, clock: { now.withLock { $0 } }) { port in
            try await Self.poll(station, port: port, sink: sink) { try tick(); return try keys().count >= 8 }
            #expect(try keys().count >= 8)
            #expect(try history().isEmpty, "no history read while nothing was missed")
            let name = FeedsFile.ATGConsole(station: station.id, host: "127.0.0.1", port: port).name
            let kept = try #require(await sink.resumePoint(console: name), "no resume point kept for \(name)")
            now.withLock { $0 = first.end.adding(seconds: 600) }
            try await Self.poll(station, port: port, sink: sink) { try tick(); return try history().count >= 2 }
            return (name, kept)
        }
        #expect(kept < first.start, "the first run stopped after the delivery began: nothing to test")
        #expect(await sink.resumePoint(console: name).map { $0 > first.end } == true)
        let all = try history()
        let edges = all.filter { $0.contains("/\(tank)/i202/") }
        #expect(edges.map { $0.hasSuffix("/start") } == [true, false], "\(all)")
        #expect(try spool.consistencyProblems().isEmpty)
    }
}
