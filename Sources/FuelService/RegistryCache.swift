import AsyncAlgorithms
import FuelDetect
import FuelModel
import FuelStore
import Logging
import ServiceLifecycle
import Synchronization

/// The registry as the daemon uses it: loaded from the database and refreshed periodically, so a
/// `fuelwarden registry import` run elsewhere reaches running daemons within the refresh interval.
public final class RegistryCache: Sendable {
    public struct Snapshot: Sendable {
        public var registry: Registry
        public var profiles: [String: StationProfile]
    }

    private let store: RegistryStore
    private let current = Mutex<Snapshot>(Snapshot(registry: Registry(), profiles: [:]))
    private let lastReload = Mutex<ContinuousClock.Instant?>(nil)

    public init(store: RegistryStore) { self.store = store }

    public var snapshot: Snapshot { current.withLock { $0 } }

    public func profile(_ station: String) -> StationProfile? { current.withLock { $0.profiles[station] } }

    public func reload() async throws {
        let r = try await store.load()
        var profiles: [String: StationProfile] = [:]
        for s in r.stations { profiles[s.id] = StationProfile(station: s, ceilings: r.priceCeilings, suppliers: r.suppliers) }
        current.withLock { $0 = Snapshot(registry: r, profiles: profiles) }
        lastReload.withLock { $0 = .now }
    }

    /// The station's profile, reloading once (at most every 2 s) when the station is unknown:
    /// a station imported a moment ago should not wait for the next periodic refresh.
    public func profileReloadingIfUnknown(_ station: String) async throws -> StationProfile? {
        if let p = profile(station) { return p }
        let recent = lastReload.withLock { $0.map { ContinuousClock.now - $0 < .seconds(2) } ?? false }
        guard !recent else { return nil }
        try await reload()
        return profile(station)
    }
}

/// Refreshes the ``RegistryCache`` every `interval`.
public struct RegistryRefreshService: Service {
    let cache: RegistryCache
    let interval: Duration
    let logger: Logger

    public init(cache: RegistryCache, interval: Duration, logger: Logger) {
        self.cache = cache
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await cache.reload()
            } catch {
                logger.warning("registry refresh failed", metadata: ["error": "\(describeDatabaseError(error))"])
            }
        }
    }
}
