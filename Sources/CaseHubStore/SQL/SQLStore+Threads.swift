import CaseHubCore


/// Read markers and the thread list.
extension SQLStore {
    public func markRead(caseId: String, thread: ThreadName, upToSeq: Int, readerId: String) async throws {
        // Live viewers of the thread see the marker move (it is not a log entry).
        let announcing: @Sendable (Int) -> CommitNews = { marker in
            let event: JSONValue = .members([
                "at": .string(Timestamp.now()), "reader_id": .string(readerId), "thread": .string(thread.rawValue), "type": "read_marker",
                "up_to_seq": JSONValue(marker),
            ])
            return CommitNews(items: [.passingEvent(caseId: caseId, thread: thread, event: event)])
        }
        _ = try await write(announcing: announcing) { db in
            let logSeq = try LogAppender.currentSeq(of: caseId, db: db)
            // A marker past the end of the log stops at its end ("read everything so far"); kept
            // as given, it would count every later message as read.
            let upToSeq = min(upToSeq, logSeq)
            try db.run(
                """
                INSERT INTO read_markers (reader_id, case_id, thread, up_to_seq) VALUES (?, ?, ?, ?)
                ON CONFLICT (reader_id, case_id, thread) DO UPDATE SET up_to_seq =
                    CASE WHEN excluded.up_to_seq > read_markers.up_to_seq THEN excluded.up_to_seq ELSE read_markers.up_to_seq END
                """,
                [readerId, caseId, thread.rawValue, upToSeq])
            return try db.int(
                "SELECT up_to_seq FROM read_markers WHERE reader_id = ? AND case_id = ? AND thread = ?", [readerId, caseId, thread.rawValue])
                ?? upToSeq
        }
    }

    public func readMarkers(caseId: String, thread: ThreadName) async throws -> [ReadMarker] {
        try await read { db in
            // Participants read as themselves; an admin reads as its token.
            try db.fetch(
                """
                SELECT m.reader_id, COALESCE(p.name, t.name), COALESCE(p.role, t.role), m.up_to_seq
                FROM read_markers m
                LEFT JOIN participants p ON p.id = m.reader_id AND p.case_id = m.case_id
                LEFT JOIN tokens t ON t.id = m.reader_id
                WHERE m.case_id = ? AND m.thread = ? AND COALESCE(p.name, t.name) IS NOT NULL
                ORDER BY m.up_to_seq DESC, m.reader_id
                """,
                [caseId, thread.rawValue],
                as: { row in ReadMarker(readerId: row[0], name: row[1], role: row[2], upToSeq: row[3]) })
        }
    }

    public func threadSummaries(caseId: String, threads: [ThreadName], readerId: String) async throws -> [ThreadSummary] {
        try await read { db in
            try threads.map { thread in
                let count = try db.int("SELECT count(*) FROM messages WHERE case_id = ? AND thread = ?", [caseId, thread.rawValue]) ?? 0
                let last = try db.row(
                    "SELECT \(Columns.message) FROM messages WHERE case_id = ? AND thread = ? ORDER BY seq DESC LIMIT 1", [caseId, thread.rawValue])
                let readUpTo =
                    try db.int(
                        "SELECT up_to_seq FROM read_markers WHERE reader_id = ? AND case_id = ? AND thread = ?", [readerId, caseId, thread.rawValue])
                    ?? 0
                // Unread: others' messages after the reader's marker that still have content.
                let unread =
                    try db.int(
                        "SELECT count(*) FROM messages WHERE case_id = ? AND thread = ? AND seq > ? AND author_id != ? AND redacted = 0",
                        [caseId, thread.rawValue, readUpTo, readerId]) ?? 0
                return ThreadSummary(name: thread, messageCount: count, lastMessage: try last.map(RowDecoding.messageValue), unread: unread)
            }
        }
    }
}
