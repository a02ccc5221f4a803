import CaseHubCore
import GRDB

extension SQLiteStore {
    public func logEntries(caseId: String, after: Int, limit: Int, threads: Set<ThreadName>) async throws -> LogPage {
        // Thread names come from the enum, never from the request, so they can be inlined.
        let visible = threads.map { "'\($0.rawValue)'" }.sorted().joined(separator: ",")
        let threadFilter = threads.count == ThreadName.allCases.count ? "" : " AND (thread IS NULL OR thread IN (\(visible)))"
        return try await read { db in
            let entries = try db.fetch(
                "SELECT \(Columns.logEntry) FROM log_entries WHERE case_id = ? AND seq > ?\(threadFilter) ORDER BY seq LIMIT ?",
                [caseId, after, limit + 1], as: Self.logEntry)
            return LogPage(entries: Array(entries.prefix(limit)), hasMore: entries.count > limit)
        }
    }

    public func verifyLog(caseId: String) async throws -> ChainVerifier.Result {
        try await read { db in
            guard let head = try db.row("SELECT log_seq, log_hash FROM cases WHERE id = ?", [caseId]) else {
                throw CaseHubError.caseNotFound
            }
            var verifier = ChainVerifier()
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(Columns.logEntry) FROM log_entries WHERE case_id = ? ORDER BY seq", arguments: [caseId])
            while let row = try cursor.next() {
                guard verifier.check(Self.logEntry(row)) else { break }
            }
            return verifier.finish(headSeq: head["log_seq"], headHash: head["log_hash"])
        }
    }
}
