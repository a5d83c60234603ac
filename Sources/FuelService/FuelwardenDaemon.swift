import FuelStore
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import FuelWire
import PostgresNIO
import ServiceLifecycle

/// The daemon's parts, wired once: stores, caches, controllers, background services.
public struct FuelwardenComponents: Sendable {
    public let config: FuelwardenConfig
    public let database: FuelDatabase
    public let registry: RegistryCache
    public let metrics: FuelMetrics
    public let detection: DetectionService
    public let signal: DetectionSignal
    public let migrator: Migrator
    public let feeds: FeedsFile
    /// Ports the device listeners are bound to, once they are (tests bind to port 0).
    public let listening = ListeningPorts()

    /// - Parameter feeds: device feeds to use instead of `config.feedsFile` (the demo builds its own).
    public init(config: FuelwardenConfig, logger: Logger, feeds: FeedsFile? = nil) throws {
        let url = try config.requireDatabaseURL()
        self.config = config
        database = FuelDatabase(url: url, maxConnections: config.databaseMaxConnections,
                                requestDeadlineSeconds: config.databaseRequestDeadlineSeconds, logger: logger)
        registry = RegistryCache(store: RegistryStore(database: database))
        metrics = FuelMetrics(poolMax: config.databaseMaxConnections)
        signal = DetectionSignal()
        migrator = try Migrator(database: database)
        self.feeds = try feeds ?? config.loadFeeds()
        detection = DetectionService(
            ledger: LedgerStore(database: database), store: DetectionStore(database: database), registry: registry,
            thresholds: config.thresholds, signal: signal, metrics: metrics,
            interval: .milliseconds(Int64(config.detectIntervalSeconds * 1000)), batchSize: config.detectBatchSize,
            staleFeedMinutes: config.staleFeedMinutes, logger: logger)
    }

    /// Where device feeds put their records.
    public func feedSink(logger: Logger) -> FeedSink {
        FeedSink(ledger: LedgerStore(database: database), registry: registry, metrics: metrics, detection: signal, logger: logger)
    }

    /// The HTTP router: open probes, then every `/v1` route behind bearer authentication.
    public func router() -> Router<FuelRequestContext> {
        let router = Router(context: FuelRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        HealthController(database: database, migrator: migrator, alerts: AlertStore(database: database), metrics: metrics)
            .addRoutes(to: router)
        let v1 = router.group("v1").add(middleware: AuthMiddleware(tokens: TokenCache(
            store: TokenStore(database: database), ttlSeconds: config.authCacheSeconds)))
        IngestController(
            ledger: LedgerStore(database: database), registry: registry, metrics: metrics, detection: signal,
            maxBodyBytes: config.ingestMaxBodyBytes, maxLines: config.ingestMaxLines,
            bodyTimeoutSeconds: config.ingestBodyTimeoutSeconds
        ).addRoutes(to: v1)
        AlertsController(alerts: AlertStore(database: database)).addRoutes(to: v1)
        StationsController(registry: registry, store: RegistryStore(database: database)).addRoutes(to: v1)
        CheckpointsController(store: CheckpointStore(database: database)).addRoutes(to: v1)
        HistoryController(store: HistoryStore(database: database),
                          cache: config.historyCacheDir.map { HistoryFileCache(directory: $0, maxMB: config.historyCacheMaxMB, logger: database.logger) }).addRoutes(to: v1)
        RegistryController(store: RegistryStore(database: database), registry: registry).addRoutes(to: v1)
        InspectionController(store: InspectionStore(database: database), registry: registry, settings: config.inspection).addRoutes(to: v1)
        OutboxController(store: OutboxStore(database: database)).addRoutes(to: v1)
        ProvenanceController(store: ProvenanceStore(database: database), registry: registry).addRoutes(to: v1)
        CitiesController(store: CityReportStore(database: database), registry: registry).addRoutes(to: v1)
        return router
    }
}

/// Runs Fuelwarden: waits for the database, checks the schema, loads the registry, then serves HTTP
/// and runs detection and registry refresh until graceful shutdown (SIGTERM), which lets in-flight
/// requests finish. Run it in a ServiceGroup after the PostgresClient, so the pool stops last.
public struct FuelwardenDaemon: Service {
    public let components: FuelwardenComponents
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void
    /// Seconds to wait for the database at startup before giving up with a clear error.
    let startupDeadlineSeconds: Double

    public init(components: FuelwardenComponents, logger: Logger, startupDeadlineSeconds: Double = 15,
                onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.components = components
        self.logger = logger
        self.onListening = onListening
        self.startupDeadlineSeconds = startupDeadlineSeconds
    }

    public func run() async throws {
        let c = components
        try await waitForDatabase()
        let status = try await c.migrator.status()
        guard status.isCurrent else {
            throw ConfigurationError(
                key: "database.url",
                message: "schema of \(c.database.url) is at version \(status.applied.last ?? 0) but this build needs \(status.latest): run `fuelwarden migrate`")
        }
        try await c.registry.reload()
        logger.info("registry loaded", metadata: ["stations": "\(c.registry.snapshot.registry.stations.count)"])

        let onListening = self.onListening, logger = self.logger
        let app = Application(
            router: c.router(),
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(c.config.httpIdleTimeoutSeconds * 1000)))),
            configuration: .init(address: .hostname(c.config.httpHost, port: c.config.httpPort), serverName: "fuelwarden",
                                 availableConnectionsDelegate: MaximumAvailableConnections(c.config.httpMaxConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("listening", metadata: ["address": "http://\(c.config.httpHost):\(port)"])
                await onListening(port)
            },
            logger: logger)
        let refresh = RegistryRefreshService(
            cache: c.registry, interval: .milliseconds(Int64(c.config.registryRefreshSeconds * 1000)), logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await app.runService() }
            if c.config.detectEnabled { group.addTask { try await c.detection.run() } }
            group.addTask { try await refresh.run() }
            if let key = try c.config.checkpointKey() {
                let signer = CheckpointService(store: CheckpointStore(database: c.database), key: key, origin: c.config.checkpointOrigin,
                                               interval: .milliseconds(Int64(c.config.checkpointIntervalSeconds * 1000)), logger: logger)
                group.addTask { try await untilGracefulShutdown { await signer.run() } }
            } else {
                logger.notice("no checkpoint.signing_key: signed checkpoints are off")
            }
            let notifier = OutboxNotifier(store: OutboxStore(database: c.database), settings: c.config.notify, logger: logger)
            group.addTask { try await untilGracefulShutdown { await notifier.run() } }
            // The server's health, probed on a connection of its own: while it is down requests answer 503 at once.
            group.addTask { try await untilGracefulShutdown { await c.database.health.monitor(url: c.database.url, logger: logger) } }
            if c.config.hj212Enabled {
                let listener = HJ212Listener(settings: c.config.hj212, devices: c.feeds.devices, sink: c.feedSink(logger: logger), logger: logger) {
                    c.listening.set(hj212: $0)
                }
                group.addTask { try await untilGracefulShutdown { try await listener.run() } }
            }
            if !c.feeds.consoles.isEmpty {
                let poller = ATGPoller(consoles: c.feeds.consoles, settings: c.config.atg, sink: c.feedSink(logger: logger), logger: logger)
                group.addTask { try await untilGracefulShutdown { await poller.run() } }
            }
        }
    }

    private func waitForDatabase() async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(startupDeadlineSeconds * 1000))
        while ContinuousClock.now < deadline {
            if await components.database.ping(seconds: 2) { return }
            logger.warning("database not answering yet", metadata: ["url": "\(components.database.url)"])
            try await Task.sleep(for: .seconds(1))
        }
        throw StoreError.unavailable("\(components.database.url) did not answer within \(startupDeadlineSeconds) s (check database.url, that the server runs and the database exists)")
    }

    /// The service group of `fuelwarden serve`: the pool first (so it stops last), then the daemon.
    public static func serviceGroup(components: FuelwardenComponents, logger: Logger,
                                    onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> ServiceGroup {
        ServiceGroup(configuration: .init(
            services: [
                .init(service: PostgresClientService(client: components.database.client)),
                .init(service: FuelwardenDaemon(components: components, logger: logger, onListening: onListening),
                      successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    }
}

/// Runs a feed until graceful shutdown cancels it; that cancellation is the normal way out.
func untilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown { try await body() }
    } catch is CancellationError {
    }
}

/// The ports device listeners bound to.
public final class ListeningPorts: Sendable {
    private let hj212Port = NIOLockedValueBox<Int?>(nil)
    public init() {}
    public var hj212: Int? { hj212Port.withLockedValue { $0 } }
    func set(hj212 port: Int) { hj212Port.withLockedValue { $0 = port } }
}

/// PostgresClient as a service: its `run()` returns only when cancelled, so graceful shutdown
/// (which reaches it last) cancels it.
public struct PostgresClientService: Service {
    let client: PostgresClient
    public init(client: PostgresClient) { self.client = client }
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}
