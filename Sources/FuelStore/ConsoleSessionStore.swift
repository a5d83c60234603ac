import FuelModel
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A signed-in console session: who it is (the token's principal), the CSRF token its forms carry
/// and the language chosen.
public struct ConsoleSession: Sendable, Hashable {
    public var principal: Principal
    public var csrf: String
    public var lang: String

    public init(principal: Principal, csrf: String, lang: String) {
        self.principal = principal
        self.csrf = csrf
        self.lang = lang
    }
}

/// Console sessions in PostgreSQL. The session id is 256 random bits handed to the browser once (in
/// an HttpOnly cookie); only its SHA-256 is stored, so a copy of the table signs nobody in. A session
/// lives until `idle` without use or `absolute` after sign-in, whichever is first, until sign-out,
/// or until its token is revoked.
public struct ConsoleSessionStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Why a sign-in was refused.
    public enum SignInError: Error, Equatable, Sendable {
        /// The token is unknown or revoked.
        case unknownToken
        /// A station key: stations push, they do not use the console.
        case stationKey
    }

    /// Signs in with a regulator token: a new session whose id (to put in the cookie) is returned
    /// with the session. The secret itself is never stored or logged.
    public func signIn(secret: String, lang: String, absolute: Duration) async throws -> (id: String, session: ConsoleSession) {
        guard let principal = try await TokenStore(database: database).authenticate(secret: secret) else { throw SignInError.unknownToken }
        guard principal.role != .station else { throw SignInError.stationKey }
        let id = TokenStore.newSecret(), csrf = TokenStore.newSecret()
        let hash = ByteBuffer(bytes: TokenStore.hash(id))
        let seconds = Double(absolute.components.seconds)
        let logger = database.logger
        try await database.transaction("console sign-in") { tx in
            try await tx.query("""
                INSERT INTO console_sessions (id_hash, token_id, csrf, lang, expires_at)
                VALUES (\(hash), \(principal.tokenID), \(csrf), \(lang), now() + make_interval(secs => \(seconds)))
                """, logger: logger)
            // Expired sessions go as new ones come: the table holds only live ones and a few stale.
            try await tx.query("DELETE FROM console_sessions WHERE expires_at < now()", logger: logger)
            _ = try await AuditLog.append(actor: principal.actor, action: "console.sign_in", fields: [("token", .integer(principal.tokenID))],
                                      on: tx, logger: logger)
        }
        return (id, ConsoleSession(principal: principal, csrf: csrf, lang: lang))
    }

    /// The live session with this id, its last use moved to now; nil when it is unknown, expired
    /// (idle longer than `idle`, or past its absolute expiry) or its token was revoked. The last use
    /// is written at most once a minute: a page view that finds it fresher reads and writes nothing,
    /// so browsing costs no commit (the idle expiry is exact to that minute).
    public func session(id: String, idle: Duration) async throws -> ConsoleSession? {
        guard id.utf8.count <= 256 else { return nil }
        let hash = ByteBuffer(bytes: TokenStore.hash(id))
        let idleSeconds = Double(idle.components.seconds)
        let logger = database.logger
        return try await database.connection("console session") { conn in
            guard let row = try await conn.query("""
                WITH live AS (
                    SELECT c.id_hash, c.last_seen_at, t.id, t.role, t.station, t.name, c.csrf, c.lang
                    FROM console_sessions c JOIN api_tokens t ON t.id = c.token_id
                    WHERE c.id_hash = \(hash) AND t.revoked_at IS NULL
                      AND c.expires_at > now() AND c.last_seen_at > now() - make_interval(secs => \(idleSeconds))),
                touched AS (
                    UPDATE console_sessions c SET last_seen_at = now() FROM live
                    WHERE c.id_hash = live.id_hash AND live.last_seen_at < now() - interval '60 seconds')
                SELECT id, role, station, name, csrf, lang FROM live
                """, logger: logger).collect().first else { return nil }
            let (tokenID, role, station, name, csrf, lang) = try row.decode((Int64, String, String?, String, String, String).self)
            guard let r = AccessRole(rawValue: role), r != .station else { return nil }
            return ConsoleSession(principal: Principal(tokenID: tokenID, role: r, station: station, name: name), csrf: csrf, lang: lang)
        }
    }

    /// Sets the session's language.
    public func setLanguage(id: String, lang: String) async throws {
        let hash = ByteBuffer(bytes: TokenStore.hash(id))
        let logger = database.logger
        _ = try await database.connection("console language") { conn in
            try await conn.query("UPDATE console_sessions SET lang = \(lang) WHERE id_hash = \(hash)", logger: logger).collect().count
        }
    }

    /// Ends the session (sign-out): it no longer signs anyone in, wherever its cookie is kept.
    public func signOut(id: String, actor: String) async throws {
        let hash = ByteBuffer(bytes: TokenStore.hash(id))
        let logger = database.logger
        try await database.transaction("console sign-out") { tx in
            let gone = try await tx.query("DELETE FROM console_sessions WHERE id_hash = \(hash) RETURNING token_id", logger: logger).collect()
            if !gone.isEmpty {
                _ = try await AuditLog.append(actor: actor, action: "console.sign_out", fields: [], on: tx, logger: logger)
            }
        }
    }
}
