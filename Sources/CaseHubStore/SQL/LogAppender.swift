import CaseHubCore


/// Appends entries to one case's log inside a write transaction, keeping the case's head
/// (last `seq` and hash) in step. Create one per command, append, then call `finish()`
/// (``SQLiteStore/changeCase(_:requireOpen:_:)`` does both).
///
/// It also gathers what the command asks of the rest of the hub in the same transaction:
/// notifications beyond endpoint subscriptions (routing rules, milestones, escalations), for
/// the outbox, and whether it planned firings, for the scheduler.
struct LogAppender {
    /// Every case log starts with its `case.opened` entry; case-level entries hang under it.
    static let caseOpenedSeq = 1

    let caseId: String
    let status: Case.Status
    private(set) var seq: Int
    private(set) var hash: String
    /// What this command appended, in order.
    private(set) var appended: [LogEntry] = []
    /// Notifications this command asks for, each under one of its entries.
    var notifications: [NotificationIntent] = []
    /// Whether this command planned firings (the scheduler then looks again).
    var plannedFirings = false
    private let startSeq: Int
    private let db: any SQLSession

    init(caseId: String, db: any SQLSession) throws {
        // The locking read makes concurrent commands on one case take turns, so `seq` stays
        // gap-free and each entry chains to the one before it.
        guard let head = try db.row("SELECT status, log_seq, log_hash FROM cases WHERE id = ?\(db.dialect.lockingRead)", [caseId]) else {
            throw CaseHubError.caseNotFound
        }
        self.caseId = caseId
        self.status = Case.Status(rawValue: head[0]) ?? .open
        self.seq = head[1]
        self.hash = head[2]
        self.startSeq = self.seq
        self.db = db
    }

    func requireOpen() throws {
        guard status == .open else { throw CaseHubError.caseClosed }
    }

    @discardableResult
    mutating func append(_ draft: LogDraft, at: String) throws -> LogEntry {
        let entry = HashChain.seal(draft, caseId: caseId, seq: seq + 1, at: at, prevHash: hash)
        try db.run(
            """
            INSERT INTO log_entries (case_id, seq, at, type, thread, parent_seq, actor, data, content, hash, prev_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                caseId, entry.seq, entry.at, entry.type, entry.thread?.rawValue, entry.parentSeq, entry.actor.canonicalString,
                entry.data.canonicalString, entry.content?.canonicalString, entry.hash, entry.prevHash,
            ])
        seq = entry.seq
        hash = entry.hash
        appended.append(entry)
        return entry
    }

    /// Records the new head, when anything was appended.
    func finish() throws {
        guard seq != startSeq else { return }
        try db.run("UPDATE cases SET log_seq = ?, log_hash = ? WHERE id = ?", [seq, hash, caseId])
    }
}
