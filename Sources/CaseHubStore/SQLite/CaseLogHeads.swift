import CaseHubCore
import Synchronization

/// Each case's log head (status, last `seq`, last hash) as the SQLite writer left it, so that a
/// command appending to a case's log neither reads the head from `cases` nor writes it back:
/// the writer writes each changed head once per group, just before the group commits.
///
/// Only the writer uses it, on its queue. The heads are right because every write to the file
/// goes through this writer (one process owns the file). A command that fails is rolled back to
/// its savepoint and its heads with it (``commandEnded(committed:)``); a group that fails
/// forgets every head, which is then read again. Inside a write, then, `cases.log_seq` and
/// `log_hash` may be behind: commands read a head through ``LogAppender``.
final class CaseLogHeads: Sendable {
    struct Head: Sendable, Equatable {
        var status: Case.Status
        var seq: Int
        var hash: String
    }

    private struct Entry {
        var head: Head
        /// Changed in this group and not yet written to `cases`.
        var unwritten: Bool
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// The entries the running command touched, as they were before it: what a rollback
        /// of its savepoint restores (nil: there was none).
        var before: [String: Entry?] = [:]

        mutating func noteBefore(_ caseId: String) {
            if before[caseId] == nil { before[caseId] = .some(entries[caseId]) }
        }
    }

    /// Beyond this many cases, the heads not waiting to be written are forgotten at the next
    /// commit (a head read again costs one indexed read).
    static let capacity = 10_000

    private let state = Mutex(State())

    init() {}

    /// The head a command starts from. The command counts as touching it: should it fail,
    /// ``commandEnded(committed:)`` decides what becomes of it.
    func head(of caseId: String) -> Head? {
        state.withLock { state in
            guard let entry = state.entries[caseId] else { return nil }
            state.noteBefore(caseId)
            return entry.head
        }
    }

    /// Remembers a head just read from `cases`.
    func loaded(_ head: Head, of caseId: String) {
        state.withLock { state in
            state.noteBefore(caseId)
            state.entries[caseId] = Entry(head: head, unwritten: false)
        }
    }

    /// Records a command's new head, to be written before the group commits.
    func changed(_ head: Head, of caseId: String) {
        state.withLock { state in
            state.noteBefore(caseId)
            state.entries[caseId] = Entry(head: head, unwritten: true)
        }
    }

    /// The running command is over: kept (`committed`) or rolled back to its savepoint.
    ///
    /// A rollback puts back the heads earlier commands of the group changed (their changes
    /// stand) and forgets the others it touched, so the next command reads them again: if a
    /// head was wrong (someone wrote the file behind the hub's back, and the command failed on
    /// a `seq` already taken), one failed command is all it costs.
    func commandEnded(committed: Bool) {
        state.withLock { state in
            if !committed {
                for (caseId, entry) in state.before {
                    state.entries[caseId] = entry.flatMap { $0.unwritten ? $0 : nil }
                }
            }
            state.before.removeAll(keepingCapacity: true)
        }
    }

    /// Writes every changed head to `cases`, inside the group's transaction.
    func write(to session: any SQLSession) throws {
        let unwritten = state.withLock { state -> [(String, Head)] in
            state.entries.compactMap { caseId, entry in entry.unwritten ? (caseId, entry.head) : nil }
        }
        for (caseId, head) in unwritten {
            try session.run("UPDATE cases SET log_seq = ?, log_hash = ? WHERE id = ?", [head.seq, head.hash, caseId])
        }
        state.withLock { state in
            if state.entries.count > Self.capacity {
                state.entries.removeAll()
            } else {
                for (caseId, _) in unwritten { state.entries[caseId]?.unwritten = false }
            }
        }
    }

    /// The group did not commit: what it changed is gone, so every head is read again.
    func groupFailed() {
        state.withLock { state in
            state.entries.removeAll()
            state.before.removeAll()
        }
    }
}
