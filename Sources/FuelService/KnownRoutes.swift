import Hummingbird
import Synchronization

/// The router's routes, so a request for a path that exists under other methods is answered
/// 405 Method Not Allowed with `Allow` (RFC 9110 §15.5.6) instead of the router's 404.
public final class KnownRoutes: Sendable {
    private let routes = Mutex<[(path: RouterPath, method: HTTPRequest.Method)]>([])

    public init() {}

    /// Takes the routes once every route is added.
    func set(_ descriptions: [Router<FuelRequestContext>.RouteDescription]) {
        routes.withLock { $0 = descriptions.map { ($0.path, $0.method) } }
    }

    /// The methods `path` is served with; empty when no route has that path.
    func methods(for path: String) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.withLock { routes in
            let matching = routes.filter { r in
                r.path.components.count == parts.count && zip(r.path.components, parts).allSatisfy { $0 ~= $1 }
            }
            return Set(matching.map(\.method.rawValue)).sorted()
        }
    }
}
