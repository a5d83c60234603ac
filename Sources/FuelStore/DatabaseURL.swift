import Foundation
import PostgresNIO

/// A PostgreSQL connection URL: `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`,
/// or a Unix socket directory as `postgres://user@/database?host=/var/run/postgresql`.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(_ text: String) throws(StoreError) {
        guard let c = URLComponents(string: text), let scheme = c.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw .invalidConfiguration("database.url: expected postgres://user:password@host:port/database, got \"\(DatabaseURL.redact(text))\"")
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        self.socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        self.host = c.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        self.port = c.port ?? 5432
        self.username = c.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = c.password.flatMap { $0.removingPercentEncoding }
        let db = String(c.path.drop(while: { $0 == "/" }))
        guard !db.isEmpty else { throw .invalidConfiguration("database.url: the URL names no database") }
        self.database = db
        switch query["sslmode"] ?? "disable" {
        case "disable", "allow", "prefer": self.requireTLS = false
        case "require", "verify-ca", "verify-full": self.requireTLS = true
        case let other: throw .invalidConfiguration("database.url: sslmode \(other) is not supported (disable or require)")
        }
    }

    /// The servers a URL names: libpq's multi-host form `postgres://user:password@host1:5432,host2:5432/db`
    /// gives one URL per host (same user, database and options); a URL with one host gives itself.
    public static func list(_ text: String) throws(StoreError) -> [DatabaseURL] {
        guard let schemeEnd = text.range(of: "://") else { return [try DatabaseURL(text)] }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let at = authority.lastIndex(of: "@")
        let userinfo = at.map { String(authority[...$0]) } ?? ""
        let hosts = (at.map { authority[authority.index(after: $0)...] } ?? authority).split(separator: ",", omittingEmptySubsequences: false)
        guard hosts.count > 1 else { return [try DatabaseURL(text)] }
        var urls: [DatabaseURL] = []
        for (i, host) in hosts.enumerated() {
            guard !host.isEmpty else { throw .invalidConfiguration("database.url: host \(i + 1) of \(hosts.count) in the host list is empty") }
            urls.append(try DatabaseURL(String(text[..<schemeEnd.upperBound]) + userinfo + host + rest[authorityEnd...]))
        }
        return urls
    }

    /// The same server with another database.
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if let socketDirectory {
            config = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            config = .init(host: host, port: port, username: username, password: password, database: database,
                           tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        }
        config.options.connectTimeout = .seconds(5)
        return config
    }

    /// The URL with the password hidden, for logs and errors.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    public var urlString: String {
        var c = URLComponents()
        c.scheme = "postgres"
        c.user = username
        c.password = password
        c.host = host
        c.port = port
        c.path = "/" + database
        return c.string ?? description
    }

    static func redact(_ text: String) -> String {
        text.replacingOccurrences(of: #":[^:@/]*@"#, with: ":***@", options: .regularExpression)
    }
}
