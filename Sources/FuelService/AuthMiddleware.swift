import FuelModel
import FuelStore
import Foundation
import Hummingbird
import NIOSSL
import Synchronization

/// Resolves bearer secrets to principals, remembering answers for a short time so a busy station
/// does not cost a database round trip per request. Revocation takes effect within the TTL.
public final class TokenCache: Sendable {
    private struct Entry {
        var principal: Principal?
        var expires: ContinuousClock.Instant
    }
    private let store: TokenStore
    private let ttl: Duration
    private let entries = Mutex<[[UInt8]: Entry]>([:])
    private static let maxEntries = 50_000

    public init(store: TokenStore, ttl: Duration) {
        self.store = store
        self.ttl = ttl
    }

    public func principal(for secret: String) async throws -> Principal? {
        let key = TokenStore.hash(secret)
        let now = ContinuousClock.now
        if let e = entries.withLock({ $0[key] }), e.expires > now { return e.principal }
        let p = try await store.authenticate(secret: secret)
        entries.withLock {
            if $0.count >= Self.maxEntries { $0.removeAll(keepingCapacity: true) }
            $0[key] = Entry(principal: p, expires: now + ttl)
        }
        return p
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
