import Dispatch
import GRDB
import Synchronization

/// Runs write commands through one SQLite connection, many commands to a transaction.
///
/// Callers queue closures; a single drain loop takes everything queued (up to `maxBatch`),
/// runs each in its own savepoint inside one `BEGIN IMMEDIATE … COMMIT`, and only after the
/// commit has reached the disk resumes the callers. One fsync then covers a whole batch
/// (group commit), and a command that fails rolls back its savepoint alone.
final class GroupCommitWriter: Sendable {
    private typealias Completion = @Sendable ((any Error)?) -> Void

    private struct Job: Sendable {
        /// Runs the command in a savepoint; the returned closure resumes the caller once the
        /// batch's fate is known (nil: committed). Throws only when the savepoint itself
        /// fails, which dooms the whole batch.
        let run: @Sendable (Database) throws -> Completion
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    static let maxBatch = 512

    /// Savepoint statements through the statement cache: GRDB's `inSavepoint` prepares them
    /// anew each time, which costs more than many of the commands they wrap.
    private enum Savepoint {
        static func begin(_ db: Database) throws { try db.cachedStatement(sql: "SAVEPOINT command").execute() }
        static func release(_ db: Database) throws { try db.cachedStatement(sql: "RELEASE SAVEPOINT command").execute() }
        static func rollBack(_ db: Database) throws {
            try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT command").execute()
            try release(db)
        }
    }

    private let pool: DatabasePool
    private let queue = DispatchQueue(label: "casehub.sqlite.writer", qos: .userInitiated)
    private let state = Mutex(State())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(
                run: { db in
                    try Savepoint.begin(db)
                    let outcome = Result { try body(db) }
                    if case .success = outcome {
                        try Savepoint.release(db)
                    } else {
                        try Savepoint.rollBack(db)
                    }
                    return { commitError in
                        if let commitError {
                            continuation.resume(throwing: commitError)
                        } else {
                            continuation.resume(with: outcome)
                        }
                    }
                },
                fail: { continuation.resume(throwing: $0) })
            enqueue(job)
        }
    }

    private func enqueue(_ job: Job) {
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
                let count = min(state.pending.count, Self.maxBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            guard !batch.isEmpty else { return }
            commit(batch)
        }
    }

    private func commit(_ batch: [Job]) {
        var completions: [Completion] = []
        completions.reserveCapacity(batch.count)
        do {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for job in batch { completions.append(try job.run(db)) }
                    return .commit
                }
            }
            for completion in completions { completion(nil) }
        } catch {
            for job in batch { job.fail(error) }
        }
    }
}
