import CaseHubCore
import GRDB

/// What `casehub migrate-data` copied.
public struct CopyReport: Sendable {
    /// Rows copied, per table, in the order they were copied.
    public var rowsByTable: [(table: String, rows: Int)]
    public var caseIds: [String]
}

/// The copy refused to start.
public struct CopyRefused: Error, CustomStringConvertible {
    public let description: String
}

extension PostgresStore {
    /// The tables, parents before children, each with the key it is read in order of.
    private static let copiedTables: [(name: String, key: [String])] = [
        ("tokens", ["id"]),
        ("cases", ["id"]),
        ("participants", ["id"]),
        ("messages", ["id"]),
        ("log_entries", ["case_id", "seq"]),
        ("idempotency_keys", ["token_id", "key"]),
        ("read_markers", ["reader_id", "case_id", "thread"]),
        ("endpoints", ["id"]),
        ("deliveries", ["id"]),
        ("milestones", ["id"]),
        ("firings", ["id"]),
    ]

    /// Copies every row of a SQLite hub into this database, which must be migrated and hold no
    /// cases yet. One snapshot of the source is read and one transaction writes it, so the
    /// copy is whole or absent; the source is not changed. Stop the SQLite hub first: what it
    /// writes after the snapshot is not copied.
    public func copyEverything(from source: SQLiteStore) async throws -> CopyReport {
        try await write { target in
            guard try target.int("SELECT count(*) FROM cases") == 0 else {
                throw CopyRefused(description: "the target database already holds cases; copy into an empty one")
            }
            return try source.pool.read { db in
                let sqlite = SQLiteSession(db: db)
                var report = CopyReport(rowsByTable: [], caseIds: [])
                for table in Self.copiedTables {
                    let copied = try Self.copy(table: table.name, key: table.key, from: sqlite, to: target)
                    report.rowsByTable.append((table.name, copied))
                }
                report.caseIds = try sqlite.fetch("SELECT id FROM cases ORDER BY id") { $0[0] as String }
                return report
            }
        }
    }

    /// Copies one table page by page, in key order; returns how many rows.
    private static func copy(table: String, key: [String], from source: SQLiteSession, to target: any SQLSession) throws -> Int {
        let columns = try source.fetch("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table]) { $0[0] as String }
        let quoted = columns.map { "\"\($0)\"" }
        let keyIndexes = key.map { columns.firstIndex(of: $0)! }
        // PostgreSQL takes at most 65,535 arguments a statement.
        let page = min(500, 60_000 / columns.count)
        let select = "SELECT \(quoted.joined(separator: ", ")) FROM \(table)"
        let order = " ORDER BY \(key.joined(separator: ", ")) LIMIT \(page)"
        let keyTuple = "(\(key.joined(separator: ", ")))"
        let keyPlaceholders = "(\(Array(repeating: "?", count: key.count).joined(separator: ", ")))"
        var copied = 0
        var after: [SQLValue]?
        while true {
            let rows =
                try after.map { last in try source.rows("\(select) WHERE \(keyTuple) > \(keyPlaceholders)\(order)", last) }
                ?? source.rows(select + order)
            guard let last = rows.last else { return copied }
            let tuple = "(\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
            try target.run(
                "INSERT INTO \(table) (\(quoted.joined(separator: ", "))) VALUES \(Array(repeating: tuple, count: rows.count).joined(separator: ", "))",
                rows.flatMap(\.values))
            copied += rows.count
            after = keyIndexes.map { last.values[$0] }
            if rows.count < page { return copied }
        }
    }
}
