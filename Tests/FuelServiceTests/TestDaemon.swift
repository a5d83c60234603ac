import FuelClient
import FuelModel
import FuelService
import FuelStore
import FuelTestSupport
import FuelWire
import Foundation
import Logging

/// A real `fuelwarden serve` in-process: the daemon's service group on a free port over a test
/// database, with the demo registry imported.
struct TestDaemon: Sendable {
    let client: FuelwardenClient
    let db: FuelDatabase
    let components: FuelwardenComponents
    let registry: Registry
    /// Starts graceful shutdown, as SIGTERM does.
    let shutdown: @Sendable () async -> Void

    static func with(
        stations: Int = 3, tweak: @escaping @Sendable (inout FuelwardenConfig) -> Void = { _ in },
        _ body: @escaping @Sendable (TestDaemon) async throws -> Void
    ) async throws {
        try await TestPostgres.withDatabase { db in try await run(on: db, stations: stations, tweak: tweak, body) }
    }

    /// The same on a database of the test's own (migrated, its pool running): a test that needs
    /// servers of its own, a primary and a standby say.
    static func run(
        on db: FuelDatabase, stations: Int = 3, tweak: @escaping @Sendable (inout FuelwardenConfig) -> Void = { _ in },
        _ body: @escaping @Sendable (TestDaemon) async throws -> Void
    ) async throws {
        do {
            var config = FuelwardenConfig()
            config.database.url = db.url.urlString
            config.http.port = 0
            config.detect.interval = .seconds(0.2)
            config.detect.stationMinPass = .zero
            config.ingest.maxBodyBytes = 64 * 1024
            config.auth.cacheTTL = .seconds(0)
            // As the harness's own pools (`TestPostgres`): the whole suite's daemons and clusters share two
            // cores, and a 4-station registry import behind them outlasted the production 5 s. A test of
            // the deadline itself sets its own in `tweak`.
            config.database.requestDeadline = .seconds(20)
            tweak(&config)
            // As `fuelwarden migrate` does: the suite is chosen before anything is written.
            try await LedgerSuiteStore(database: db).choose(config.ledger.suite)
            let yaml = FuelSimRegistry.yaml(stations)
            let registry = try RegistryFileDecoder.decode(yaml: yaml)
            _ = try await RegistryStore(database: db).importRegistry(registry, sourceDigest: "t", actor: "test")
            let components = try FuelwardenComponents(config: config, logger: TestPostgres.logger)
            let (ports, cont) = AsyncStream.makeStream(of: Int.self)
            let group = FuelwardenDaemon.serviceGroup(components: components, logger: TestPostgres.logger) { cont.yield($0) }
            let stopped = StoppedDaemon()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    // A daemon that stops on its own during a test is reported with its reason, at once,
                    // instead of as requests refused until their timeouts.
                    do {
                        try await group.run()
                        stopped.note("the daemon stopped")
                    } catch {
                        stopped.note("the daemon failed: \(String(reflecting: error))")
                        throw error
                    }
                }
                var it = ports.makeAsyncIterator()
                guard let port = await it.next() else { throw StoreError.unavailable("daemon did not start") }
                let daemon = TestDaemon(client: FuelwardenClient(baseURL: "http://127.0.0.1:\(port)"), db: db,
                                        components: components, registry: registry, shutdown: {
                                            stopped.expect()
                                            await group.triggerGracefulShutdown()
                                        })
                do {
                    try await body(daemon)
                } catch {
                    if let why = stopped.unexpected { throw StoreError.unavailable("\(why) during the test; the test then failed with: \(error)") }
                    await group.triggerGracefulShutdown()
                    throw error
                }
                if let why = stopped.unexpected { throw StoreError.unavailable("\(why) during the test") }
                stopped.expect()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    func token(_ role: AccessRole, station: String? = nil) async throws -> String {
        try await TokenStore(database: db).issue(role: role, station: station, name: station ?? role.rawValue)
    }

    /// Waits until detection has processed every committed record.
    func detectionCaughtUp() async throws {
        for _ in 0..<200 {
            if try await DetectionStore(database: db).backlog(limit: 1).isEmpty { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StoreError.unavailable("detection did not catch up")
    }

    func json(_ text: String) throws -> [(String, JSONValue)] {
        guard case .object(let o) = try JSONParser.parse(text) else { throw StoreError.invalid("not an object: \(text)") }
        return o
    }
}

import FuelSim
import Synchronization

/// Whether a test's daemon stopped before the test asked it to, and why.
final class StoppedDaemon: Sendable {
    private let state = Mutex<(expected: Bool, reason: String?)>((false, nil))
    func expect() { state.withLock { $0.expected = true } }
    func note(_ reason: String) { state.withLock { if $0.reason == nil { $0.reason = reason } } }
    var unexpected: String? { state.withLock { $0.expected ? nil : $0.reason } }
}

enum FuelSimRegistry {
    static func yaml(_ n: Int) -> String { DemoRegistry.yaml(stations: n) }
}

extension [(String, JSONValue)] {
    subscript(_ key: String) -> JSONValue? { first { $0.0 == key }?.1 }
}
