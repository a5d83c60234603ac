import FuelPostgresFixture
import FuelStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests use: `FUELWARDEN_TEST_DATABASE_URL` (a superuser URL of a
/// running server) when set, otherwise one throwaway cluster started for the test process and
/// removed when it exits. Each test gets a database of its own, copied from a migrated template.
public enum TestPostgres {
    public static let logger: Logger = {
        var l = Logger(label: "fuelwarden.tests")
        l.logLevel = ProcessInfo.processInfo.environment["FUELWARDEN_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return l
    }()

    /// The server and its template, prepared once.
    static let server = Task<TestServer, any Error> { try await TestServer.start() }

    /// Runs `body` with a fresh database (migrated unless `migrated` is false) and a running pool.
    public static func withDatabase<T: Sendable>(
        migrated: Bool = true, _ body: @escaping @Sendable (FuelDatabase) async throws -> T
    ) async throws -> T {
        let server = try await server.value
        let name = try await server.createDatabase(migrated: migrated)
        let db = FuelDatabase(url: server.url.with(database: name), maxConnections: 8, requestDeadline: .seconds(20), logger: logger)
        defer { Task { await server.drop(name) } }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await db.run(); return nil }
            defer { group.cancelAll() }
            return try await body(db)
        }
    }

    /// Runs SQL as the superuser in a test's database (to play the administrator who tampers).
    public static func superuser(_ db: FuelDatabase, _ sql: String) async throws {
        try await db.client.withConnection { conn in
            for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}

extension TestPostgres {
    /// The first column of every row of a query, as text (for checking what the daemon stored).
    public static func strings(_ db: FuelDatabase, _ sql: String) async throws -> [String] {
        try await db.client.withConnection { conn in
            var out: [String] = []
            for try await s in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String.self) { out.append(s) }
            return out
        }
    }
}

/// Creates and drops test databases on the test server.
actor TestServer {
    let url: DatabaseURL
    private var counter = 0
    nonisolated(unsafe) static var clusterToStop: ThrowawayCluster?

    init(url: DatabaseURL) { self.url = url }

    static func start() async throws -> TestServer {
        let url: DatabaseURL
        if let env = ProcessInfo.processInfo.environment["FUELWARDEN_TEST_DATABASE_URL"], !env.isEmpty {
            url = try DatabaseURL(env)
        } else {
            let cluster = try ThrowawayCluster()
            clusterToStop = cluster
            atexit { TestServer.clusterToStop?.stop() }
            url = try DatabaseURL(cluster.url(database: "postgres"))
        }
        let server = TestServer(url: url)
        try await server.admin("DROP DATABASE IF EXISTS fw_test_template")
        try await server.admin("CREATE DATABASE fw_test_template")
        let db = FuelDatabase(url: url.with(database: "fw_test_template"), maxConnections: 1, requestDeadline: .seconds(60), logger: TestPostgres.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            try await Migrator(database: db).migrate()
        }
        return server
    }

    func createDatabase(migrated: Bool) async throws -> String {
        counter += 1
        let name = "fw_test_\(getpid())_\(counter)"
        try await admin(migrated ? "CREATE DATABASE \(name) TEMPLATE fw_test_template" : "CREATE DATABASE \(name)")
        return name
    }

    func drop(_ name: String) async {
        try? await admin("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// One statement on the server's maintenance database, with a connection of its own
    /// (CREATE DATABASE … TEMPLATE needs the template to have no other sessions).
    func admin(_ sql: String) async throws {
        let eventLoop = PostgresClient.defaultEventLoopGroup.next()
        let config = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: "postgres", tls: .disable)
        var attempt = 0
        while true {
            attempt += 1
            var conn: PostgresConnection?
            do {
                let c = try await PostgresConnection.connect(on: eventLoop, configuration: config, id: 1, logger: TestPostgres.logger)
                conn = c
                try await c.query(PostgresQuery(unsafeSQL: sql), logger: TestPostgres.logger)
                try await c.close()
                return
            } catch {
                try? await conn?.close()
                // The template may still be closing a session, or the server be briefly full; retry.
                guard attempt < 20 else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
