import CaseHubCore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle

/// The store for a hub that runs as several instances on one PostgreSQL database.
///
/// The commands are the SQLite store's (``SQLStore``); what changes is how instances share:
/// - A command that changes a case locks the case's row first (`SELECT … FOR UPDATE`), so
///   commands on one case from any instance take turns and `seq` and the chain stay whole.
/// - Workers claim deliveries with `FOR UPDATE SKIP LOCKED` and a lease; an instance that
///   dies leaves its leases to run out, and another instance sends those deliveries.
/// - A firing is deleted by the transaction that acts on it, under its case's lock, so each
///   fires once whichever instance's scheduler gets there first.
/// - Each commit `NOTIFY`s the other instances (``announce(_:in:)``); they wake their live
///   readers, which read the new entries from the database, and their workers.
///
/// Run it as a service (``run()``): it runs the connection pool and the listener. Its
/// sessions block their thread while PostgreSQL answers, so they run on a thread pool of
/// their own, one thread per connection.
public final class PostgresStore: SQLStore, Service {
    let client: PostgresClient
    let location: PostgresLocation
    let sessions: NIOThreadPool
    let logger: Logger
    let keySweep = KeySweep()
    let outbox: Outbox
    let outboxBell = Doorbell()
    let firingsBell = Doorbell()
    let coordination: CoordinationSettings
    public let caseChanges = CaseFeed()
    /// Tells this instance's own notifications from the others', and its leases.
    let instanceId = Identifier.make()
    var leaseOwner: String { instanceId }
    /// Other instances commit to the same database unseen, so no answer is kept.
    var caseHeads: CaseHeads? { nil }

    /// The channel every instance listens on.
    static let channel = "casehub_news"
    /// Held while migrating, so instances starting together migrate one after the other.
    static let migrationLock: Int64 = 0x4361_7365_4875_62  // "CaseHub"

    public init(
        location: PostgresLocation, logger: Logger, policy: AccessPolicy = .default, coordination: CoordinationSettings = .default
    ) throws {
        self.client = PostgresClient(configuration: try location.clientConfiguration(), backgroundLogger: logger)
        self.location = location
        self.sessions = NIOThreadPool(numberOfThreads: location.poolSize)
        self.sessions.start()
        self.logger = logger
        // Other instances change endpoints too: read them in every command's transaction.
        self.outbox = Outbox(policy: policy, escalationChannels: coordination.escalationChannels, cachesEndpoints: false)
        self.coordination = coordination
    }

    deinit {
        sessions.shutdownGracefully { _ in }
    }

    /// Runs the connection pool and the listener for the other instances' news, until the
    /// task is cancelled or the service group shuts down.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.client.run() }
                group.addTask { await self.listenForNews() }
            }
        }
    }

    /// Runs `work` with the store's service running beside it: for commands that use the store
    /// once and exit.
    public func whileRunning<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await self.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await work()
        }
    }

    /// Connects once, apart from the pool, and runs `SELECT 1`: tells at start-up whether the
    /// server can be used, with PostgreSQL's own reason when it cannot (the pool would keep
    /// trying in silence).
    public func probe(timeout: Duration) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: try location.connectionConfiguration(connectTimeout: timeout), id: 0, logger: logger)
        do {
            try await connection.query("SELECT 1", logger: logger)
            try await connection.close()
            logger.info("opened PostgreSQL store", metadata: ["host": "\(location.host)", "database": "\(location.database)"])
        } catch {
            try? await connection.close()
            throw error
        }
    }

    public func migrate() async throws {
        try await write { db in
            // Held to the end of this transaction: a second instance waits, then finds the
            // schema migrated.
            try db.run("SELECT pg_advisory_xact_lock(?)", [Self.migrationLock])
            // The URL's `search_path` names the schema to work in; it is made on first use.
            if let schema = self.location.searchPath { try db.run("CREATE SCHEMA IF NOT EXISTS \(schema)") }
            try db.run("CREATE TABLE IF NOT EXISTS casehub_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            let applied = Set(try db.fetch("SELECT id FROM casehub_migrations") { $0[0] as String })
            for migration in PostgresSchema.migrations where !applied.contains(migration.id) {
                for statement in migration.statements { try db.run(statement) }
                try db.run("INSERT INTO casehub_migrations (id, applied_at) VALUES (?, ?)", [migration.id, Timestamp.now()])
            }
        }
    }

    public func ping() async throws {
        _ = try await read { db in try db.rows("SELECT 1") }
    }

    /// Frees this instance's leases only: other instances may be sending what they claimed,
    /// and the leases of one that died run out by themselves.
    public func releaseDeliveryClaims() async throws {
        try await write { db in
            try db.run("UPDATE deliveries SET lease_until_ms = NULL, lease_owner = NULL WHERE lease_owner = ?", [self.instanceId])
        }
    }

    // MARK: - Transactions

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN", body)
    }

    func writeUnsynced<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN") { db in
            try db.run("SET LOCAL synchronous_commit TO OFF")
            return try body(db)
        }
    }

    /// Short reads run statement by statement, each seeing what was committed when it started.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await transaction(begin: nil, body)
    }

    /// Long reads (a whole log, checked against the case's head) see one snapshot throughout.
    func readAtLength<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Runs `body` on a leased connection, on a session thread. A deadlock or serialization
    /// failure (PostgreSQL rolled the transaction back) runs it again, a few times at most.
    private func transaction<T: Sendable>(begin: String?, _ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await client.withConnection { connection in
                    try await self.sessions.runIfActive {
                        let session = PostgresSession(connection: connection, logger: self.logger)
                        guard let begin else { return try body(session) }
                        try session.run(begin)
                        do {
                            let result = try body(session)
                            try session.run("COMMIT")
                            return result
                        } catch {
                            try? session.run("ROLLBACK")
                            throw error
                        }
                    }
                }
            } catch let error as PostgresStatementError where attempt < 3 && error.mayRetry {
                attempt += 1
            }
        }
    }

    // MARK: - News between instances

    func announce(_ news: CommitNews, in db: any SQLSession) throws {
        // Sent when the transaction commits, and only then.
        try db.run("SELECT pg_notify(?, ?)", [Self.channel, news.wire(from: instanceId)])
    }

    /// Listens for the other instances' commits for as long as the store runs, listening
    /// again after a lost connection.
    private func listenForNews() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        // Whatever was said while nobody listened is lost: look at everything once.
                        self.heardEverything()
                        for try await notification in notifications {
                            guard let news = CommitNews(wire: notification.payload, ignoring: self.instanceId) else { continue }
                            self.heard(news)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("listening for other instances failed; listening again", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func heardEverything() {
        caseChanges.publishToAll()
        outboxBell.ring()
        firingsBell.ring()
    }
}

extension CommitNews {
    /// The news as a notification payload: `{"from": instance, "items": [...]}`.
    func wire(from instanceId: String) -> String {
        let items: [JSONValue] = self.items.map { item in
            switch item {
            case .logGrew(let caseId): .object(["log": .string(caseId)])
            case .passingEvent(let caseId, let thread, let event):
                .object(["case": .string(caseId), "thread": JSONValue(thread?.rawValue), "event": event])
            case .deliveriesQueued: "deliveries"
            case .firingsPlanned: "firings"
            }
        }
        return JSONValue.members(["from": .string(instanceId), "items": .array(items)]).canonicalString
    }

    /// Reads a payload; nil for this instance's own news (it heard of it on commit) or
    /// anything unreadable.
    init?(wire payload: String, ignoring instanceId: String) {
        guard let message = try? JSONValue.parse(payload), message["from"]?.stringValue != instanceId,
            case .array(let items)? = message["items"]
        else { return nil }
        self.init()
        for item in items {
            if let caseId = item["log"]?.stringValue {
                self.items.append(.logGrew(caseId: caseId))
            } else if let caseId = item["case"]?.stringValue, let event = item["event"] {
                let thread = item["thread"]?.stringValue.flatMap(ThreadName.init(rawValue:))
                self.items.append(.passingEvent(caseId: caseId, thread: thread, event: event))
            } else {
                switch item.stringValue {
                case "deliveries": self.items.append(.deliveriesQueued)
                case "firings": self.items.append(.firingsPlanned)
                default: continue
                }
            }
        }
    }
}
