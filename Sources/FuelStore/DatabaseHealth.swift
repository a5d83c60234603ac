import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// Whether the database server answers, as a probe of its own connection sees it.
///
/// postgres-nio's pool keeps a request waiting for a connection while the server is down (it
/// retries connecting), so without this every request would hang until its deadline. With it, a
/// request arriving while the server is known to be down fails at once with
/// ``StoreError/unavailable(_:)`` (the API answers 503 with Retry-After), and requests already
/// waiting are released within a quarter of a second. The probe uses a connection outside the
/// pool, so a pool busy under load is not mistaken for a server that is down.
public final class DatabaseHealth: Sendable {
    private struct State {
        var down: (since: Date, reason: String)?
        var changes = 0
    }
    private let state = Mutex(State())
    private let downFlag = Atomic<Bool>(false)

    public init() {}

    /// True while the server is known to be down (a probe failed and none succeeded since).
    public var isDown: Bool { downFlag.load(ordering: .relaxed) }

    /// Why and since when the server is down; nil while it answers.
    public var outage: (since: Date, reason: String)? { state.withLock { $0.down } }

    /// How often the state changed (for tests and metrics).
    public var transitions: Int { state.withLock { $0.changes } }

    /// Records a failed probe; returns true when this is news (the server was up).
    @discardableResult
    public func markDown(_ reason: String) -> Bool {
        let isNew = state.withLock { s -> Bool in
            guard s.down == nil else { return false }
            s.down = (Date(), reason)
            s.changes += 1
            return true
        }
        downFlag.store(true, ordering: .relaxed)
        return isNew
    }

    /// Records a successful probe; returns true when this is news (the server was down).
    @discardableResult
    public func markUp() -> Bool {
        let wasDown = state.withLock { s -> Bool in
            guard s.down != nil else { return false }
            s.down = nil
            s.changes += 1
            return true
        }
        downFlag.store(false, ordering: .relaxed)
        return wasDown
    }

    /// The error a request gets while the server is down.
    public func unavailableError() -> StoreError? {
        guard isDown, let o = outage else { return nil }
        return .unavailable("\(o.reason) (down for \(Int(Date().timeIntervalSince(o.since))) s)")
    }

    /// Probes `url` every `interval` on a connection of its own (`SELECT 1`, `timeout` to connect and
    /// to answer) until cancelled, marking the server up or down and logging each change.
    public func monitor(url: DatabaseURL, interval: Duration = .milliseconds(500), timeout: Duration = .seconds(2), logger: Logger) async {
        var connection: PostgresConnection?
        var id = 0
        while !Task.isCancelled {
            do {
                let conn: PostgresConnection
                if let c = connection, !c.isClosed {
                    conn = c
                } else {
                    id += 1
                    let n = id
                    conn = try await withDeadline(timeout, "connect to \(url)") {
                        try await PostgresConnection.connect(configuration: try url.connectionConfiguration(timeout: timeout), id: n, logger: logger)
                    }
                    connection = conn
                }
                try await withDeadline(timeout, "probe \(url)") {
                    for try await _ in try await conn.query("SELECT 1", logger: logger) {}
                }
                if markUp() { logger.notice("database answers again", metadata: ["url": "\(url)"]) }
            } catch {
                if Task.isCancelled { break }
                let reason = "database \(url) does not answer: \(describeDatabaseError(error))"
                if markDown(reason) { logger.error("database down: requests answer 503 until it is back", metadata: ["url": "\(url)", "error": "\(describeDatabaseError(error))"]) }
                try? await connection?.close()
                connection = nil
            }
            try? await Task.sleep(for: interval)
        }
        try? await connection?.close()
    }
}

extension DatabaseURL {
    /// A single connection's configuration (the health probe's).
    func connectionConfiguration(timeout: Duration) throws -> PostgresConnection.Configuration {
        var config: PostgresConnection.Configuration
        if let socketDirectory {
            config = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            config = .init(host: host, port: port, username: username, password: password, database: database,
                           tls: requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        }
        config.options.connectTimeout = TimeAmount(timeout)
        return config
    }
}
