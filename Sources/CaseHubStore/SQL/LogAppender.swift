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
    private(set) var status: Case.Status
    private(set) var seq: Int
    private(set) var hash: String
    /// What this command appended, in order.
    private(set) var appended: [LogEntry] = []
    /// Notifications this command asks for, each under one of its entries.
    var notifications: [NotificationIntent] = []
    /// Whether this command planned firings (the scheduler then looks again).
    var plannedFirings = false
    private let startSeq: Int
    private let startStatus: Case.Status
    private let db: any SQLSession

    init(caseId: String, db: any SQLSession) throws {
        let head = try Self.head(of: caseId, db: db)
        self.caseId = caseId
        self.status = head.status
        self.seq = head.seq
        self.hash = head.hash
        self.startSeq = head.seq
        self.startStatus = head.status
        self.db = db
    }

    /// The case's last log `seq` as the running write sees it. Inside a write on SQLite,
    /// `cases.log_seq` lags until the group commits: read it through here, not from the row.
    static func currentSeq(of caseId: String, db: any SQLSession) throws -> Int {
        if let head = db.logHeads?.head(of: caseId) { return head.seq }
        guard let seq = try db.int("SELECT log_seq FROM cases WHERE id = ?", [caseId]) else { throw CaseHubError.caseNotFound }
        return seq
    }

    private static func head(of caseId: String, db: any SQLSession) throws -> CaseLogHeads.Head {
        if let head = db.logHeads?.head(of: caseId) { return head }
        // The locking read makes concurrent commands on one case take turns, so `seq` stays
        // gap-free and each entry chains to the one before it.
        guard let row = try db.row("SELECT status, log_seq, log_hash FROM cases WHERE id = ?\(db.dialect.lockingRead)", [caseId]) else {
            throw CaseHubError.caseNotFound
        }
        let head = CaseLogHeads.Head(status: Case.Status(rawValue: row[0]) ?? .open, seq: row[1], hash: row[2])
        db.logHeads?.loaded(head, of: caseId)
        return head
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

    /// Notes that the command closed the case (it updates the `cases` row itself).
    mutating func caseClosed() {
        status = .closed
    }

    /// Records the new head, when anything changed: in the writer's log heads, which write it
    /// before the commit, or else in `cases` at once.
    func finish() throws {
        guard seq != startSeq || status != startStatus else { return }
        if let logHeads = db.logHeads {
            logHeads.changed(CaseLogHeads.Head(status: status, seq: seq, hash: hash), of: caseId)
        } else {
            try db.run("UPDATE cases SET log_seq = ?, log_hash = ? WHERE id = ?", [seq, hash, caseId])
        }
    }
}
