// The least a durable post needs: one row per post in a SQLite file in WAL mode with
// `synchronous = FULL`, written by one thread that takes every post queued meanwhile into one
// transaction (group commit), and the poster answered only once its commit is on disk. No hash
// chain, no second table, no indexes beyond the row id, no JSON: what the hub's posting could
// cost if its own work were free.
import CSQLite
import Dispatch

final class StoredPosts: Sendable {
    private typealias Waiter = CheckedContinuation<Void, any Error>

    private struct Post: Sendable {
        let body: [UInt8]
        let waiter: Waiter
    }

    private struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The connection is used only on `writerQueue`.
    private nonisolated(unsafe) let connection: OpaquePointer
    private nonisolated(unsafe) let insert: OpaquePointer
    /// Stored with each post, standing for its rendered message.
    private let answer: [UInt8]
    private let pending = GroupCommitQueue<Post>()
    private let writerQueue = DispatchQueue(label: "http-floor.writer", qos: .userInitiated)

    init(path: String, answer: [UInt8]) throws {
        self.answer = answer
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw Failure(description: "cannot open \(path)") }
        connection = handle
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                       "CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, body BLOB NOT NULL, answer BLOB NOT NULL)"] {
            guard sqlite3_exec(handle, pragma, nil, nil, nil) == SQLITE_OK else { throw Failure(description: "\(pragma) failed") }
        }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, "INSERT INTO posts (body, answer) VALUES (?, ?)", -1, &statement, nil) == SQLITE_OK,
              let statement else { throw Failure(description: "cannot prepare the insert") }
        insert = statement
    }

    /// Returns once the post is committed and synced.
    func store(_ body: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            if pending.enqueue(Post(body: body, waiter: waiter)) {
                writerQueue.async { self.pending.drain(self.commitAndAnswer) }
            }
        }
    }

    private func commitAndAnswer(_ batch: [Post]) {
        let outcome = Result { try commit(batch) }
        for post in batch { post.waiter.resume(with: outcome) }
    }

    private func commit(_ batch: [Post]) throws {
        guard sqlite3_exec(connection, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw Failure(description: "BEGIN failed") }
        for post in batch {
            post.body.withUnsafeBytes { bytes in
                _ = sqlite3_bind_blob(insert, 1, bytes.baseAddress, Int32(bytes.count), sqliteTransient)
            }
            answer.withUnsafeBytes { bytes in
                _ = sqlite3_bind_blob(insert, 2, bytes.baseAddress, Int32(bytes.count), sqliteTransient)
            }
            let code = sqlite3_step(insert)
            sqlite3_reset(insert)
            guard code == SQLITE_DONE else {
                sqlite3_exec(connection, "ROLLBACK", nil, nil, nil)
                throw Failure(description: "insert failed: \(code)")
            }
        }
        guard sqlite3_exec(connection, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw Failure(description: "COMMIT failed") }
    }
}

private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
