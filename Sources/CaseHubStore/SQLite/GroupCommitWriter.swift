import GRDB

/// Runs write commands through one SQLite connection, many commands to a transaction.
///
/// Callers queue closures; each group the ``Batcher`` forms runs in one
/// `BEGIN IMMEDIATE … COMMIT`, each closure in its own savepoint, and only after the commit has
/// reached the disk are the callers resumed. One fsync then covers a whole batch
/// (group commit), and a command that fails rolls back its savepoint alone.
///
/// The writer also keeps each case's log head (``CaseLogHeads``) in step with its savepoints and
/// writes the heads a group changed just before committing it.
final class GroupCommitWriter: Sendable {
    private typealias Completion = @Sendable ((any Error)?) -> Void

    private struct Job: Sendable {
        /// Runs the command in a savepoint; the returned closure resumes the caller once the
        /// batch's fate is known (nil: committed). Throws only when the savepoint itself
        /// fails, which dooms the whole batch.
        let run: @Sendable (Database) throws -> Completion
        let fail: @Sendable (any Error) -> Void
        /// Whether the command's caller must not hear of it before it is on disk.
        let synced: Bool
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

    private let batcher: Batcher<Job>
    let logHeads = CaseLogHeads()

    init(pool: DatabasePool) {
        let logHeads = self.logHeads
        batcher = Batcher(label: "casehub.sqlite.writer", maxBatch: Self.maxBatch) { batch in
            Self.commit(batch, pool: pool, logHeads: logHeads)
        }
    }

    /// - Parameter synced: false for a command a crash may lose; a group of such commands
    ///   alone commits without syncing (a later synced commit covers it).
    func write<T: Sendable>(synced: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(
                run: { [logHeads] db in
                    try Savepoint.begin(db)
                    let outcome = Result { try body(db) }
                    if case .success = outcome {
                        try Savepoint.release(db)
                        logHeads.commandEnded(committed: true)
                    } else {
                        try Savepoint.rollBack(db)
                        logHeads.commandEnded(committed: false)
                    }
                    return { commitError in
                        if let commitError {
                            continuation.resume(throwing: commitError)
                        } else {
                            continuation.resume(with: outcome)
                        }
                    }
                },
                fail: { continuation.resume(throwing: $0) }, synced: synced)
            batcher.enqueue(job)
        }
    }

    private static func commit(_ batch: [Job], pool: DatabasePool, logHeads: CaseLogHeads) {
        var completions: [Completion] = []
        completions.reserveCapacity(batch.count)
        do {
            try pool.writeWithoutTransaction { db in
                let synced = batch.contains(where: \.synced)
                if !synced { try db.cachedStatement(sql: "PRAGMA synchronous = NORMAL").execute() }
                defer { if !synced { try? db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute() } }
                try db.inTransaction(.immediate) {
                    for job in batch { completions.append(try job.run(db)) }
                    try logHeads.write(to: SQLiteSession(db: db))
                    return .commit
                }
            }
            for completion in completions { completion(nil) }
        } catch {
            logHeads.groupFailed()
            for job in batch { job.fail(error) }
        }
    }
}
