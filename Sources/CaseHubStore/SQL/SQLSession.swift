/// One open transaction on a database, as the store's logic sees it: statements in the SQL
/// that SQLite and PostgreSQL both run, with `?` placeholders, and rows read by position.
///
/// The store's commands are written once against this (see ``SQLStore``); each database
/// supplies a session (``SQLiteStore`` over GRDB, ``PostgresStore`` over postgres-nio).
/// Calls block until the database answers, so sessions run on threads of their own, never
/// on Swift's cooperative pool.
protocol SQLSession {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns its rows.
    func rows(_ sql: String, _ arguments: [any SQLArgument]) throws -> [SQLRow]
    /// Runs a statement that returns no rows.
    func run(_ sql: String, _ arguments: [any SQLArgument]) throws
    /// Where a write keeps case log heads between commands, if the database lets it (see
    /// ``CaseLogHeads``); nil: ``LogAppender`` reads and writes them in `cases`.
    var logHeads: CaseLogHeads? { get }
}

extension SQLSession {
    var logHeads: CaseLogHeads? { nil }

    func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }
    func run(_ sql: String) throws { try run(sql, []) }

    func row(_ sql: String, _ arguments: [any SQLArgument] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    func fetch<T>(_ sql: String, _ arguments: [any SQLArgument] = [], as decode: (SQLRow) throws -> T) throws -> [T] {
        try rows(sql, arguments).map(decode)
    }

    /// The first column of the first row, when there is one and it is not NULL.
    func int(_ sql: String, _ arguments: [any SQLArgument] = []) throws -> Int? {
        try row(sql, arguments).flatMap { $0[0] as Int? }
    }
}

/// Where the two databases' SQL differs, the store asks the session's dialect.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// Appended to the `SELECT` of a row a command is about to change: PostgreSQL locks it
    /// until the transaction ends, so concurrent commands on one case (from any hub instance)
    /// take turns. SQLite has one writer, so every transaction already runs alone.
    var lockingRead: String {
        switch self {
        case .sqlite: ""
        case .postgres: " FOR UPDATE"
        }
    }

    /// Like ``lockingRead``, but rows another transaction holds are passed over, not waited
    /// for: two instances claiming deliveries take different rows.
    var claimingRead: String {
        switch self {
        case .sqlite: ""
        case .postgres: " FOR UPDATE SKIP LOCKED"
        }
    }

    /// `LIKE` that ignores ASCII case (SQLite's `LIKE` does; PostgreSQL's needs `ILIKE`).
    var caseInsensitiveLike: String {
        switch self {
        case .sqlite: "LIKE"
        case .postgres: "ILIKE"
        }
    }

    /// A string member of a JSON object stored as text.
    func jsonText(_ column: String, _ key: String) -> String {
        switch self {
        case .sqlite: "json_extract(\(column), '$.\(key)')"
        case .postgres: "(\(column)::jsonb ->> '\(key)')"
        }
    }
}

/// A value as stored: the storage classes both databases share.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// A value a statement can take as an argument.
protocol SQLArgument: Sendable {
    var sqlValue: SQLValue { get }
}

extension String: SQLArgument {
    var sqlValue: SQLValue { .text(self) }
}

extension Int: SQLArgument {
    var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension Int64: SQLArgument {
    var sqlValue: SQLValue { .integer(self) }
}

/// Flags are stored as 0 and 1 in both databases, so the same SQL compares them.
extension Bool: SQLArgument {
    var sqlValue: SQLValue { .integer(self ? 1 : 0) }
}

extension Optional: SQLArgument where Wrapped: SQLArgument {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension SQLValue: SQLArgument {
    var sqlValue: SQLValue { self }
}

/// A value a row's column can be read as.
protocol SQLColumnValue {
    init?(sqlValue: SQLValue)
}

extension String: SQLColumnValue {
    init?(sqlValue: SQLValue) {
        guard case .text(let text) = sqlValue else { return nil }
        self = text
    }
}

extension Int64: SQLColumnValue {
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self = value
    }
}

extension Int: SQLColumnValue {
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self = Int(value)
    }
}

extension Bool: SQLColumnValue {
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self = value != 0
    }
}

extension Double: SQLColumnValue {
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
}

/// One result row, read by column position.
struct SQLRow: Sendable {
    let values: [SQLValue]

    /// A column that may be NULL.
    subscript<T: SQLColumnValue>(_ index: Int) -> T? {
        let value = values[index]
        if value == .null { return nil }
        guard let converted = T(sqlValue: value) else { preconditionFailure("column \(index) holds \(value), not \(T.self)") }
        return converted
    }

    /// A column that is never NULL.
    subscript<T: SQLColumnValue>(_ index: Int) -> T {
        guard let converted = T(sqlValue: values[index]) else { preconditionFailure("column \(index) holds \(values[index]), not \(T.self)") }
        return converted
    }
}
