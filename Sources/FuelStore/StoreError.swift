import FuelAsync
import PostgresNIO

/// Errors of the store, with messages meant for an operator.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    /// The database did not answer within the deadline.
    case unavailable(String)
    case migration(String)
    case notFound(String)
    case conflict(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let m): m
        case .unavailable(let m): "database unavailable: \(m)"
        case .migration(let m): "migration failed: \(m)"
        case .notFound(let m): m
        case .conflict(let m): m
        case .invalid(let m): m
        }
    }
}

/// A readable description of any database error: `PSQLError.description` hides the server's
/// message on purpose, so take the SQLSTATE and message from the server info.
public func describeDatabaseError(_ error: any Error) -> String {
    if let e = error as? PSQLError {
        if let info = e.serverInfo {
            let state = info[.sqlState] ?? "?"
            let message = info[.message] ?? ""
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return "SQLSTATE \(state): \(message)\(detail)"
        }
        return "\(e.code)"
    }
    if let e = error as? StoreError { return e.description }
    return String(reflecting: error)
}

/// Runs `body`, failing with ``StoreError/unavailable(_:)`` when it takes longer than `limit`, or
/// as soon as `health` reports the server down (checked every 250 ms).
///
/// The answer comes at the deadline even when `body` does not react to cancellation (a query
/// running on a server that stopped answering): `body` is cancelled and left to finish on its
/// own. postgres-nio waits for a connection without limit; every request path goes through this.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, health: DatabaseHealth? = nil, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withDeadline(limit, what, abort: { health?.unavailableError() }, body)
}

/// The same, failing as soon as `abort` answers an error (checked every 250 ms).
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, abort: @escaping @Sendable () -> StoreError?, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withTimeLimit(limit, timeoutError: StoreError.unavailable("\(what) took longer than \(limit.inSeconds) s"),
                            abort: abort, body)
}
