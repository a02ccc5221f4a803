import GRDB

/// A GRDB connection inside a transaction, as the store's shared logic uses it.
struct SQLiteSession: SQLSession {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    func rows(_ sql: String, _ arguments: [any SQLArgument]) throws -> [SQLRow] {
        // Through the statement cache: the hot paths run the same few statements.
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: Self.bound(arguments))
        var rows: [SQLRow] = []
        while let row = try cursor.next() {
            rows.append(SQLRow(values: (0..<row.count).map { Self.value(row[$0] as DatabaseValue) }))
        }
        return rows
    }

    func run(_ sql: String, _ arguments: [any SQLArgument]) throws {
        try db.cachedStatement(sql: sql).execute(arguments: Self.bound(arguments))
    }

    private static func bound(_ arguments: [any SQLArgument]) -> StatementArguments {
        StatementArguments(
            arguments.map { argument -> DatabaseValue in
                switch argument.sqlValue {
                case .null: .null
                case .integer(let value): value.databaseValue
                case .real(let value): value.databaseValue
                case .text(let value): value.databaseValue
                }
            })
    }

    private static func value(_ stored: DatabaseValue) -> SQLValue {
        switch stored.storage {
        case .null: .null
        case .int64(let value): .integer(value)
        case .double(let value): .real(value)
        case .string(let value): .text(value)
        // The hub stores no blobs; one written from outside reads as text.
        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
        }
    }
}
