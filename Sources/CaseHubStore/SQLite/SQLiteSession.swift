import GRDB
import GRDBSQLite

/// A GRDB connection inside a transaction, as the store's shared logic uses it.
///
/// Statements come from GRDB's statement cache, but are bound, stepped and read through
/// SQLite's C interface: the store's values map one to one onto SQLite's storage classes, and
/// GRDB's generic argument and row types cost more than the statements on the hot paths (a
/// post's five statements spent a quarter of the writer's time converting arguments).
/// Transaction control (savepoints, commits) stays with GRDB, which tracks it.
struct SQLiteSession: SQLSession {
    let db: Database
    /// The writer's log heads, in a write; nil in a read.
    let logHeads: CaseLogHeads?

    init(db: Database, logHeads: CaseLogHeads? = nil) {
        self.db = db
        self.logHeads = logHeads
    }

    var dialect: SQLDialect { .sqlite }

    func rows(_ sql: String, _ arguments: [any SQLArgument]) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try execute(sql, arguments) { handle in
            let count = sqlite3_column_count(handle)
            var values: [SQLValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count {
                values.append(Self.value(handle, column))
            }
            rows.append(SQLRow(values: values))
        }
        return rows
    }

    func run(_ sql: String, _ arguments: [any SQLArgument]) throws {
        try execute(sql, arguments) { _ in }
    }

    /// Binds the arguments, steps the statement to its end and hands each row to `row`;
    /// the statement is reset and its bindings cleared afterwards, whatever happened.
    private func execute(_ sql: String, _ arguments: [any SQLArgument], row: (OpaquePointer) -> Void) throws {
        let handle = try db.cachedStatement(sql: sql).sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard arguments.count == expected else {
            throw DatabaseError(
                resultCode: .SQLITE_MISUSE, message: "\(arguments.count) arguments for \(expected) placeholders", sql: sql)
        }
        for (index, argument) in arguments.enumerated() {
            let code = Self.bind(argument.sqlValue, at: CInt(index + 1), to: handle)
            guard code == SQLITE_OK else { throw error(code, sql) }
        }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: row(handle)
            case SQLITE_DONE: return
            case let code: throw error(code, sql)
            }
        }
    }

    private func error(_ code: CInt, _ sql: String) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
    }

    private static func bind(_ value: SQLValue, at index: CInt, to handle: OpaquePointer) -> CInt {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let value):
            return sqlite3_bind_int64(handle, index, value)
        case .real(let value):
            return sqlite3_bind_double(handle, index, value)
        case .text(var text):
            // SQLite copies the bytes (SQLITE_TRANSIENT). An empty string still needs a
            // pointer: a NULL one would bind SQL NULL.
            if text.isEmpty { return sqlite3_bind_text(handle, index, "", 0, sqliteTransient) }
            return text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    sqlite3_bind_text(handle, index, chars.baseAddress, CInt(chars.count), sqliteTransient)
                }
            }
        }
    }

    private static func value(_ handle: OpaquePointer, _ column: CInt) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL:
            return .null
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        default:
            // Text, and blobs as text: the hub stores no blobs; one written from outside
            // reads as its bytes decoded as UTF-8.
            guard let bytes = sqlite3_column_text(handle, column) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, column))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        }
    }
}

/// SQLite's `SQLITE_TRANSIENT`: the library copies a bound value before the call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
