import Synchronization

/// The newest log `seq` this process has seen committed for each case.
///
/// Only a store whose every commit passes through this process keeps one (the embedded SQLite
/// store: one process owns the file). There, a case whose head is still the one an answer was
/// read at has not changed since, so the answer may be served again from memory. A head only
/// ever rises: commands and reads report what they saw in any order.
final class CaseHeads: Sendable {
    private let heads = Mutex<[String: Int]>([:])

    init() {}

    /// The newest committed `seq` seen for the case, or nil before any.
    func seq(of caseId: String) -> Int? {
        heads.withLock { $0[caseId] }
    }

    /// Records that the case's log has reached `seq` (a commit ended there, or a read saw it).
    func raise(_ caseId: String, to seq: Int) {
        heads.withLock { heads in
            if let known = heads[caseId], known >= seq { return }
            heads[caseId] = seq
        }
    }
}
