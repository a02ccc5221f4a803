import CaseHubCore
import Synchronization

/// The store's commands and queries, written once for every database the hub runs on.
///
/// A conforming store supplies transactions (``write(_:)``, ``read(_:)``) and tells other
/// hub instances what committed (``announce(_:in:)``); everything else, the `Store`
/// protocol's operations included, comes from the extensions of this protocol, so SQLite and
/// PostgreSQL behave alike and pass one contract suite.
protocol SQLStore: Store {
    /// Turns log entries into deliveries inside the commands' transactions.
    var outbox: Outbox { get }
    /// Rung after a commit that queued deliveries, so the worker need not poll.
    var outboxBell: Doorbell { get }
    /// Rung after a commit that planned firings, so the scheduler looks again.
    var firingsBell: Doorbell { get }
    /// Routing rules and the timings of reminders and escalations.
    var coordination: CoordinationSettings { get }
    /// Decides when expired idempotency keys are swept out.
    var keySweep: KeySweep { get }
    /// Names this process on the deliveries it leases.
    var leaseOwner: String { get }
    /// Each case's newest committed log `seq`, kept only when every commit passes through
    /// this process (nil when other hub instances write the same database).
    var caseHeads: CaseHeads? { get }

    /// Runs a command in a write transaction; a thrown error rolls back what it did.
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T
    /// Runs a command whose changes a crash may lose (delivery leases, which a restart frees
    /// anyway): its commit does not wait for the disk, though a later synced commit covers it.
    func writeUnsynced<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T
    /// Runs a short read.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T
    /// Runs a read that may take long (a whole log), apart from the short ones.
    func readAtLength<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T
    /// Called inside a transaction about to commit with news other hub instances must hear
    /// of once it has (this instance hears of it from ``heard(_:)`` after the commit).
    func announce(_ news: CommitNews, in db: any SQLSession) throws
}

/// What a committed transaction changed, for whoever waits on it.
struct CommitNews: Sendable, Equatable {
    enum Item: Sendable, Equatable {
        /// A case's log grew: live readers read it from the store.
        case logGrew(caseId: String)
        /// A passing event of a case (a read marker) for its live readers.
        case passingEvent(caseId: String, thread: ThreadName?, event: JSONValue)
        case deliveriesQueued
        case firingsPlanned
    }

    var items: [Item] = []
    var isEmpty: Bool { items.isEmpty }
}

/// Counts remembered idempotency keys so that a post now and then sweeps out expired ones.
final class KeySweep: Sendable {
    /// Expired keys are swept once every this many remembered keys.
    static let interval = 1000
    private let remembered = Atomic<Int>(0)

    init() {}

    /// Counts one more key; true when it is time to sweep.
    func rememberedOne() -> Bool {
        remembered.add(1, ordering: .relaxed).newValue.isMultiple(of: Self.interval)
    }
}

extension SQLStore {
    /// Acts on news of a commit: this instance's own, or another instance's.
    func heard(_ news: CommitNews) {
        for item in news.items {
            switch item {
            case .logGrew(let caseId): caseChanges.publish(caseId: caseId)
            case .passingEvent(let caseId, let thread, let event): caseChanges.publish(caseId: caseId, thread: thread, event: event)
            case .deliveriesQueued: outboxBell.ring()
            case .firingsPlanned: firingsBell.ring()
            }
        }
    }

    /// Runs a write command, then tells this instance's waiters (and, through
    /// ``announce(_:in:)``, the other instances') what it committed.
    func write<T: Sendable>(
        announcing: @escaping @Sendable (T) -> CommitNews, _ body: @escaping @Sendable (any SQLSession) throws -> T
    ) async throws -> T {
        let result = try await write { db in
            let result = try body(db)
            let news = announcing(result)
            if !news.isEmpty { try self.announce(news, in: db) }
            return result
        }
        heard(announcing(result))
        return result
    }

    /// Runs a command that changes a case: with the case's log open for appending (the case
    /// must be open unless `requireOpen` is false, and no other command may change it until
    /// this one commits), its deliveries queued and its new head recorded when it is done.
    func changeCase<T: Sendable>(
        _ caseId: String, requireOpen: Bool = true, _ body: @escaping @Sendable (inout LogAppender, any SQLSession) throws -> T
    ) async throws -> T {
        let (result, news, head) = try await write { db in
            var log = try LogAppender(caseId: caseId, db: db)
            if requireOpen { try log.requireOpen() }
            let result = try body(&log, db)
            let queued = try self.outbox.enqueue(for: log.appended, log: &log, db: db)
            try log.finish()
            var news = CommitNews()
            if !log.appended.isEmpty { news.items.append(.logGrew(caseId: caseId)) }
            if queued { news.items.append(.deliveriesQueued) }
            if log.plannedFirings { news.items.append(.firingsPlanned) }
            if !news.isEmpty { try self.announce(news, in: db) }
            return (result, news, log.seq)
        }
        // Before the caller answers: whoever hears of this command finds the case changed.
        caseHeads?.raise(caseId, to: head)
        heard(news)
        return result
    }

    public func knownLogSeq(caseId: String) -> Int? {
        caseHeads?.seq(of: caseId)
    }
}
