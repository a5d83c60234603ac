import FuelConsole
import FuelFeeds
import FuelStore
import FuelWire
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
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
    /// `feeds.hj212.key_file`, read and checked at start-up.
    public let hj212Keys: [String: [HJ212KeyRing.Key]]
    /// `http.tls.*`, read and checked at start-up; nil = plain HTTP.
    public let tls: ServerTLS?
    /// Ports the device listeners are bound to, once they are (tests bind to port 0).
    public let listening = ListeningPorts()
    /// New alerts for every live stream, from one LISTEN.
    public let alertFeed: AlertBroadcaster
    /// Pushes and feed packets share transactions here (group commit).
    public let appends: AppendCoalescer

    /// - Parameters:
    ///   - feeds: device feeds to use instead of `config.feeds.file` (the demo builds its own).
    ///   - profile: where pushes spend their time is summed here (`bench ingest --profile`).
    public init(config: FuelwardenConfig, logger: Logger, feeds: FeedsFile? = nil, profile: IngestProfile? = nil) throws {
        let servers = DatabaseServers(writeURLs: try config.requireDatabaseURLs(), readURLs: try config.readDatabaseURLs(),
                                      maxConnections: config.database.maxConnections, maxReadLag: config.database.maxReadLag, logger: logger)
        self.config = config
        database = FuelDatabase(servers: servers, requestDeadline: config.database.requestDeadline, logger: logger)
        registry = RegistryCache(store: RegistryStore(database: database))
        metrics = FuelMetrics(poolMax: config.database.maxConnections)
        signal = DetectionSignal()
        alertFeed = AlertBroadcaster(alerts: AlertStore(database: database), logger: logger)
        migrator = try Migrator(database: database)
        appends = AppendCoalescer(ledger: LedgerStore(database: database), settings: config.ingest.coalescing, profile: profile, logger: logger)
        self.feeds = try feeds ?? config.loadFeeds()
        hj212Keys = try config.loadHJ212Keys()
        tls = try ServerTLS.load(config.http)
        detection = DetectionService(
            ledger: LedgerStore(database: database), store: DetectionStore(database: database), registry: registry,
            settings: config.detect, signal: signal, metrics: metrics, logger: logger)
    }

    /// The HJ 212 devices' keys and state (the key file read and checked here).
    public func hj212DeviceBook(logger: Logger) -> HJ212DeviceBook {
        HJ212DeviceBook(devices: feeds.devices, keyFile: hj212Keys, settings: config.feeds.hj212,
                        store: HJ212DeviceStore(database: database), logger: logger)
    }

    /// HTTP/1.1, over TLS when `http.tls.*` is set.
    func serverBuilder() -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: TimeAmount(config.http.idleTimeout)))
        guard let tls else { return http1 }
        do {
            return try .tls(http1, tlsConfiguration: tls.configuration)
        } catch {
            // ServerTLS.load built a context from this configuration already; it cannot fail here.
            preconditionFailure("http.tls: \(error)")
        }
    }

    /// Where device feeds put their records.
    public func feedSink(logger: Logger) -> FeedSink {
        FeedSink(appends: appends, registry: registry, metrics: metrics, detection: signal, logger: logger)
    }

    /// The HTTP router: open probes, then every `/v1` route behind bearer authentication.
    public func router() -> Router<FuelRequestContext> {
        let router = Router(context: FuelRequestContext.self)
        let routes = KnownRoutes()
        router.add(middleware: ErrorMiddleware(routes: routes))
        HealthController(database: database, migrator: migrator, alerts: AlertStore(database: database), metrics: metrics, appends: appends)
            .addRoutes(to: router)
        let v1 = router.group("v1").add(middleware: AuthMiddleware(tokens: TokenCache(
            store: TokenStore(database: database), ttl: config.auth.cacheTTL), stationCertificates: tls?.verifiesClients ?? false))
        IngestController(
            appends: appends, registry: registry, metrics: metrics, detection: signal, settings: config.ingest
        ).addRoutes(to: v1)
        AlertsController(alerts: AlertStore(database: database), feed: alertFeed).addRoutes(to: v1)
        StationsController(registry: registry, store: RegistryStore(database: database), detection: DetectionStore(database: database),
                           thresholds: config.detect.thresholds, devices: HJ212DeviceStore(database: database),
                           offlineAfter: config.feeds.hj212.offlineAfter).addRoutes(to: v1)
        CheckpointsController(store: CheckpointStore(database: database), archive: config.ledger.archiveDirectory.map(ArchiveDirectory.init(root:))).addRoutes(to: v1)
        HistoryController(store: HistoryStore(database: database),
                          cache: config.history.cacheDir.map { HistoryFileCache(directory: $0, maxMB: config.history.cacheMaxMB, logger: database.logger) }).addRoutes(to: v1)
        RegistryController(store: RegistryStore(database: database), registry: registry).addRoutes(to: v1)
        InspectionController(store: InspectionStore(database: database), registry: registry, settings: config.inspection).addRoutes(to: v1)
        OutboxController(store: OutboxStore(database: database)).addRoutes(to: v1)
        ProvenanceController(store: ProvenanceStore(database: database), registry: registry).addRoutes(to: v1)
        CitiesController(store: CityReportStore(database: database), registry: registry).addRoutes(to: v1)
        // The regulator console: its own sign-in (a session cookie), not the bearer header.
        let registry = self.registry
        do {
            try ConsoleController(
                database: database,
                directory: .init(
                    cities: { registry.snapshot.registry.cities }, station: { registry.profile($0)?.station },
                    stations: { registry.snapshot.registry.stations },
                    inspect: { [inspection = InspectionRunner(store: InspectionStore(database: database), settings: config.inspection)] station, year, actor in
                        let city = registry.snapshot.registry.cities.first { $0.code == station.city }?.name
                        do {
                            return try await inspection.run(station: station, cityName: city, year: year, recordAs: actor)
                        } catch let e as InspectionRunner.InvalidRequest {
                            throw StoreError.invalid(e.description)
                        }
                    },
                    historyCSV: { [history = HistoryController(store: HistoryStore(database: database))] station in
                        try await history.export(station: station, from: nil, to: nil, format: .csv)
                    },
                    inspectionGaps: { [store = InspectionStore(database: database), settings = config.inspection] city in
                        try await InspectionController.gaps(city: city, kinds: nil, stations: registry.snapshot.registry.stations,
                                                            store: store, settings: settings).gaps
                    }),
                settings: .init(idle: config.console.sessionIdle, absolute: config.console.sessionAbsolute, secureCookie: config.console.secureCookie,
                               deviceOffline: config.feeds.hj212.offlineAfter),
                thresholds: config.detect.thresholds, alertFeed: alertFeed,
                encodeAlert: { try ConsoleAlertDTO.line($0, stationName: registry.profile($0.station)?.station.name) }, isStopping: { Task.isShuttingDownGracefully }, logger: database.logger
            ).addRoutes(to: router)
        } catch {
            // Its templates and assets ship inside the binary: missing ones are a broken build.
            database.logger.critical("the console cannot start: \(error)")
        }
        routes.set(router.routes)
        return router
    }
}

/// Fuelwarden as a set of services in one `ServiceGroup`: the PostgreSQL pool, the health probe,
/// the background services (detection, registry refresh, checkpoints, outbox, HJ 212 listener,
/// ATG poller) and the HTTP application. The application's `beforeServerStarts` waits for the
/// database, checks the schema and loads the registry; the background services start once that
/// passed (``StartupGate``). Graceful shutdown (SIGTERM) runs in reverse order: HTTP first, letting
/// in-flight requests finish, then the background services, the probe, and the pool last.
public enum FuelwardenDaemon {
    /// The service group of `fuelwarden serve`.
    /// - Parameter startupDeadline: how long to wait for the database at startup before giving up.
    public static func serviceGroup(components c: FuelwardenComponents, logger: Logger, startupDeadline: Duration = .seconds(15),
                                    onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> ServiceGroup {
        let gate = StartupGate()
        var app = Application(
            router: c.router(),
            server: c.serverBuilder(),
            configuration: .init(address: .hostname(c.config.http.host, port: c.config.http.port), serverName: "fuelwarden",
                                 availableConnectionsDelegate: MaximumAvailableConnections(c.config.http.maxConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("listening", metadata: ["address": "\(c.tls == nil ? "http" : "https")://\(c.config.http.host):\(port)",
                                                      "client_certificates": "\(c.tls?.verifiesClients == true ? "required" : "no")"])
                await onListening(port)
            },
            logger: logger)
        app.beforeServerStarts {
            try await startup(c, logger: logger, deadline: startupDeadline)
            gate.open()
        }

        func background(_ service: some Service) -> ServiceGroupConfiguration.ServiceConfiguration {
            // A background service that ends on its own (nothing to do) leaves the others running.
            .init(service: AfterStartup(service, gate: gate), successTerminationBehavior: .ignore,
                  failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: DatabasePoolsService(database: c.database)),
            .init(service: DatabaseHealthService(database: c.database, logger: logger)),
        ]
        if c.config.detect.enabled { services.append(background(c.detection)) }
        services.append(background(AlertFeedService(feed: c.alertFeed)))
        services.append(background(LedgerPartitionService(periods: LedgerPeriods(database: c.database), logger: logger)))
        services.append(background(RegistryRefreshService(cache: c.registry, interval: c.config.registry.refreshInterval, logger: logger)))
        if c.config.checkpoint.verifyEvery > .zero {
            services.append(background(ChainVerificationService(audit: ChainAudit(database: c.database), every: c.config.checkpoint.verifyEvery,
                                                                     wholeEvery: c.config.checkpoint.verifyWholeEvery, logger: logger)))
        }
        do {
            if let key = try c.config.checkpointKey() {
                services.append(background(CheckpointService(
                    store: CheckpointStore(database: c.database), key: key, origin: c.config.checkpoint.origin,
                    interval: c.config.checkpoint.interval, logger: logger)))
            } else {
                logger.notice("no checkpoint.signing_key: signed checkpoints are off")
            }
        } catch {
            // `serve` checks the key before it builds the group; a bad key here is reported and stops the daemon.
            services.append(.init(service: FailingService(error: error), failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(background(OutboxNotifier(store: OutboxStore(database: c.database), settings: c.config.notify, logger: logger)))
        if c.config.feeds.hj212Enabled {
            let book = c.hj212DeviceBook(logger: logger)
            services.append(background(HJ212Listener(
                settings: c.config.feeds.hj212, devices: c.feeds.devices, book: book, sink: c.feedSink(logger: logger), logger: logger
            ) { c.listening.set(hj212: $0) }))
            services.append(background(HJ212DeviceBookService(book: book, every: c.config.feeds.hj212.deviceSweep, logger: logger)))
        }
        if !c.feeds.consoles.isEmpty {
            services.append(background(ATGPoller(consoles: c.feeds.consoles, settings: c.config.feeds.atg, sink: c.feedSink(logger: logger), logger: logger)))
        }
        services.append(.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        // Every service names itself when it holds a shutdown up; past the grace the group cancels them all.
        let watched = services.map { s in
            var s = s
            s.service = ShutdownWatch(service: s.service, name: ShutdownWatch.name(of: s.service), every: .seconds(5), logger: logger)
            return s
        }
        var configuration = ServiceGroupConfiguration(services: watched, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = c.config.http.shutdownGrace
        return ServiceGroup(configuration: configuration)
    }

    /// Waits for the database, checks that the schema is this build's and loads the registry.
    static func startup(_ c: FuelwardenComponents, logger: Logger, deadline: Duration) async throws {
        let end = ContinuousClock.now + deadline
        // A primary must answer (with several servers named, the probes find which one it is).
        while await !c.database.servers.refresh(health: c.database.health, logger: logger) {
            let reason = c.database.health.outage?.reason ?? "\(c.database.url) does not answer"
            guard ContinuousClock.now < end else {
                throw StoreError.unavailable("\(reason); waited \(deadline) (check database.url, that the server runs and the database exists)")
            }
            logger.warning("database not answering yet", metadata: ["reason": "\(reason)"])
            try await Task.sleep(for: .seconds(1))
        }
        let status = try await c.migrator.status()
        c.metrics.schema(build: status.latest, database: status.schemaVersion, compatible: status.isCurrent)
        if let problem = status.problem {
            throw ConfigurationError(key: "database.url", message: "\(c.database.url): \(problem)")
        }
        // The ledger's suite: recorded now if the database has none yet, refused if it has another.
        if let why = c.config.ledger.suite.unavailability() { throw ConfigurationError(key: "ledger.suite", message: why) }
        do {
            let suite = try await LedgerSuiteStore(database: c.database).choose(c.config.ledger.suite)
            logger.info("ledger suite", metadata: ["suite": "\(suite.summary)"])
        } catch let m as LedgerSuiteStore.Mismatch {
            throw ConfigurationError(key: "ledger.suite", message: m.description)
        }
        if status.schemaVersion > status.latest {
            logger.notice("serving on a newer schema (its newer migrations are compatible with this build)", metadata: [
                "schema": "\(status.schemaVersion)", "build_schema": "\(status.latest)"])
        }
        // An append must find its month's partition: made here before the first one (and kept by
        // LedgerPartitionService); a failure is left to the service, which tries again.
        if let made = try? await LedgerPeriods(database: c.database).keepAhead(), !made.isEmpty {
            logger.notice("ledger partitions made", metadata: ["partitions": "\(made.joined(separator: ", "))"])
        }
        try await c.registry.reload()
        logger.info("registry loaded", metadata: ["stations": "\(c.registry.snapshot.registry.stations.count)"])
    }
}

/// A service that fails at once with `error`: a configuration problem found while building the group.
struct FailingService: Service {
    let error: any Error
    func run() async throws { throw error }
}
