import CaseHubCore


extension SQLStore {
    public func logEntries(caseId: String, after: Int, limit: Int, threads: Set<ThreadName>) async throws -> LogPage {
        // Thread names come from the enum, never from the request, so they can be inlined.
        let visible = threads.map { "'\($0.rawValue)'" }.sorted().joined(separator: ",")
        let threadFilter = threads.count == ThreadName.allCases.count ? "" : " AND (thread IS NULL OR thread IN (\(visible)))"
        return try await readAtLength { db in
            // The SQL filter sees only each entry's own thread; what else an entry tells of
            // (`LogEntry.isVisible`) may hide more, so rows are read until the page is full.
            var entries: [LogEntry] = []
            var last = after
            while entries.count <= limit {
                let rows = try db.fetch(
                    "SELECT \(Columns.logEntry) FROM log_entries WHERE case_id = ? AND seq > ?\(threadFilter) ORDER BY seq LIMIT ?",
                    [caseId, last, limit + 1], as: RowDecoding.logEntry)
                entries += rows.filter { $0.isVisible(toReaderOf: threads) }
                guard let next = rows.last?.seq, rows.count > limit else { break }
                last = next
            }
            return LogPage(entries: Array(entries.prefix(limit)), hasMore: entries.count > limit)
        }
    }

    public func logSeq(caseId: String) async throws -> Int {
        try await read { db in
            guard let seq = try db.int("SELECT log_seq FROM cases WHERE id = ?", [caseId]) else { throw CaseHubError.caseNotFound }
            return seq
        }
    }

    public func verifyLog(caseId: String) async throws -> ChainVerifier.Result {
        try await readAtLength { db in
            guard let caseRow = try db.row("SELECT \(Columns.case), log_seq, log_hash FROM cases WHERE id = ?", [caseId]) else {
                throw CaseHubError.caseNotFound
            }
            var chain = ChainVerifier()
            var state = CaseStateCheck()
            try Self.forEachRow("SELECT \(Columns.logEntry) FROM log_entries", caseId: caseId, seqColumn: 1, db: db) { row in
                guard let entry = try? RowDecoding.logEntry(row) else {
                    chain.unreadableEntry()
                    return chain.needsMore
                }
                let needsMore = chain.check(entry)
                if chain.holdsSoFar { state.record(entry) }
                return needsMore
            }
            let verdict = chain.finish(headSeq: caseRow[7], headHash: caseRow[8])
            guard case .intact = verdict else { return verdict }

            // The chain holds; now the case row and the messages must say what it says.
            if let caseValue = try? RowDecoding.caseValue(caseRow) { state.check(caseValue) } else { state.disagreement(at: 1) }
            try Self.forEachRow("SELECT \(Columns.message) FROM messages", caseId: caseId, seqColumn: 3, db: db) { row in
                // What pages serve (the rendered JSON) must be the message the log describes.
                if let message = try? RowDecoding.messageValue(row), message.json.canonicalString == row[19] as String {
                    state.check(message)
                } else {
                    state.disagreement(at: row[3])
                }
                return true
            }
            return state.firstDisagreement().map { .broken(firstBadSeq: $0) } ?? verdict
        }
    }

    /// Reads a case's rows in `seq` order a page at a time, so a long log is never held whole,
    /// until `body` answers false.
    private static func forEachRow(
        _ select: String, caseId: String, seqColumn: Int, db: any SQLSession, _ body: (SQLRow) throws -> Bool
    ) throws {
        let page = 1000
        var after = 0
        while true {
            let rows = try db.rows("\(select) WHERE case_id = ? AND seq > ? ORDER BY seq LIMIT ?", [caseId, after, page])
            for row in rows {
                guard try body(row) else { return }
            }
            guard rows.count == page, let last = rows.last else { return }
            after = last[seqColumn]
        }
    }
}
