import Logging
import PostgresNIO
import Synchronization

/// Database operations in flight, read by the metrics endpoint.
public final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    public init() {}
    public var value: Int { count.load(ordering: .relaxed) }
    func enter() { count.add(1, ordering: .relaxed) }
    func leave() { count.subtract(1, ordering: .relaxed) }
}

/// The daemon's database: a connection pool and the logger to log queries under.
///
/// Run ``client`` (`PostgresClient.run()`) in the service group before anything queries, and list
/// it first so it stops last.
public struct FuelDatabase: Sendable {
    public let client: PostgresClient
    public let url: DatabaseURL
    public let logger: Logger
    /// Deadline for a request's database work; past it the request answers 503.
    public var requestDeadline: Duration
    public let inFlight = InFlightCounter()
    /// Up or down as the health probe sees it; while down, requests fail at once (see ``DatabaseHealth``).
    public let health = DatabaseHealth()
    /// The ledger's suite once read (``ledgerSuite()``).
    public let suiteCache = LedgerSuiteCache()

    public init(url: DatabaseURL, maxConnections: Int = 20, requestDeadline: Duration = .seconds(5), logger: Logger) {
        var config = url.clientConfiguration
        config.options.maximumConnections = maxConnections
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.url = url
        self.logger = logger
        self.requestDeadline = requestDeadline
    }

    /// Answers whether the database responds within `seconds`.
    public func ping(seconds: Double = 2) async -> Bool {
        let client = self.client
        do {
            return try await withDeadline(.seconds(seconds), "ping") {
                let rows = try await client.query("SELECT 1")
                for try await _ in rows {}
                return true
            }
        } catch {
            return false
        }
    }

    /// Runs `body` in one transaction, within the request deadline.
    public func transaction<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client, logger = self.logger, inFlight = self.inFlight
        if let down = health.unavailableError() { throw down }
        return try await withDeadline(requestDeadline, what, health: health) {
            inFlight.enter()
            defer { inFlight.leave() }
            return try await client.withConnection { conn in
                do {
                    return try await conn.withTransaction(logger: logger) { tx in try await body(tx) }
                } catch let e as PostgresTransactionError {
                    // The transaction was rolled back; answer with what went wrong inside it.
                    throw e.closureError ?? e.commitError ?? e.beginError ?? e
                }
            }
        }
    }

    /// Runs `body` on a leased connection, within the request deadline.
    public func connection<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client, inFlight = self.inFlight
        if let down = health.unavailableError() { throw down }
        return try await withDeadline(requestDeadline, what, health: health) {
            inFlight.enter()
            defer { inFlight.leave() }
            return try await client.withConnection { conn in try await body(conn) }
        }
    }
}
