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
        try await TestPostgres.withDatabase { db in
            let yaml = FuelSimRegistry.yaml(stations)
            let registry = try RegistryFileDecoder.decode(yaml: yaml)
            _ = try await RegistryStore(database: db).importRegistry(registry, sourceDigest: "t", actor: "test")
            var config = FuelwardenConfig()
            config.databaseURL = db.url.urlString
            config.httpPort = 0
            config.detectIntervalSeconds = 0.2
            config.ingestMaxBodyBytes = 64 * 1024
            config.authCacheSeconds = 0
            tweak(&config)
            let components = try FuelwardenComponents(config: config, logger: TestPostgres.logger)
            let (ports, cont) = AsyncStream.makeStream(of: Int.self)
            let group = FuelwardenDaemon.serviceGroup(components: components, logger: TestPostgres.logger) { cont.yield($0) }
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var it = ports.makeAsyncIterator()
                guard let port = await it.next() else { throw StoreError.unavailable("daemon did not start") }
                let daemon = TestDaemon(client: FuelwardenClient(baseURL: "http://127.0.0.1:\(port)"), db: db,
                                        components: components, registry: registry, shutdown: { await group.triggerGracefulShutdown() })
                do {
                    try await body(daemon)
                } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
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

enum FuelSimRegistry {
    static func yaml(_ n: Int) -> String { DemoRegistry.yaml(stations: n) }
}

extension [(String, JSONValue)] {
    subscript(_ key: String) -> JSONValue? { first { $0.0 == key }?.1 }
}
