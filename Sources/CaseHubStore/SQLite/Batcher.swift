import Dispatch
import Synchronization

/// Runs queued jobs in groups on one dispatch queue: everything queued when a group starts
/// (up to `maxBatch`) runs together, and what is queued meanwhile forms the next group.
///
/// Under load this turns one transaction, one wake-up and (for writes) one disk flush per
/// request into one per group; when idle, a job runs at once in a group of its own.
final class Batcher<Job: Sendable>: Sendable {
    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let queue: DispatchQueue
    private let state = Mutex(State())
    private let maxBatch: Int
    private let runBatch: @Sendable ([Job]) -> Void

    init(label: String, maxBatch: Int, runBatch: @escaping @Sendable ([Job]) -> Void) {
        self.queue = DispatchQueue(label: label, qos: .userInitiated)
        self.maxBatch = maxBatch
        self.runBatch = runBatch
    }

    func enqueue(_ job: Job) {
        let startDraining = state.withLock { state in
            state.pending.append(job)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDraining {
            queue.async { self.drain() }
        }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Job] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(state.pending.count, maxBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            guard !batch.isEmpty else { return }
            runBatch(batch)
        }
    }
}
