import GRDBSQLite
import NIOConcurrencyHelpers

/// One SQLite connection, used by one process's spool: statements run one at a time (a lock), each
/// `read` or `write` in a transaction of its own.
///
/// SQLite is the kept library here; this is the thin glue over its C API (the module GRDB ships
/// for it). GRDB itself, which the spool used before, imports the full Foundation, and with it ICU:
/// ≈ 8 MB of the station agent's resident memory, over issue 16's 40 MB (the agent is built on
/// FoundationEssentials alone). The tests still read the spool through GRDB, an independent client.
final class SQLiteDatabase: @unchecked Sendable {
    // `@unchecked`: the connection and the statement cache are touched only while `lock` is held.
    private let lock = NIOLock()
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    let path: String

    /// Opens (or creates) the database at `path`, waiting up to `busyTimeoutMilliseconds` for another
    /// process's lock (`agent status` beside the running agent) instead of failing at once.
    init(path: String, busyTimeoutMilliseconds: Int32 = 5_000) throws(SQLiteError) {
        var h: OpaquePointer?
        let rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let h else {
            let message = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(h)
            throw SQLiteError(code: rc, message: "cannot open \(path): \(message)", sql: nil)
        }
        handle = h
        self.path = path
        sqlite3_extended_result_codes(h, 1)
        sqlite3_busy_timeout(h, busyTimeoutMilliseconds)
    }

    deinit {
        for s in statements.values { sqlite3_finalize(s) }
        sqlite3_close_v2(handle)
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`: the write lock taken at the start, so
    /// a concurrent writer waits for the busy timeout rather than failing mid-way); committed when
    /// `body` returns, rolled back when it throws.
    func write<T>(_ body: (SQLiteSession) throws -> T) throws -> T {
        try transaction("BEGIN IMMEDIATE", body)
    }

    /// Runs `body` in a read transaction: every statement in it sees the same snapshot.
    func read<T>(_ body: (SQLiteSession) throws -> T) throws -> T {
        try transaction("BEGIN DEFERRED", body)
    }

    /// Runs `body` outside any transaction (PRAGMAs that cannot run inside one, such as `journal_mode`).
    func withoutTransaction<T>(_ body: (SQLiteSession) throws -> T) throws -> T {
        try lock.withLock { try body(SQLiteSession(database: self)) }
    }

    private func transaction<T>(_ begin: String, _ body: (SQLiteSession) throws -> T) throws -> T {
        try lock.withLock {
            let session = SQLiteSession(database: self)
            try session.execute(begin)
            let result: T
            do {
                result = try body(session)
                try session.execute("COMMIT")
            } catch {
                // After a failed COMMIT SQLite may have rolled back already; a second rollback then
                // only reports that no transaction is open.
                if sqlite3_get_autocommit(handle) == 0 { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
                throw error
            }
            return result
        }
    }

    /// A prepared statement for `sql`, reset and unbound, kept for the next use. Lock held.
    fileprivate func statement(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        if let s = statements[sql] {
            sqlite3_reset(s)
            sqlite3_clear_bindings(s)
            return s
        }
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil)
        guard rc == SQLITE_OK, let s else { throw error(rc, sql) }
        statements[sql] = s
        return s
    }

    fileprivate func error(_ code: Int32, _ sql: String?) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    fileprivate var changes: Int { Int(sqlite3_changes(handle)) }
    fileprivate var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs several statements without arguments (a migration's DDL).
    fileprivate func executeScript(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
    }
}

/// A failed SQLite call: its result code, SQLite's message and the statement.
struct SQLiteError: Error, CustomStringConvertible, Sendable {
    var code: Int32
    var message: String
    var sql: String?
    var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " — while executing `\($0.split(whereSeparator: \.isNewline).first ?? "")`" } ?? "")
    }
}

/// The statements of one transaction (valid only inside the `read` or `write` that gave it).
struct SQLiteSession {
    fileprivate let database: SQLiteDatabase

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { database.changes }
    /// The rowid of the last row inserted.
    var lastInsertedRowID: Int64 { database.lastInsertedRowID }

    /// Runs one statement, discarding any rows.
    func execute(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) {
        _ = try run(sql, arguments, keep: false)
    }

    /// Runs several statements without arguments.
    func executeScript(_ sql: String) throws(SQLiteError) { try database.executeScript(sql) }

    /// Every row of one statement.
    func rows(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
        try run(sql, arguments, keep: true)
    }

    /// The first column of the first row; nil when there is no row or the value is NULL.
    func value<T: SQLiteColumnValue>(_ type: T.Type = T.self, _ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> T? {
        guard let v = try rows(sql, arguments).first?.values.first else { return nil }
        return try Self.convert(v, sql)
    }

    /// Every row's first column (NULLs left out).
    func column<T: SQLiteColumnValue>(_ type: T.Type = T.self, _ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> [T] {
        var out: [T] = []
        for row in try rows(sql, arguments) {
            if let v = row.values.first, let t: T = try Self.convert(v, sql) { out.append(t) }
        }
        return out
    }

    /// A first column's value as `T`: nil for NULL, an error naming the statement for another type.
    private static func convert<T: SQLiteColumnValue>(_ v: SQLiteValue, _ sql: String) throws(SQLiteError) -> T? {
        if case .null = v { return nil }
        guard let t = T(v) else { throw SQLiteError(code: SQLITE_MISMATCH, message: "expected \(T.self), found \(v)", sql: sql) }
        return t
    }

    private func run(_ sql: String, _ arguments: [any SQLiteBindable], keep: Bool) throws(SQLiteError) -> [SQLiteRow] {
        let s = try database.statement(sql)
        defer { sqlite3_reset(s) }
        guard Int(sqlite3_bind_parameter_count(s)) == arguments.count else {
            throw SQLiteError(code: SQLITE_RANGE, message: "\(arguments.count) arguments for \(sqlite3_bind_parameter_count(s)) parameters", sql: sql)
        }
        for (i, a) in arguments.enumerated() {
            let rc = a.bind(to: s, at: Int32(i + 1))
            guard rc == SQLITE_OK else { throw database.error(rc, sql) }
        }
        var rows: [SQLiteRow] = []
        var names: [String]?
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw database.error(rc, sql) }
            guard keep else { continue }
            let count = sqlite3_column_count(s)
            if names == nil { names = (0..<count).map { String(cString: sqlite3_column_name(s, $0)) } }
            rows.append(SQLiteRow(names: names!, values: (0..<count).map { SQLiteValue(column: $0, of: s) }))
        }
    }
}

/// A value as SQLite stores it.
enum SQLiteValue: Hashable, Sendable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    fileprivate init(column i: Int32, of s: OpaquePointer) {
        switch sqlite3_column_type(s, i) {
        case SQLITE_INTEGER: self = .integer(sqlite3_column_int64(s, i))
        case SQLITE_FLOAT: self = .real(sqlite3_column_double(s, i))
        case SQLITE_TEXT:
            let n = Int(sqlite3_column_bytes(s, i))
            self = .text(sqlite3_column_text(s, i).map { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) } ?? "")
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(s, i))
            self = .blob(sqlite3_column_blob(s, i).map { [UInt8](UnsafeRawBufferPointer(start: $0, count: n)) } ?? [])
        default: self = .null
        }
    }

    var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let v): "integer \(v)"
        case .real(let v): "real \(v)"
        case .text: "text"
        case .blob(let b): "blob of \(b.count) bytes"
        }
    }
}

/// One result row, read by column name.
struct SQLiteRow: Sendable {
    var names: [String]
    var values: [SQLiteValue]

    /// The named column's value as `T`; a NULL, a missing column or another type is an error naming it.
    subscript<T: SQLiteColumnValue>(_ name: String) -> T {
        get throws(SQLiteError) {
            guard let i = names.firstIndex(of: name) else { throw SQLiteError(code: SQLITE_RANGE, message: "no column \(name)", sql: nil) }
            guard let t = T(values[i]) else { throw SQLiteError(code: SQLITE_MISMATCH, message: "column \(name): expected \(T.self), found \(values[i])", sql: nil) }
            return t
        }
    }
}

/// A Swift value read from a column.
protocol SQLiteColumnValue {
    init?(_ value: SQLiteValue)
}

extension Int64: SQLiteColumnValue {
    init?(_ value: SQLiteValue) {
        switch value {
        case .integer(let v): self = v
        case .real(let d): guard let v = Int64(exactly: d) else { return nil }; self = v
        default: return nil
        }
    }
}

extension Int: SQLiteColumnValue {
    init?(_ value: SQLiteValue) { guard let v = Int64(value) else { return nil }; self = Int(v) }
}

extension Double: SQLiteColumnValue {
    init?(_ value: SQLiteValue) {
        switch value {
        case .real(let d): self = d
        case .integer(let v): self = Double(v)
        default: return nil
        }
    }
}

extension Bool: SQLiteColumnValue {
    init?(_ value: SQLiteValue) { guard let v = Int64(value) else { return nil }; self = v != 0 }
}

extension String: SQLiteColumnValue {
    init?(_ value: SQLiteValue) { guard case .text(let s) = value else { return nil }; self = s }
}

extension Array: SQLiteColumnValue where Element == UInt8 {
    init?(_ value: SQLiteValue) { guard case .blob(let b) = value else { return nil }; self = b }
}

/// A Swift value bound to a statement's parameter.
protocol SQLiteBindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32
}

/// SQLite copies the bytes before the call returns (`SQLITE_TRANSIENT`).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension Int64: SQLiteBindable {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 { sqlite3_bind_int64(s, i, self) }
}

extension Int: SQLiteBindable {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 { sqlite3_bind_int64(s, i, Int64(self)) }
}

extension Double: SQLiteBindable {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 { sqlite3_bind_double(s, i, self) }
}

extension Bool: SQLiteBindable {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 { sqlite3_bind_int64(s, i, self ? 1 : 0) }
}

extension String: SQLiteBindable {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 {
        var copy = self
        return copy.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, !utf8.isEmpty else { return sqlite3_bind_text(s, i, "", 0, transient) }
            return sqlite3_bind_text(s, i, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(utf8.count), transient)
        }
    }
}

extension Array: SQLiteBindable where Element == UInt8 {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 {
        // An empty blob through a nil pointer would bind NULL.
        isEmpty ? sqlite3_bind_zeroblob(s, i, 0) : withUnsafeBytes { sqlite3_bind_blob(s, i, $0.baseAddress, Int32($0.count), transient) }
    }
}

extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    func bind(to s: OpaquePointer, at i: Int32) -> Int32 {
        switch self {
        case .some(let v): v.bind(to: s, at: i)
        case .none: sqlite3_bind_null(s, i)
        }
    }
}
