import CaseHubCore
import Foundation
import GRDB
import Logging
import Synchronization

/// The embedded store: one SQLite file in WAL mode.
///
/// Durability: every write is committed with `synchronous=FULL` before the API answers, so a
/// message answered 201 survives a crash of the process and a power cut. Reads run on a pool
/// of reader connections beside the single writer. The commands themselves are shared with
/// the PostgreSQL store (``SQLStore``).
public final class SQLiteStore: SQLStore {
    let pool: DatabasePool
    let writer: GroupCommitWriter
    let reader: GroupReader
    let keySweep = KeySweep()
    let leaseOwner = Identifier.make()
    /// One process owns the file, so it sees every commit.
    let caseHeads: CaseHeads? = CaseHeads()
    let outbox: Outbox
    let outboxBell = Doorbell()
    let firingsBell = Doorbell()
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
            try Self.makeFolder(of: path)
        }
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        self.pool = try DatabasePool(path: path, configuration: configuration)
        if !readOnly {
            // GRDB sets `synchronous = NORMAL` once it has put the file in WAL mode, which
            // syncs only at checkpoints: a power cut could lose commits already answered. FULL
            // syncs the WAL at each commit (one sync per group of commands). Only the writer
            // connection commits, so only it needs the setting.
            // Each command runs in a savepoint, whose undo record SQLite writes to a temporary
            // file once it passes 64 KiB (a large group's commands do): kept in memory instead.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY") }
        }
        self.writer = GroupCommitWriter(pool: pool)
        self.reader = GroupReader(pool: pool)
        // One process writes the file, so the enabled endpoints can be kept between commands.
        self.outbox = Outbox(policy: policy, escalationChannels: coordination.escalationChannels, cachesEndpoints: true)
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
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await writer.write { [writer] db in try body(SQLiteSession(db: db, logHeads: writer.logHeads)) }
    }

    func writeUnsynced<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await writer.write(synced: false) { [writer] db in try body(SQLiteSession(db: db, logHeads: writer.logHeads)) }
    }

    /// Runs a short read in the grouped reader.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await reader.read { db in try body(SQLiteSession(db: db)) }
    }

    /// Runs a read that may take long (a whole log) on a reader connection of its own, so it
    /// holds up neither the grouped reads nor Swift's small pool of cooperative threads.
    func readAtLength<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteSession(db: db)) }
    }

    /// One process owns the file: nobody else is listening.
    func announce(_ news: CommitNews, in db: any SQLSession) throws {}

    /// Frees every lease: called when the worker starts, and only one process works a file,
    /// so nothing can be in flight then.
    public func releaseDeliveryClaims() async throws {
        try await write { db in
            try db.run("UPDATE deliveries SET lease_until_ms = NULL, lease_owner = NULL WHERE lease_until_ms IS NOT NULL")
        }
    }
}

extension SQLiteStore {
    /// Creates the database file's own folder when it is missing (the default `./data`), but
    /// not the folders above it: a path mistyped deep in the tree is an error, not a new hub
    /// somewhere unexpected.
    static func makeFolder(of path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw MissingFolder(path: folder.path, reason: "is a file, not a folder") }
            return
        }
        guard FileManager.default.fileExists(atPath: folder.deletingLastPathComponent().path) else {
            throw MissingFolder(path: folder.deletingLastPathComponent().path, reason: "does not exist (only the database's own folder is created)")
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        } catch {
            // Another process starting at the same moment may have made it first.
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else { throw error }
        }
    }
}

/// The folder a database file would go in cannot be made.
struct MissingFolder: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path) \(reason)" }
}

/// Inspection was asked of a file that does not exist.
struct MissingDatabase: Error, CustomStringConvertible {
    let path: String
    var description: String { "no database at \(path)" }
}
