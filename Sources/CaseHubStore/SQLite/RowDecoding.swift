import CaseHubCore
import GRDB

/// Column lists and the decoders that read them by position.
///
/// Rows are read by index, not by name: a name lookup costs a case-insensitive string
/// comparison per column, which dominated the read path under load.
enum Columns {
    static let `case` = "id, mrn, patient, payer, status, created_at, closed_at"
    static let participant = "id, case_id, role, name, email, locale, created_at"
    static let message = """
        id, case_id, thread, seq, author_id, author_role, author_name, kind, body, data, reply_to, relayed_from, relay_note, \
        priority, requires_ack, acks, created_at, edited_at, redacted
        """
    static let logEntry = "case_id, seq, at, type, thread, parent_seq, actor, data, content, hash, prev_hash"
}

extension SQLiteStore {
    /// Reads a row selected with ``Columns/case``.
    static func caseValue(_ row: Row) -> Case {
        Case(
            id: row[0], mrn: row[1], patient: .canonical(row[2]), payer: .canonical(row[3]),
            status: Case.Status(rawValue: row[4]) ?? .open, createdAt: row[5], closedAt: row[6])
    }

    /// Reads a row selected with ``Columns/participant``.
    static func participantValue(_ row: Row) -> Participant {
        Participant(
            id: row[0], caseId: row[1], role: Role(rawValue: row[2]) ?? .family, name: row[3], email: row[4], locale: row[5],
            createdAt: row[6])
    }

    /// Reads a row selected with ``Columns/message``.
    static func messageValue(_ row: Row) -> Message {
        let acksText: String = row[15]
        var acks: [Message.Ack] = []
        if acksText != "[]", case .array(let items)? = try? JSONValue.parse(acksText) {
            acks = items.compactMap { item in
                guard let by = item["by"]?.stringValue, let at = item["at"]?.stringValue else { return nil }
                return Message.Ack(by: by, at: at)
            }
        }
        return Message(
            id: row[0], caseId: row[1], thread: ThreadName(rawValue: row[2]) ?? .patient, seq: row[3],
            author: Actor(id: row[4], role: row[5], name: row[6]), kind: Message.Kind(rawValue: row[7]) ?? .text, body: row[8],
            data: .canonical(row[9]), replyTo: row[10], relayedFrom: row[11], relayNote: row[12],
            priority: Message.Priority(rawValue: row[13]) ?? .routine, requiresAck: row[14], acks: acks, createdAt: row[16],
            editedAt: row[17], redacted: row[18])
    }

    /// Reads a row selected with ``Columns/logEntry``.
    static func logEntry(_ row: Row) -> LogEntry {
        let thread: String? = row[4]
        let content: String? = row[8]
        return LogEntry(
            caseId: row[0], seq: row[1], at: row[2], type: row[3], thread: thread.flatMap(ThreadName.init), parentSeq: row[5],
            actor: .canonical(row[6]), data: .canonical(row[7]), content: content.map(JSONValue.canonical), hash: row[9],
            prevHash: row[10])
    }
}
