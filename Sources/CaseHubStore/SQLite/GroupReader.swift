import GRDB

/// Runs short reads many to a read transaction.
///
/// Each read on its own costs a pool checkout, a transaction and a schema check in GRDB, more
/// than the query behind a page or a case. Reads queued together share one: the group's
/// snapshot is taken after every read in it was queued, so each still sees every write
/// answered before it was asked (read-your-writes holds). Each caller resumes as soon as its
/// own read is done.
final class GroupReader: Sendable {
    private struct Job: Sendable {
        let run: @Sendable (Database) -> Void
        let fail: @Sendable (any Error) -> Void
    }

    static let maxBatch = 256

    private let batcher: Batcher<Job>

    init(pool: DatabasePool) {
        batcher = Batcher(label: "casehub.sqlite.reader", maxBatch: Self.maxBatch) { batch in
            var ran = 0
            do {
                try pool.read { db in
                    for job in batch {
                        job.run(db)
                        ran += 1
                    }
                }
            } catch {
                for job in batch.dropFirst(ran) { job.fail(error) }
            }
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            batcher.enqueue(
                Job(
                    run: { db in continuation.resume(with: Result { try body(db) }) },
                    fail: { continuation.resume(throwing: $0) }))
        }
    }
}
