import FuelConsole
import FuelFeeds
import FuelStore
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Opens once the daemon's startup checks have passed (database answers, schema current, registry
/// loaded); the background services wait for it, so none works on a database it has not checked.
public final class StartupGate: Sendable {
    private let opened = Mutex(false)
    public init() {}

    public var isOpen: Bool { opened.withLock { $0 } }
    func open() { opened.withLock { $0 = true } }

    /// Returns once the gate is open; throws `CancellationError` when cancelled first.
    func wait() async throws {
        // Polled: startup takes seconds at most, and a poll cannot miss a wake-up.
        while !isOpen { try await Task.sleep(for: .milliseconds(20)) }
    }
}

/// A background service that starts its work only after the startup checks; a graceful shutdown
/// (or a failed startup) before then ends it without running.
public struct AfterStartup<Wrapped: Service>: Service {
    let gate: StartupGate
    let service: Wrapped

    public init(_ service: Wrapped, gate: StartupGate) {
        self.service = service
        self.gate = gate
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            return
        }
        try await service.run()
    }
}

/// The servers' health, each probed on a connection of its own every half second: which one is the
/// primary, how far behind each standby is; while no primary answers, requests answer 503 at once
/// instead of waiting for their deadline.
public struct DatabaseHealthService: Service {
    let database: FuelDatabase
    let logger: Logger

    public init(database: FuelDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        try await untilGracefulShutdown { await database.servers.monitor(health: database.health, logger: logger) }
    }
}

/// The servers' connection pools as a service: their `run()` returns only when cancelled, so
/// graceful shutdown (which reaches it last) cancels it.
public struct DatabasePoolsService: Service {
    let database: FuelDatabase
    public init(database: FuelDatabase) { self.database = database }
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await database.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}

/// The ports device listeners bound to.
public final class ListeningPorts: Sendable {
    private let hj212Port = NIOLockedValueBox<Int?>(nil)
    public init() {}
    public var hj212: Int? { hj212Port.withLockedValue { $0 } }
    func set(hj212 port: Int) { hj212Port.withLockedValue { $0 = port } }
}

/// The alert broadcaster's listener as a service, until graceful shutdown.
public struct AlertFeedService: Service {
    let feed: AlertBroadcaster
    public init(feed: AlertBroadcaster) { self.feed = feed }
    public func run() async throws {
        try await untilGracefulShutdown { await feed.run() }
    }
}
