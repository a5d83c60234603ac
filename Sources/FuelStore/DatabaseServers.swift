import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The PostgreSQL servers a daemon knows: those `database.url` names (a primary and its standbys,
/// any of which may be promoted) and those `database.read_url` names (standbys that may serve
/// reads). One connection pool per server; a probe of each every half second says which one is the
/// primary now and how far behind each standby is.
///
/// Replication itself is PostgreSQL's (streaming replication, synchronous when the operator
/// configures `synchronous_standby_names`); this only follows it. Writes go to the server that is
/// not in recovery — after a failover, to the promoted standby, without a restart. If two servers
/// claim to be primary (an old primary restarted without being turned into a standby), the one on
/// the higher timeline (the promoted one) wins: the other's writes would be lost at its rewind.
public final class DatabaseServers: Sendable {
    /// One server and its pool.
    public struct Server: Sendable {
        public let url: DatabaseURL
        public let client: PostgresClient
        /// Named by `database.url`: may be the primary (now or after a promotion).
        public let mayWrite: Bool
        /// Named by `database.read_url`: may serve reads while a standby.
        public let mayRead: Bool
    }

    /// What the last probe of a server found.
    public struct Probe: Sendable, Equatable {
        public var answering: Bool
        public var inRecovery: Bool
        /// The WAL timeline (primaries only; the promoted server has the higher one).
        public var timeline: Int
        /// WAL position: written (primary) or replayed (standby), in bytes.
        public var walPosition: Double
        /// Seconds since the last transaction a standby replayed committed on its primary.
        public var replayAge: Double?
        /// Why it does not answer.
        public var problem: String?

        static func down(_ problem: String) -> Probe {
            Probe(answering: false, inRecovery: false, timeline: 0, walPosition: 0, replayAge: nil, problem: problem)
        }
    }

    /// Where a read is served from, and how far behind the primary its data is.
    public struct ReadSource: Sendable, Equatable {
        /// Index into ``servers``.
        public var server: Int
        public var isPrimary: Bool
        /// Seconds the data lags the primary (0 on the primary itself).
        public var lagSeconds: Double
    }

    public let servers: [Server]
    /// Reads go to a standby only while it is at most this far behind.
    public let maxReadLag: Duration
    private let probes: Mutex<[Probe?]>
    /// Index of the primary, -1 while none is known.
    private let primaryIndex: Atomic<Int>
    private let readTurn = Atomic<Int>(0)
    private let probers: [ServerProbe]

    /// - Parameters:
    ///   - writeURLs: `database.url`'s hosts, in order (the first is taken as primary until probed).
    ///   - readURLs: `database.read_url`'s hosts (a host in both lists gets one pool).
    public init(writeURLs: [DatabaseURL], readURLs: [DatabaseURL] = [], maxConnections: Int, maxReadLag: Duration = .seconds(5),
                logger: Logger) {
        precondition(!writeURLs.isEmpty, "at least one database URL")
        var list: [(url: DatabaseURL, write: Bool, read: Bool)] = []
        for u in writeURLs where !list.contains(where: { $0.url == u }) { list.append((u, true, false)) }
        for u in readURLs {
            if let i = list.firstIndex(where: { $0.url == u }) { list[i].read = true } else { list.append((u, false, true)) }
        }
        servers = list.map { entry in
            var config = entry.url.clientConfiguration
            config.options.maximumConnections = maxConnections
            return Server(url: entry.url, client: PostgresClient(configuration: config, backgroundLogger: logger),
                          mayWrite: entry.write, mayRead: entry.read)
        }
        self.maxReadLag = maxReadLag
        probes = Mutex(Array(repeating: nil, count: list.count))
        // Unknown until the first probe; queries meanwhile go to the first server named.
        primaryIndex = Atomic(-1)
        probers = list.map { ServerProbe(url: $0.url, logger: logger) }
    }

    /// The server writes go to now (the first listed until a probe has said otherwise, and while no
    /// primary is known: requests then fail on ``DatabaseHealth`` before they reach it).
    public var primary: Server { servers[max(0, primaryIndex.load(ordering: .acquiring))] }

    /// Whether a primary is known (false during a failover, before the standby is promoted).
    public var hasPrimary: Bool { primaryIndex.load(ordering: .acquiring) >= 0 }

    /// The last probe of each server (nil: not probed yet).
    public var lastProbes: [Probe?] { probes.withLock { $0 } }

    /// Runs every server's pool until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for s in servers { group.addTask { await s.client.run() } }
        }
    }

    /// Where a read should go now: the least-behind standby named for reads whose lag is within
    /// ``maxReadLag`` (taking turns among equals), else the primary.
    public func readSource() -> ReadSource {
        let primary = max(0, primaryIndex.load(ordering: .acquiring))
        let candidates = probes.withLock { probes -> [(Int, Double)] in
            servers.indices.compactMap { i in
                guard servers[i].mayRead, i != primary, let p = probes[i], p.answering, p.inRecovery,
                      let lag = Self.lag(of: p, primary: hasPrimary ? probes[primary] : nil), lag <= maxReadLag.inSeconds else { return nil }
                return (i, lag)
            }
        }
        guard !candidates.isEmpty else { return ReadSource(server: primary, isPrimary: true, lagSeconds: 0) }
        let best = candidates.map(\.1).min()!
        // Standbys within a tenth of a second of the best take turns.
        let near = candidates.filter { $0.1 <= best + 0.1 }
        let pick = near[readTurn.wrappingAdd(1, ordering: .relaxed).oldValue % near.count]
        return ReadSource(server: pick.0, isPrimary: false, lagSeconds: pick.1)
    }

    /// Why reads on standby `index` cannot go on (it stopped answering at the last probe), or nil.
    /// A standby promoted meanwhile still serves: its data is the newest there is.
    public func standbyUnavailability(_ index: Int) -> StoreError? {
        guard let p = probes.withLock({ $0[index] }), !p.answering else { return nil }
        return .unavailable("standby \(servers[index].url.hostAndPort) stopped answering: \(p.problem ?? "no answer")")
    }

    /// A standby's lag behind the primary: none when it has replayed all the primary had written at
    /// the last probe, else the age of the last transaction it replayed (nil: unknown).
    static func lag(of standby: Probe, primary: Probe?) -> Double? {
        if let primary, primary.answering, !primary.inRecovery, standby.walPosition >= primary.walPosition { return 0 }
        return standby.replayAge.map { max(0, $0) }
    }

    /// Chooses the primary from probes: a server named by `database.url` that answers and is not in
    /// recovery; of several, the highest timeline, then the first listed. Nil when there is none.
    static func choosePrimary(_ probes: [Probe?], mayWrite: [Bool]) -> Int? {
        var best: Int?
        for (i, p) in probes.enumerated() {
            guard mayWrite[i], let p, p.answering, !p.inRecovery else { continue }
            if let b = best, let q = probes[b], q.timeline >= p.timeline { continue }
            best = i
        }
        return best
    }

    /// Why no primary is known, server by server.
    static func noPrimaryReason(_ probes: [Probe?], servers: [Server]) -> String {
        let parts = servers.indices.filter { servers[$0].mayWrite }.map { i -> String in
            guard let p = probes[i] else { return "\(servers[i].url.hostAndPort): not probed yet" }
            if !p.answering { return "\(servers[i].url.hostAndPort): \(p.problem ?? "does not answer")" }
            return "\(servers[i].url.hostAndPort): a standby (in recovery)"
        }
        return servers.count == 1 && probes[0]?.answering == false
            ? "database \(servers[0].url) does not answer: \(probes[0]?.problem ?? "")"
            : "no writable primary: " + parts.joined(separator: "; ")
    }

    /// Probes every server every `interval` until cancelled (see ``refresh(health:timeout:logger:)``).
    public func monitor(health: DatabaseHealth, interval: Duration = .milliseconds(500), timeout: Duration = .seconds(2), logger: Logger) async {
        while !Task.isCancelled {
            await refresh(health: health, timeout: timeout, logger: logger)
            try? await Task.sleep(for: interval)
        }
        await closeProbes()
    }

    /// Closes the probes' connections (a command that probed once, at its end; the monitor, when it stops).
    public func closeProbes() async {
        for p in probers { await p.close() }
    }

    /// Probes every server once on connections of their own (outside the pools, so a busy pool is
    /// not mistaken for a server that is down): records what each one is, switches writes to the
    /// primary found, and marks `health` down while there is none. Answers whether a primary answers.
    @discardableResult
    public func refresh(health: DatabaseHealth, timeout: Duration = .seconds(2), logger: Logger) async -> Bool {
        let found = await withTaskGroup(of: (Int, Probe).self) { group in
            for (i, p) in probers.enumerated() { group.addTask { (i, await p.probe(timeout: timeout)) } }
            var found = [Probe?](repeating: nil, count: probers.count)
            for await (i, p) in group { found[i] = p }
            return found
        }
        probes.withLock { $0 = found }
        let chosen = Self.choosePrimary(found, mayWrite: servers.map(\.mayWrite))
        let previous = primaryIndex.exchange(chosen ?? -1, ordering: .acquiringAndReleasing)
        if let chosen {
            if previous >= 0 && previous != chosen {
                logger.warning("the primary changed: writes now go to \(servers[chosen].url.hostAndPort)",
                               metadata: ["previous": "\(servers[previous].url.hostAndPort)", "timeline": "\(found[chosen]?.timeline ?? 0)"])
            }
            if health.markUp() { logger.notice("database answers again", metadata: ["primary": "\(servers[chosen].url)"]) }
            return true
        }
        let reason = Self.noPrimaryReason(found, servers: servers)
        if health.markDown(reason) { logger.error("database down: requests answer 503 until it is back", metadata: ["reason": "\(reason)"]) }
        return false
    }
}

/// One server's probe connection, kept open between probes.
actor ServerProbe {
    let url: DatabaseURL
    let logger: Logger
    private var connection: PostgresConnection?
    private var id = 0

    init(url: DatabaseURL, logger: Logger) {
        self.url = url
        self.logger = logger
    }

    /// What the server is: primary or standby, its timeline, WAL position and replay age. The
    /// CASEs keep functions a standby refuses (`pg_current_wal_lsn`) off standbys.
    static let query: PostgresQuery = """
        SELECT pg_is_in_recovery(),
               CASE WHEN pg_is_in_recovery() THEN 0
                    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
               CASE WHEN pg_is_in_recovery() THEN COALESCE(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), 0)::float8
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 END,
               EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
        """

    /// A probe under way: callers that come meanwhile (start-up's and the monitor's) share it, so
    /// two probes never open two connections and drop one of them open.
    private var underWay: Task<DatabaseServers.Probe, Never>?

    func probe(timeout: Duration) async -> DatabaseServers.Probe {
        if let underWay { return await underWay.value }
        let task = Task { await self.probeNow(timeout: timeout) }
        underWay = task
        let result = await task.value
        underWay = nil
        return result
    }

    private func probeNow(timeout: Duration) async -> DatabaseServers.Probe {
        do {
            let conn: PostgresConnection
            if let c = connection, !c.isClosed {
                conn = c
            } else {
                id += 1
                let n = id, url = self.url, logger = self.logger
                let connecting = Task {
                    try await PostgresConnection.connect(configuration: try url.connectionConfiguration(timeout: timeout), id: n, logger: logger)
                }
                do {
                    conn = try await withDeadline(timeout, "connect to \(url)") { try await connecting.value }
                } catch {
                    // A connection that arrives after the deadline is closed, not dropped open.
                    Task { try? await connecting.value.close() }
                    throw error
                }
                connection = conn
            }
            let logger = self.logger
            let row = try await withDeadline(timeout, "probe \(url)") {
                var found: (Bool, Int, Double, Double?)?
                for try await r in try await conn.query(Self.query, logger: logger).decode((Bool, Int, Double, Double?).self) { found = r }
                return found
            }
            guard let (inRecovery, timeline, wal, age) = row else { return .down("the probe returned no row") }
            return DatabaseServers.Probe(answering: true, inRecovery: inRecovery, timeline: timeline, walPosition: wal,
                                         replayAge: inRecovery ? age : nil, problem: nil)
        } catch {
            try? await connection?.close()
            connection = nil
            return .down(describeDatabaseError(error))
        }
    }

    func close() async {
        _ = await underWay?.value
        try? await connection?.close()
        connection = nil
    }
}

extension DatabaseURL {
    /// `host:port` (or the socket directory), for logs and reasons.
    public var hostAndPort: String { socketDirectory.map { "\($0):\(port)" } ?? "\(host):\(port)" }
}
