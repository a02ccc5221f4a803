// The least the contract asks of a post, written as plainly as possible: the message row with
// its thread index and rendered answer, and a `message.posted` log entry chained to the one
// before it by SHA-256 (its redactable content covered through a digest of its own), both in a
// SQLite file in WAL mode with `synchronous = FULL`, written by one thread that takes every post
// queued meanwhile into one transaction (group commit). The poster is answered only once its
// commit is on disk. The chain's head is kept in memory. Without the message row
// (`keepsMessageRows: false`) it measures another design: a message kept only as its log
// entry (which holds its text), one row per post. What it leaves out, and the hub does not:
// a savepoint per command (one bad post must not fail its group), the case's own row (that it
// exists and is open; its head written back once a group), the access policy's check of the
// caller's case and thread, idempotency keys, reply and routing checks, the outbox, metrics.
import CSQLite
import Crypto
import Dispatch
import Foundation
import Glibc

final class ChainedPosts: Sendable {
    /// What the request task hands the writer: already read and checked.
    struct Draft: Sendable {
        let caseId: String
        let thread: String
        let author: Author
        let kind: String
        let body: String
    }

    struct Author: Sendable {
        let id: String
        /// Its canonical JSON, built once: a token's author does not change between posts.
        let json: String

        init(id: String, role: String, name: String) {
            self.id = id
            json = #"{"id":\#(quoted(id)),"name":\#(quoted(name)),"role":\#(quoted(role))}"#
        }
    }

    private typealias Waiter = CheckedContinuation<[UInt8], any Error>

    private struct Post: Sendable {
        let draft: Draft
        let waiter: Waiter
    }

    private struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct Head {
        var seq = 0
        var hash = String(repeating: "0", count: 64)
    }

    /// The connection, the heads and the id counter are used only on `writerQueue`.
    private nonisolated(unsafe) let connection: OpaquePointer
    private nonisolated(unsafe) let insertEntry: OpaquePointer
    private nonisolated(unsafe) let insertMessage: OpaquePointer
    private nonisolated(unsafe) var heads: [String: Head] = [:]
    private nonisolated(unsafe) var idCounter: UInt64 = 0
    private let keepsMessageRows: Bool
    private let pending = GroupCommitQueue<Post>()
    private let writerQueue = DispatchQueue(label: "http-floor.chained-writer", qos: .userInitiated)

    init(path: String, keepsMessageRows: Bool) throws {
        self.keepsMessageRows = keepsMessageRows
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw Failure(description: "cannot open \(path)") }
        connection = handle
        let schema = """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS log_entries (
                case_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, type TEXT NOT NULL, thread TEXT,
                actor TEXT NOT NULL, data TEXT NOT NULL, content TEXT, hash TEXT NOT NULL, prev_hash TEXT NOT NULL,
                PRIMARY KEY (case_id, seq)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS messages (
                id TEXT PRIMARY KEY, case_id TEXT NOT NULL, thread TEXT NOT NULL, seq INTEGER NOT NULL,
                author_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, rendered TEXT NOT NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS messages_by_thread ON messages(case_id, thread, seq);
            """
        guard sqlite3_exec(handle, schema, nil, nil, nil) == SQLITE_OK else { throw Failure(description: "cannot create the schema") }
        insertEntry = try Self.prepare(
            handle, "INSERT INTO log_entries (case_id, seq, at, type, thread, actor, data, content, hash, prev_hash) VALUES (?, ?, ?, 'message.posted', ?, ?, ?, ?, ?, ?)")
        insertMessage = try Self.prepare(
            handle, "INSERT INTO messages (id, case_id, thread, seq, author_id, kind, body, created_at, rendered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        heads = try Self.heads(in: handle)
    }

    /// The last entry of each case already in the file, so that a second run goes on chaining.
    private static func heads(in connection: OpaquePointer) throws -> [String: Head] {
        let select = try prepare(connection, "SELECT case_id, MAX(seq), hash FROM log_entries GROUP BY case_id")
        defer { sqlite3_finalize(select) }
        var heads: [String: Head] = [:]
        while sqlite3_step(select) == SQLITE_ROW {
            heads[String(cString: sqlite3_column_text(select, 0))] = Head(
                seq: Int(sqlite3_column_int64(select, 1)), hash: String(cString: sqlite3_column_text(select, 2)))
        }
        return heads
    }

    private static func prepare(_ connection: OpaquePointer, _ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: "cannot prepare \(sql)")
        }
        return statement
    }

    /// Stores the post and returns the message as JSON, once its commit is on disk.
    func post(_ draft: Draft) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            if pending.enqueue(Post(draft: draft, waiter: waiter)) {
                writerQueue.async { self.pending.drain(self.commitAndAnswer) }
            }
        }
    }

    private func commitAndAnswer(_ batch: [Post]) {
        let before = heads
        do {
            let answers = try commit(batch)
            for (post, answer) in zip(batch, answers) { post.waiter.resume(returning: answer) }
        } catch {
            heads = before
            for post in batch { post.waiter.resume(throwing: error) }
        }
    }

    private func commit(_ batch: [Post]) throws -> [[UInt8]] {
        guard sqlite3_exec(connection, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw Failure(description: "BEGIN failed") }
        do {
            let answers = try batch.map { try store($0.draft) }
            guard sqlite3_exec(connection, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw Failure(description: "COMMIT failed") }
            return answers
        } catch {
            sqlite3_exec(connection, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    private func store(_ draft: Draft) throws -> [UInt8] {
        var head = heads[draft.caseId] ?? Head()
        let seq = head.seq + 1
        let millis = Int(Date().timeIntervalSince1970 * 1000)
        let id = nextId(millis: millis)
        let at = Self.timestamp(millis: millis)
        let actor = draft.author.json
        let (body, kind, thread) = (quoted(draft.body), quoted(draft.kind), quoted(draft.thread))
        let content = #"{"body":\#(body),"data":{}}"#
        let data = """
            {"content_sha256":"\(sha256Hex(Array(content.utf8)))","kind":\(kind),"message_id":"\(id)",\
            "priority":"routine","relayed_from":null,"reply_to":null,"requires_ack":false}
            """
        let hashed = """
            \(head.hash){"actor":\(actor),"at":"\(at)","data":\(data),"parent_seq":null,"seq":\(seq),\
            "thread":\(thread),"type":"message.posted"}
            """
        let hash = sha256Hex(Array(hashed.utf8))
        let rendered = """
            {"acks":[],"author":\(actor),"authorization":null,"body":\(body),"case_id":\(quoted(draft.caseId)),\
            "created_at":"\(at)","data":{},"edited_at":null,"id":"\(id)","kind":\(kind),"priority":"routine",\
            "redacted":false,"relayed_from":null,"reply_to":null,"requires_ack":false,"seq":\(seq),"thread":\(thread)}
            """
        try run(insertEntry, [.text(draft.caseId), .int(seq), .text(at), .text(draft.thread), .text(actor), .text(data), .text(content),
                              .text(hash), .text(head.hash)])
        if keepsMessageRows {
            try run(insertMessage, [.text(id), .text(draft.caseId), .text(draft.thread), .int(seq), .text(draft.author.id), .text(draft.kind),
                                    .text(draft.body), .text(at), .text(rendered)])
        }
        head.seq = seq
        head.hash = hash
        heads[draft.caseId] = head
        return Array(rendered.utf8)
    }

    private enum Argument {
        case text(String)
        case int(Int)
    }

    private func run(_ statement: OpaquePointer, _ arguments: [Argument]) throws {
        for (index, argument) in arguments.enumerated() {
            switch argument {
            case .text(let text): sqlite3_bind_text(statement, Int32(index + 1), text, -1, sqliteTransient)
            case .int(let value): sqlite3_bind_int64(statement, Int32(index + 1), Int64(value))
            }
        }
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else { throw Failure(description: "insert failed: \(code)") }
    }

    /// A time-ordered id in UUID form (as the hub's, UUIDv7): new rows land at the end of the
    /// primary key's B-tree.
    private func nextId(millis: Int) -> String {
        idCounter &+= 1
        let high = String(UInt64(millis) << 16 | 0x7000 | UInt64(idCounter & 0xFFF), radix: 16)
        let low = String(UInt64(idCounter) | 0x8000_0000_0000_0000, radix: 16)
        let hex = Array((String(repeating: "0", count: 16 - high.count) + high + low).utf8)
        return [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String(decoding: $0, as: UTF8.self) }
            .joined(separator: "-")
    }

    /// The time as RFC 3339 with milliseconds, in UTC.
    private static func timestamp(millis: Int) -> String {
        var parts = tm()
        var seconds = time_t(millis / 1000)
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):"
            + "\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))Z"
    }
}

/// A JSON string literal.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for byte in SHA256.hash(data: bytes) {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
