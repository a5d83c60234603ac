import FuelModel
import FuelStore
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// An error answered as `{"error":"…"}` with its status (and headers such as Retry-After).
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    /// 503 with Retry-After: the database could not take the request in time.
    public static func unavailable(_ message: String, retryAfterSeconds: Int = 2) -> APIError {
        APIError(.serviceUnavailable, message, headers: [.retryAfter: "\(retryAfterSeconds)"])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = "{\"error\":"
        JSONText.appendString(message, to: &body)
        body += "}"
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension ErrorMiddleware {
    /// No resource has a NUL in its name and no text field can hold one (PostgreSQL text cannot):
    /// a path with one is not found, a query parameter with one is refused, before any database work.
    static func refuseNUL(_ request: Request) throws {
        if request.uri.path.removingPercentEncoding?.contains("\u{0}") ?? false {
            throw APIError(.notFound, "no such resource (the path holds a NUL character)")
        }
        for (name, value) in request.uri.queryParameters where value.contains("\u{0}") || name.contains("\u{0}") {
            throw APIError(.badRequest, "\(String(name).replacingOccurrences(of: "\u{0}", with: "\\0")): contains a NUL character")
        }
    }
}

/// Turns every error into a JSON answer: Hummingbird would otherwise answer a non-HTTP error
/// with an empty 500 and log it only at debug level.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: KnownRoutes?

    public init(routes: KnownRoutes? = nil) { self.routes = routes }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            try Self.refuseNUL(request)
            return try await next(request, context)
        } catch let e as APIError {
            return try e.response(from: request, context: context)
        } catch let e as HTTPError where e.status == .notFound {
            // The router found no route: 405 when the path exists under other methods, else a JSON 404.
            let path = request.uri.path
            if let allowed = routes?.methods(for: path), !allowed.isEmpty {
                return try APIError(.methodNotAllowed, "\(request.method.rawValue) is not served at \(path); use \(allowed.joined(separator: ", "))",
                                    headers: [.allow: allowed.joined(separator: ", ")]).response(from: request, context: context)
            }
            return try APIError(.notFound, "no such resource: \(path)").response(from: request, context: context)
        } catch let e as any HTTPResponseError {
            throw e
        } catch let e as StoreError {
            let api: APIError = switch e {
            case .unavailable: .unavailable(e.description)
            case .notFound(let m): APIError(.notFound, m)
            case .conflict(let m): APIError(.conflict, m)
            case .invalid(let m), .invalidConfiguration(let m): APIError(.badRequest, m)
            case .migration(let m): .unavailable("schema not ready: \(m)")
            }
            if case .unavailable = e { context.logger.warning("database unavailable", metadata: ["error": "\(e)"]) }
            return try api.response(from: request, context: context)
        } catch let e as PSQLError {
            // The database failed the request (connection lost, server restarting): retryable.
            context.logger.error("database error", metadata: ["error": "\(describeDatabaseError(e))", "path": "\(request.uri.path)"])
            return try APIError.unavailable("the database could not complete the request; retry later").response(from: request, context: context)
        } catch is CancellationError {
            // Work cut short (a deadline, the database going away, shutdown): nothing was acknowledged, retry.
            return try APIError.unavailable("the request was cut short; retry later").response(from: request, context: context)
        } catch let e as PostgresTransactionError {
            context.logger.error("database error", metadata: ["error": "\(String(reflecting: e))", "path": "\(request.uri.path)"])
            return try APIError.unavailable("the database could not complete the request; retry later").response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return try APIError(.internalServerError, "internal error").response(from: request, context: context)
        }
    }
}
