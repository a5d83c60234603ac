import FuelModel
import FuelStore
import Foundation
import Hummingbird
import NIOSSL
import Synchronization

/// Resolves bearer secrets to principals, remembering answers so a busy station does not cost a
/// database round trip per request. Revocation takes effect within the TTL.
///
/// What the cache holds is rechecked all at once: a request that finds the last recheck older than
/// half the TTL starts one (a single query for every cached token, in the background; the request
/// goes on). Entries rechecked stay fresh, so stations are not looked up one by one every TTL —
/// which, with every station's entry made in the same few seconds after a start, expired together
/// and sent thousands of lookups to the database at once every TTL (the load benchmark's stalls at
/// 30 s). An entry not confirmed within the TTL (the recheck failed, or an unknown secret) is looked
/// up again on its next use.
public final class TokenCache: Sendable {
    private struct Entry {
        var principal: Principal?
        /// When the database last said this (for a recheck: when it began).
        var checked: ContinuousClock.Instant
    }
    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        var lastRecheck = ContinuousClock.now
        var rechecking = false
        var statistics = Statistics()
    }
    /// Database work so far, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        /// Secrets looked up one at a time.
        public var lookups = 0
        /// Rechecks of everything cached, and entries they dropped (revoked since).
        public var rechecks = 0
        public var dropped = 0
    }
    private let store: TokenStore
    private let ttl: Duration
    private let state = Mutex(State())
    private static let maxEntries = 50_000

    public init(store: TokenStore, ttl: Duration) {
        self.store = store
        self.ttl = ttl
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    public func principal(for secret: String) async throws -> Principal? {
        let key = TokenStore.hash(secret)
        let now = ContinuousClock.now
        let ttl = self.ttl
        let (cached, recheck) = state.withLock { s -> (Entry?, Bool) in
            guard ttl > .zero else { return (nil, false) }
            let recheck = !s.rechecking && !s.entries.isEmpty && now - s.lastRecheck >= ttl / 2
            if recheck { s.rechecking = true }
            return (s.entries[key], recheck)
        }
        if recheck { Task { await self.recheck() } }
        if let cached, now - cached.checked < ttl { return cached.principal }
        let p = try await store.authenticate(secret: secret)
        state.withLock {
            $0.statistics.lookups += 1
            guard ttl > .zero else { return }
            if $0.entries.count >= Self.maxEntries { $0.entries.removeAll(keepingCapacity: true) }
            $0.entries[key] = Entry(principal: p, checked: now)
        }
        return p
    }

    /// Asks the database, in one query, which cached tokens are still in force: those are fresh
    /// from the moment the question was asked, the others are dropped. A token revoked after that
    /// moment is served at most one TTL past its revocation, as with a single lookup.
    private func recheck() async {
        let began = ContinuousClock.now
        let keys = state.withLock { $0.entries.compactMap { $0.value.principal == nil ? nil : $0.key } }
        let active = try? await store.activeHashes(keys)
        state.withLock { s in
            s.rechecking = false
            s.lastRecheck = began
            guard let active else { return }
            s.statistics.rechecks += 1
            for key in keys {
                if active.contains(key) {
                    if let checked = s.entries[key]?.checked, checked < began { s.entries[key]?.checked = began }
                } else if s.entries.removeValue(forKey: key) != nil {
                    s.statistics.dropped += 1
                }
            }
        }
    }
}

/// Authenticates every request that carries `Authorization: Bearer …`; handlers decide what the
/// principal may do. A missing or unknown token leaves the principal empty (handlers answer 401).
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = FuelRequestContext
    let tokens: TokenCache
    /// Whether connections carry verified client certificates (`http.tls.client_ca`): then a
    /// station key is accepted only with a certificate that names its station.
    let stationCertificates: Bool

    public init(tokens: TokenCache, stationCertificates: Bool = false) {
        self.tokens = tokens
        self.stationCertificates = stationCertificates
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].count <= 256 else {
                throw APIError(.unauthorized, "Authorization must be 'Bearer <token>'", headers: [.wwwAuthenticate: "Bearer"])
            }
            guard let p = try await tokens.principal(for: String(parts[1])) else {
                throw APIError(.unauthorized, "unknown or revoked token", headers: [.wwwAuthenticate: "Bearer"])
            }
            if stationCertificates, p.role == .station, let station = p.station {
                let channel = context.channel
                let certificate = try? await channel.eventLoop.submit { try channel.pipeline.syncOperations.nioSSL_peerCertificate() }.get()
                let names = certificate.map(ServerTLS.names) ?? []
                guard names.contains(station) else {
                    throw APIError(.forbidden, names.isEmpty
                        ? "station \(station)'s key needs a client certificate naming the station"
                        : "the client certificate names \(names.joined(separator: ", ")), not station \(station)")
                }
            }
            context.principal = p
        } else {
            throw APIError(.unauthorized, "missing bearer token", headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }
}
