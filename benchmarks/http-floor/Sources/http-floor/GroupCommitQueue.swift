import Synchronization

/// Posts waiting for a floor's writer thread. The writer takes all that wait at once into one
/// transaction (group commit) and drains until none is left; the next arrival starts it again.
final class GroupCommitQueue<Job: Sendable>: Sendable {
    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let state = Mutex(State())

    /// Queues a job; true when no writer is draining, so the caller must start one.
    func enqueue(_ job: Job) -> Bool {
        state.withLock { state in
            state.pending.append(job)
            defer { state.draining = true }
            return !state.draining
        }
    }

    /// Hands each batch queued meanwhile to `commit`, until none is left.
    func drain(_ commit: ([Job]) -> Void) {
        while true {
            let batch = state.withLock { state -> [Job] in
                defer { state.pending = [] }
                if state.pending.isEmpty { state.draining = false }
                return state.pending
            }
            guard !batch.isEmpty else { return }
            commit(batch)
        }
    }
}
