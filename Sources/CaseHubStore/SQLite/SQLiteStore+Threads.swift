import CaseHubCore
import GRDB

/// Read markers and the thread list.
extension SQLiteStore {
    public func markRead(caseId: String, thread: ThreadName, upToSeq: Int, readerId: String) async throws {
        let marker: Int = try await write { db in
            guard try db.row("SELECT 1 FROM cases WHERE id = ?", [caseId]) != nil else { throw CaseHubError.caseNotFound }
            try db.run(
                """
                INSERT INTO read_markers (reader_id, case_id, thread, up_to_seq) VALUES (?, ?, ?, ?)
                ON CONFLICT (reader_id, case_id, thread) DO UPDATE SET up_to_seq = max(up_to_seq, excluded.up_to_seq)
                """,
                [readerId, caseId, thread.rawValue, upToSeq])
            return try Int.fetchOne(
                db.cachedStatement(sql: "SELECT up_to_seq FROM read_markers WHERE reader_id = ? AND case_id = ? AND thread = ?"),
                arguments: [readerId, caseId, thread.rawValue]) ?? upToSeq
        }
        // Live viewers of the thread see the marker move (it is not a log entry).
        caseChanges.publish(
            caseId: caseId, thread: thread,
            event: .members([
                "at": .string(Timestamp.now()), "reader_id": .string(readerId), "thread": .string(thread.rawValue), "type": "read_marker",
                "up_to_seq": JSONValue(marker),
            ]))
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
                let count = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM messages WHERE case_id = ? AND thread = ?"),
                    arguments: [caseId, thread.rawValue]) ?? 0
                let last = try db.row(
                    "SELECT \(Columns.message) FROM messages WHERE case_id = ? AND thread = ? ORDER BY seq DESC LIMIT 1", [caseId, thread.rawValue])
                let readUpTo = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT up_to_seq FROM read_markers WHERE reader_id = ? AND case_id = ? AND thread = ?"),
                    arguments: [readerId, caseId, thread.rawValue]) ?? 0
                // Unread: others' messages after the reader's marker that still have content.
                let unread = try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT count(*) FROM messages
                            WHERE case_id = ? AND thread = ? AND seq > ? AND author_id != ? AND redacted = 0
                            """),
                    arguments: [caseId, thread.rawValue, readUpTo, readerId]) ?? 0
                return ThreadSummary(name: thread, messageCount: count, lastMessage: try last.map(Self.messageValue), unread: unread)
            }
        }
    }
}
