import CaseHubCore
import Foundation
import GRDB
import Logging
import Synchronization

/// The embedded store: one SQLite file in WAL mode.
///
/// Durability: every write is committed with `synchronous=FULL` before the API answers, so a
/// message answered 201 survives a crash of the process and a power cut. Reads run on a pool
/// of reader connections beside the single writer.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    let writer: GroupCommitWriter
    let reader: GroupReader
    /// Counts remembered idempotency keys, to sweep out expired ones now and then.
    let rememberedKeys = Atomic<Int>(0)
    /// Turns log entries into deliveries inside the commands' transactions.
    let outbox: Outbox
    /// Rung after a commit that queued deliveries, so the worker need not poll.
    let outboxBell = Doorbell()
    /// Rung after a commit that planned firings, so the scheduler looks again.
    let firingsBell = Doorbell()
    /// Routing rules and the timings of reminders and escalations.
    let coordination: CoordinationSettings
    public let caseChanges = CaseFeed()

    /// Opens the database file at `path`, creating it when missing.
    ///
    /// - Parameter readOnly: for inspecting a hub's file (verifying, exporting) without
    ///   changing it: the file must exist, and nothing is created or migrated.
    /// - Parameter policy: the thread access table; it decides which webhook endpoints and
    ///   which participants hear of an event.
    /// - Parameter coordination: routing rules and the timings of reminders and escalations.
    public init(
        path: String, logger: Logger, readOnly: Bool = false, policy: AccessPolicy = .default, coordination: CoordinationSettings = .default
    ) throws {
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else { throw MissingDatabase(path: path) }
        } else {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.writer = GroupCommitWriter(pool: pool)
        self.reader = GroupReader(pool: pool)
        self.outbox = Outbox(policy: policy, escalationChannels: coordination.escalationChannels)
        self.coordination = coordination
        logger.info("opened SQLite store", metadata: ["path": "\(path)", "read_only": "\(readOnly)"])
    }

    public func migrate() async throws {
        try Self.migrator.migrate(pool)
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Runs a write command in the group-commit writer.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.write(body)
    }

    /// Runs a command that changes a case: in the group-commit writer, with the case's log
    /// open for appending (the case must be open unless `requireOpen` is false) and its new
    /// head recorded when the command is done.
    func changeCase<T: Sendable>(
        _ caseId: String, requireOpen: Bool = true, _ body: @escaping @Sendable (inout LogAppender, Database) throws -> T
    ) async throws -> T {
        let (result, queued, planned, grew) = try await write { db in
            var log = try LogAppender(caseId: caseId, db: db)
            if requireOpen { try log.requireOpen() }
            let result = try body(&log, db)
            let queued = try self.outbox.enqueue(for: log.appended, log: &log, db: db)
            try log.finish()
            return (result, queued, log.plannedFirings, !log.appended.isEmpty)
        }
        if queued { outboxBell.ring() }
        if planned { firingsBell.ring() }
        if grew { caseChanges.publish(caseId: caseId) }
        return result
    }

    /// Runs a short read in the grouped reader.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await reader.read(body)
    }

    /// Runs a read that may take long (a whole log) on a reader connection of its own, so it
    /// holds up neither the grouped reads nor Swift's small pool of cooperative threads.
    func readAtLength<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }
}

/// Inspection was asked of a file that does not exist.
struct MissingDatabase: Error, CustomStringConvertible {
    let path: String
    var description: String { "no database at \(path)" }
}

extension Database {
    /// Fetches rows through the statement cache: the hot paths run the same few statements.
    func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    /// Decodes each row straight from the statement: no copy of the row is made first, which
    /// matters on the read paths that return pages of rows.
    func fetch<T>(_ sql: String, _ arguments: StatementArguments = [], as decode: (Row) throws -> T) throws -> [T] {
        let cursor = try Row.fetchCursor(cachedStatement(sql: sql), arguments: arguments)
        var values: [T] = []
        while let row = try cursor.next() { values.append(try decode(row)) }
        return values
    }

    func row(_ sql: String, _ arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func run(_ sql: String, _ arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
