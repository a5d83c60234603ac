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

/// The daemon's database: the servers it knows (one pool each), the logger to log queries under,
/// and where this value's queries go — the primary, or (a value from ``forReading()``) the server
/// chosen to serve one request's reads.
///
/// Run ``run()`` in the service group before anything queries, and list it first so it stops last.
public struct FuelDatabase: Sendable {
    public let servers: DatabaseServers
    public let logger: Logger
    /// Deadline for a request's database work; past it the request answers 503.
    public var requestDeadline: Duration
    public let inFlight = InFlightCounter()
    /// Up or down as the health probe sees it; while down, requests fail at once (see ``DatabaseHealth``).
    public let health = DatabaseHealth()
    /// The ledger's suite once read (``ledgerSuite()``).
    public let suiteCache = LedgerSuiteCache()
    /// Set on a value made by ``forReading()``: the server its reads go to and its lag.
    public private(set) var readSource: DatabaseServers.ReadSource?

    /// One server (the common case, and every tool that is given one URL).
    public init(url: DatabaseURL, maxConnections: Int = 20, requestDeadline: Duration = .seconds(5), logger: Logger) {
        self.init(servers: DatabaseServers(writeURLs: [url], maxConnections: maxConnections, logger: logger),
                  requestDeadline: requestDeadline, logger: logger)
    }

    public init(servers: DatabaseServers, requestDeadline: Duration = .seconds(5), logger: Logger) {
        self.servers = servers
        self.logger = logger
        self.requestDeadline = requestDeadline
    }

    /// The pool this value's queries use: the chosen read server's, else the primary's.
    public var client: PostgresClient { readSource.map { servers.servers[$0.server].client } ?? servers.primary.client }

    /// The primary's URL (the first named until probes have found the primary).
    public var url: DatabaseURL { servers.primary.url }

    /// Runs every server's pool until cancelled.
    public func run() async { await servers.run() }

    /// This database for one request's reads: a standby named by `database.read_url` that is at
    /// most `database.max_read_lag_seconds` behind, else the primary. The choice is made now and
    /// kept for every query through the value (a streamed export reads one server's data), and
    /// ``readSource`` says which it is and how far behind, for the answer to report.
    public func forReading() -> FuelDatabase {
        var copy = self
        copy.readSource = servers.readSource()
        return copy
    }

    /// Why this value's queries cannot be served now, checked before a query and every 250 ms while
    /// one waits: the primary's outage, or — for reads on a standby — that standby's.
    private var unavailability: @Sendable () -> StoreError? {
        if let read = readSource, !read.isPrimary {
            let servers = self.servers
            return { servers.standbyUnavailability(read.server) }
        }
        let health = self.health
        return { health.unavailableError() }
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
        let client = self.client, logger = self.logger, inFlight = self.inFlight, unavailability = self.unavailability
        if let down = unavailability() { throw down }
        return try await withDeadline(requestDeadline, what, abort: unavailability) {
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

    /// Runs `body` on a leased connection for work that may take long (a chain recomputed from its
    /// bodies): no deadline, but it fails as soon as the database is found down, and a caller that
    /// is cancelled returns at once, even while the driver waits on a connection that died.
    public func longConnection<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client, unavailability = self.unavailability
        if let down = unavailability() { throw down }
        return try await withDeadline(.seconds(366 * 86_400), what, abort: unavailability) {
            try await client.withConnection { conn in try await body(conn) }
        }
    }

    /// Runs `body` on a leased connection, within the request deadline.
    public func connection<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client, inFlight = self.inFlight, unavailability = self.unavailability
        if let down = unavailability() { throw down }
        return try await withDeadline(requestDeadline, what, abort: unavailability) {
            inFlight.enter()
            defer { inFlight.leave() }
            return try await client.withConnection { conn in try await body(conn) }
        }
    }
}
