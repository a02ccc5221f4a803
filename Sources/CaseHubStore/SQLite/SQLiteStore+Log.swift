import CaseHubCore
import GRDB

extension SQLiteStore {
    public func logEntries(caseId: String, after: Int, limit: Int, threads: Set<ThreadName>) async throws -> LogPage {
        // Thread names come from the enum, never from the request, so they can be inlined.
        let visible = threads.map { "'\($0.rawValue)'" }.sorted().joined(separator: ",")
        let threadFilter = threads.count == ThreadName.allCases.count ? "" : " AND (thread IS NULL OR thread IN (\(visible)))"
        return try await readAtLength { db in
            let entries = try db.fetch(
                "SELECT \(Columns.logEntry) FROM log_entries WHERE case_id = ? AND seq > ?\(threadFilter) ORDER BY seq LIMIT ?",
                [caseId, after, limit + 1], as: Self.logEntry)
            return LogPage(entries: Array(entries.prefix(limit)), hasMore: entries.count > limit)
        }
    }

    public func verifyLog(caseId: String) async throws -> ChainVerifier.Result {
        try await readAtLength { db in
            guard let caseRow = try db.row("SELECT \(Columns.case), log_seq, log_hash FROM cases WHERE id = ?", [caseId]) else {
                throw CaseHubError.caseNotFound
            }
            var chain = ChainVerifier()
            var state = CaseStateCheck()
            let entries = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT \(Columns.logEntry) FROM log_entries WHERE case_id = ? ORDER BY seq"), arguments: [caseId])
            while let row = try entries.next() {
                guard let entry = try? Self.logEntry(row) else {
                    chain.unreadableEntry()
                    break
                }
                guard chain.check(entry) else { break }
                state.record(entry)
            }
            let verdict = chain.finish(headSeq: caseRow[7], headHash: caseRow[8])
            guard case .intact = verdict else { return verdict }

            // The chain holds; now the case row and the messages must say what it says.
            if let caseValue = try? Self.caseValue(caseRow) { state.check(caseValue) } else { state.disagreement(at: 1) }
            let messages = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT \(Columns.message) FROM messages WHERE case_id = ? ORDER BY seq"), arguments: [caseId])
            while let row = try messages.next() {
                // What pages serve (the rendered JSON) must be the message the log describes.
                if let message = try? Self.messageValue(row), message.json.canonicalString == row[19] as String {
                    state.check(message)
                } else {
                    state.disagreement(at: row[3])
                }
            }
            return state.firstDisagreement().map { .broken(firstBadSeq: $0) } ?? verdict
        }
    }
}
