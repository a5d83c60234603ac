import Crypto
import FuelLedger
import FuelModel
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Station keys and regulator tokens. Only SHA-256 of a secret is stored: the secrets are 256-bit
/// random, so a fast hash is enough and a stolen table yields nothing usable.
public struct TokenStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// A new secret: `fw_` and 64 hex digits.
    public static func newSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return "fw_" + bytes.hexString
    }

    public static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }

    /// Issues a token and returns its secret (shown once, never stored).
    public func issue(role: AccessRole, station: String?, name: String, actor: String = "cli") async throws -> String {
        if role == .station, station == nil { throw StoreError.invalid("a station key needs --station") }
        if role != .station, station != nil { throw StoreError.invalid("--station issues a station key; leave out --role") }
        let secret = Self.newSecret()
        let hash = ByteBuffer(bytes: Self.hash(secret))
        let logger = database.logger
        try await database.transaction("issue token") { tx in
            if let station {
                let known = try await tx.query("SELECT 1 FROM stations WHERE id = \(station)", logger: logger).collect()
                guard !known.isEmpty else { throw StoreError.notFound("station \(station) is not in the registry") }
            }
            let id = try await tx.query("""
                INSERT INTO api_tokens (token_hash, role, station, name) VALUES (\(hash), \(role.rawValue), \(station), \(name))
                RETURNING id
                """, logger: logger).collect().first?.decode(Int64.self) ?? 0
            try await AuditLog.append(
                actor: actor, action: "token.issue",
                fields: [("token", .integer(id)), ("role", .string(role.rawValue)), ("station", .string(station ?? "")), ("name", .string(name))],
                on: tx, logger: logger)
        }
        return secret
    }

    /// The principal a secret stands for, or nil when it is unknown or revoked.
    public func authenticate(secret: String) async throws -> Principal? {
        let hash = ByteBuffer(bytes: Self.hash(secret))
        let logger = database.logger
        return try await database.connection("authenticate") { conn in
            guard let row = try await conn.query(
                "SELECT id, role, station, name FROM api_tokens WHERE token_hash = \(hash) AND revoked_at IS NULL", logger: logger
            ).collect().first else { return nil }
            let (id, role, station, name) = try row.decode((Int64, String, String?, String).self)
            guard let r = AccessRole(rawValue: role) else { return nil }
            return Principal(tokenID: id, role: r, station: station, name: name)
        }
    }

    /// Which of these token hashes belong to tokens in force (not revoked), in one query: how the
    /// daemon's token cache rechecks everything it holds at once instead of a station at a time.
    public func activeHashes(_ hashes: [[UInt8]]) async throws -> Set<[UInt8]> {
        guard !hashes.isEmpty else { return [] }
        let logger = database.logger
        let buffers = hashes.map { ByteBuffer(bytes: $0) }
        return try await database.connection("recheck tokens") { conn in
            var active = Set<[UInt8]>()
            let rows = try await conn.query(
                "SELECT token_hash FROM api_tokens WHERE token_hash = ANY(\(buffers)::bytea[]) AND revoked_at IS NULL", logger: logger)
            for try await hash in rows.decode(ByteBuffer.self) { active.insert(Array(buffer: hash)) }
            return active
        }
    }

    /// Revokes a token by id.
    public func revoke(id: Int64, actor: String = "cli") async throws {
        let logger = database.logger
        try await database.transaction("revoke token") { tx in
            let rows = try await tx.query(
                "UPDATE api_tokens SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id", logger: logger).collect()
            guard !rows.isEmpty else { throw StoreError.notFound("no active token \(id)") }
            try await AuditLog.append(actor: actor, action: "token.revoke", fields: [("token", .integer(id))], on: tx, logger: logger)
        }
    }
}
