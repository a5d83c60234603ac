import Foundation
import FuelModel
import FuelPostgresFixture
import FuelSim
import FuelStore
import FuelWire
import Logging

/// A durable throwaway PostgreSQL with the schema, a registry of demo stations and a key per
/// station: what the load benchmark and the fault tests run the real daemon against.
package final class ProvinceFixture: Sendable {
    package let cluster: ThrowawayCluster
    package let databaseName: String
    package let registry: Registry
    /// Station id → station key (plain text, as the station's collector holds it).
    package let keys: [String: String]
    /// A regulator (admin) token, for the read endpoints.
    package let adminToken: String

    package var url: String { cluster.url(database: databaseName) }

    /// Creates the cluster (fsync on: committed means on disk), migrates, imports `stations` demo stations
    /// and issues their keys. `stop()` removes it all.
    package static func make(stations: Int, database: String, logger: Logger, print: @escaping @Sendable (String) -> Void) async throws -> ProvinceFixture {
        let cluster = try ThrowawayCluster(durable: true)
        do {
            try cluster.createDatabase(database)
            print("• durable throwaway PostgreSQL on 127.0.0.1:\(cluster.port)")
            let yaml = DemoRegistry.yaml(stations: stations)
            let registry = try RegistryFileDecoder.decode(yaml: yaml)
            let (keys, admin) = try await prepare(url: cluster.url(database: database), registry: registry, yaml: yaml, logger: logger, print: print)
            return ProvinceFixture(cluster: cluster, databaseName: database, registry: registry, keys: keys, adminToken: admin)
        } catch {
            cluster.stop()
            throw error
        }
    }

    private init(cluster: ThrowawayCluster, databaseName: String, registry: Registry, keys: [String: String], adminToken: String) {
        self.cluster = cluster
        self.databaseName = databaseName
        self.registry = registry
        self.keys = keys
        self.adminToken = adminToken
    }

    package func stop() { cluster.stop() }

    /// Runs `body` with a pool on the fixture's database (generous deadline: census queries scan a lot).
    package func withDatabase<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (FuelDatabase) async throws -> T) async throws -> T {
        try await Self.withDatabase(url: url, logger: logger, body)
    }

    package static func withDatabase<T: Sendable>(url: String, logger: Logger, _ body: @escaping @Sendable (FuelDatabase) async throws -> T) async throws -> T {
        // The pool warns when a query waits for `run()` to start, which it does here by design.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let db = FuelDatabase(url: try DatabaseURL(url), maxConnections: 8, requestDeadline: .seconds(600), logger: quiet)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await db.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(db)
        }
    }

    private static func prepare(url: String, registry: Registry, yaml: String, logger: Logger,
                                print: @escaping @Sendable (String) -> Void) async throws -> ([String: String], String) {
        try await withDatabase(url: url, logger: logger) { db in
            _ = try await Migrator(database: db).migrate()
            let summary = try await RegistryStore(database: db).importRegistry(registry, sourceDigest: TokenStore.hash(yaml).hexString, actor: "fixture")
            print("• imported \(summary)")
            let tokens = TokenStore(database: db)
            var keys: [String: String] = [:]
            for s in registry.stations { keys[s.id] = try await tokens.issue(role: .station, station: s.id, name: s.id, actor: "fixture") }
            let admin = try await tokens.issue(role: .admin, station: nil, name: "fixture admin", actor: "fixture")
            print("• issued \(keys.count) station keys")
            return (keys, admin)
        }
    }
}
