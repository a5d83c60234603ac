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
/// waiting are released within a quarter of a second. ``DatabaseServers/monitor(health:interval:timeout:logger:)``
/// probes the servers and says up (a primary answers) or down (none does).
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
