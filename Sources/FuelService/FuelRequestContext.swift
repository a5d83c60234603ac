import FuelModel
import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core storage plus the authenticated caller.
public struct FuelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` for every `/v1` request.
    public var principal: Principal?
    /// Ingest reads its body with its own limit; everything else keeps Hummingbird's 2 MiB.
    public var maxUploadSize: Int { 2 * 1024 * 1024 }

    /// The connection (its TLS handler holds a client certificate, when one was asked for).
    public let channel: any Channel

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The caller, or 401.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, "missing or invalid bearer token") }
        return principal
    }

    /// A regulator with at least `role`, or 401/403.
    public func requireRegulator(_ role: AccessRole) throws -> Principal {
        let p = try requirePrincipal()
        guard p.canAct(as: role) else {
            throw APIError(.forbidden, p.role == .station ? "a station key cannot use this endpoint" : "this needs the \(role.rawValue) role or higher")
        }
        return p
    }
}
