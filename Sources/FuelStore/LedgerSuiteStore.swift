import FuelLedger
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// The suite a database's ledger is sealed with (`ledger_suite`), chosen once.
public struct LedgerSuiteStore: Sendable {
    public let database: FuelDatabase

    public init(database: FuelDatabase) { self.database = database }

    /// Why a configured suite cannot be used on this database.
    public struct Mismatch: Error, Hashable, Sendable, CustomStringConvertible {
        public var configured: LedgerSuite
        public var stored: LedgerSuite
        public var description: String {
            "ledger.suite is \(configured.rawValue) but this database's ledger is sealed with \(stored.summary): the suite is chosen when a "
                + "database is first migrated and cannot change, since every link hash, tree and checkpoint depends on it — set "
                + "ledger.suite: \(stored.rawValue), or start a new database for \(configured.rawValue)"
        }
    }

    /// The stored suite, or nil when none was chosen yet (a database not migrated by this build).
    public func stored() async throws -> LedgerSuite? {
        let logger = database.logger
        return try await database.connection("ledger suite") { conn in try await Self.read(on: conn, logger: logger) }
    }

    /// Records `wanted` when no suite is chosen yet; throws ``Mismatch`` when another one is.
    @discardableResult
    public func choose(_ wanted: LedgerSuite) async throws -> LedgerSuite {
        let logger = database.logger
        let stored = try await database.connection("choose ledger suite") { conn in
            try await conn.query("INSERT INTO ledger_suite (suite) VALUES (\(wanted.rawValue)) ON CONFLICT (only_row) DO NOTHING", logger: logger)
            return try await Self.read(on: conn, logger: logger)
        }
        guard let stored, stored == wanted else { throw Mismatch(configured: wanted, stored: stored ?? .international) }
        database.suiteCache.set(stored)
        return stored
    }

    static func read(on conn: PostgresConnection, logger: Logger) async throws -> LedgerSuite? {
        guard let text = try await conn.query("SELECT suite FROM ledger_suite", logger: logger).collect().first?.decode(String.self) else {
            return nil
        }
        guard let suite = LedgerSuite(rawValue: text) else { throw StoreError.invalid("ledger_suite: unknown suite \(text)") }
        return suite
    }

    /// The suite for work inside a transaction. Writing into a database whose suite was never
    /// chosen (migrated without one) seals it international, so that a later daemon configured for
    /// guomi is refused rather than mixing suites in one chain.
    static func current(on conn: PostgresConnection, logger: Logger) async throws -> LedgerSuite {
        if let s = try await read(on: conn, logger: logger) { return s }
        try await conn.query("INSERT INTO ledger_suite (suite) VALUES ('international') ON CONFLICT (only_row) DO NOTHING", logger: logger)
        return try await read(on: conn, logger: logger) ?? .international
    }
}

/// The suite once read: it never changes for a database, so it is read once per process.
public final class LedgerSuiteCache: Sendable {
    private let box = NIOLockedValueBox<LedgerSuite?>(nil)
    public init() {}
    public var value: LedgerSuite? { box.withLockedValue { $0 } }
    func set(_ s: LedgerSuite) { box.withLockedValue { $0 = s } }
}

extension FuelDatabase {
    /// The ledger's suite, read once. A database whose suite was never chosen is sealed
    /// international now (see ``LedgerSuiteStore/current(on:logger:)``).
    public func ledgerSuite() async throws -> LedgerSuite {
        if let s = suiteCache.value { return s }
        let logger = self.logger
        let s = try await connection("ledger suite") { conn in try await LedgerSuiteStore.current(on: conn, logger: logger) }
        suiteCache.set(s)
        return s
    }
}
