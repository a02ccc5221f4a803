import Logging
import NIOCore
import PostgresNIO
import Foundation
import Synchronization

/// A leased PostgreSQL connection inside a transaction, as the store's shared logic uses it.
///
/// Each call blocks its thread until the server answers; ``PostgresStore`` runs sessions on a
/// thread pool of its own, so the event loops and Swift's cooperative threads never wait.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger

    var dialect: SQLDialect { .postgres }

    func rows(_ sql: String, _ arguments: [any SQLArgument]) throws -> [SQLRow] {
        try execute(sql, arguments).rows.map { row in SQLRow(values: try row.map(Self.value)) }
    }

    /// Runs the statement and ignores what it returns (`pg_notify` and the advisory locks
    /// return `void`, which no column type reads).
    func run(_ sql: String, _ arguments: [any SQLArgument]) throws {
        _ = try execute(sql, arguments)
    }

    private func execute(_ sql: String, _ arguments: [any SQLArgument]) throws -> PostgresQueryResult {
        let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: Self.bindings(arguments))
        do {
            return try connection.query(query, logger: logger).wait()
        } catch let error as PSQLError {
            throw PostgresStatementError(error, sql: sql)
        }
    }

    // MARK: - Placeholders, arguments and values

    /// The same SQL with PostgreSQL's numbered placeholders (`$1`, `$2`, …) for `?`, outside
    /// quoted text. The store runs a few dozen distinct statements, so each is rewritten once.
    static func numbered(_ sql: String) -> String {
        if let known = rewritten.withLock({ $0[sql] }) { return known }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?", !quoted {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        rewritten.withLock { $0[sql] = result }
        return result
    }

    private static let rewritten = Mutex<[String: String]>([:])

    private static func bindings(_ arguments: [any SQLArgument]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument.sqlValue {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .real(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            }
        }
        return bindings
    }

    private static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// A statement PostgreSQL refused or could not run, told without its arguments (they may
/// hold patients' words).
struct PostgresStatementError: Error, CustomStringConvertible {
    /// The server's SQLSTATE, when the server answered.
    let sqlState: String?
    let description: String

    init(_ error: PSQLError, sql: String) {
        sqlState = error.serverInfo?[.sqlState]
        let statement = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        if let message = error.serverInfo?[.message] {
            description = "PostgreSQL: \(message) (SQLSTATE \(sqlState ?? "?")) in: \(statement.prefix(200))"
        } else {
            description = "PostgreSQL: \(error.code) in: \(statement.prefix(200))"
        }
    }

    /// PostgreSQL rolled the transaction back to break a deadlock or a serialization
    /// conflict: running it again can succeed.
    var mayRetry: Bool { sqlState == "40P01" || sqlState == "40001" }
}
