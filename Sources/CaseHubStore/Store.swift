import CaseHubCore

/// Where CaseHub keeps its state. Every operation that changes a case appends its log
/// entries in the same transaction as the change itself, so the log never disagrees with
/// what the API shows.
///
/// Implementations: ``SQLiteStore`` (embedded default). A PostgreSQL store implements the
/// same protocol and passes the same contract tests.
///
/// Operations take an already authorized caller; the store checks only what needs the data
/// (the case is open, the message exists in that case, the author is the caller).
public protocol Store: Sendable {
    /// Creates or upgrades the schema; safe to call on every start.
    func migrate() async throws
    /// Answers when the store can serve a query (for `/readyz`).
    func ping() async throws

    // Tokens
    /// Stores a new admin token by its hash; returns the token's id.
    @discardableResult
    func issueAdminToken(name: String, tokenHash: String) async throws -> String
    func principal(tokenHash: String) async throws -> Principal?

    // Cases
    func createCase(_ new: NewCase, by principal: Principal) async throws -> Case
    func listCases(_ query: CaseQuery, for principal: Principal) async throws -> CasePage
    func getCase(id: String) async throws -> Case?
    func closeCase(id: String, by actor: Actor) async throws -> Case
    func addParticipant(_ new: NewParticipant, caseId: String, tokenHash: String, by actor: Actor) async throws -> Participant
    func participants(caseId: String) async throws -> [Participant]
    /// E-mail on or off and quiet hours; logged as `participant.preferences_changed`.
    func setPreferences(_ preferences: Preferences, participantId: String, caseId: String, by actor: Actor) async throws -> Participant
    /// Ends a participant's access (logged as `participant.removed`); their history stays.
    /// Their token is revoked unless it still reaches another case. Removing twice changes nothing.
    func removeParticipant(caseId: String, id: String, by actor: Actor) async throws -> ParticipantAccess
    /// Gives a participant's token a new secret (logged as `participant.token_replaced`): the
    /// old one stops working. A removed participant answers conflict.
    func replaceParticipantToken(caseId: String, id: String, tokenHash: String, by actor: Actor) async throws -> ParticipantAccess

    // Tokens
    /// Every token, admin and participant, without its secret.
    func tokens() async throws -> [TokenRecord]
    /// Revokes a token: it answers 401 from then on. False when there is no such token.
    func revokeToken(id: String) async throws -> Bool

    // Messages
    func postMessage(_ new: NewMessage, caseId: String, thread: ThreadName, by actor: Actor, idempotency: IdempotencyKey?) async throws -> PostOutcome
    func message(caseId: String, id: String) async throws -> Message?
    func messages(caseId: String, thread: ThreadName, query: MessageQuery) async throws -> MessagePage
    /// The newest log `seq` of the case this process has seen committed, when every commit
    /// passes through this process (the embedded SQLite store); nil when it cannot know.
    /// An answer read at this `seq` (``MessagePage/logSeq``) still holds.
    func knownLogSeq(caseId: String) -> Int?
    func editMessage(caseId: String, id: String, body: String, by actor: Actor) async throws -> Message
    func redactMessage(caseId: String, id: String, by actor: Actor, reason: String?) async throws -> Message
    /// Copies a message into another thread. With an idempotency key already used for a relay
    /// of this message into this thread, that copy again, and nothing new.
    func relayMessage(
        caseId: String, id: String, to thread: ThreadName, note: String?, by actor: Actor, idempotency: IdempotencyKey?
    ) async throws -> PostOutcome
    func ackMessage(caseId: String, id: String, by actor: Actor) async throws -> Message
    func markRead(caseId: String, thread: ThreadName, upToSeq: Int, readerId: String) async throws
    /// Every reader's marker in a thread, with the reader's name and role ("seen by").
    func readMarkers(caseId: String, thread: ThreadName) async throws -> [ReadMarker]
    func threadSummaries(caseId: String, threads: [ThreadName], readerId: String) async throws -> [ThreadSummary]

    // Care plan
    /// Creates a milestone and plans its firings (reminders still ahead, due, overdue).
    func createMilestone(_ new: NewMilestone, caseId: String, by actor: Actor) async throws -> Milestone
    /// A case's milestones by `due_at`.
    func milestones(caseId: String) async throws -> [Milestone]
    func milestone(caseId: String, id: String) async throws -> Milestone?
    /// A new `due_at` plans the firings again; `done` or `cancelled` ends them.
    func changeMilestone(caseId: String, id: String, _ change: MilestoneChange, by actor: Actor) async throws -> Milestone

    // Scheduled firings (milestone notices, escalations), for the scheduler.
    func dueFirings(nowMillis: UInt64, limit: Int) async throws -> [DueFiring]
    /// Acts on a due firing, exactly once: false when it was already acted on or has lapsed
    /// (the milestone closed, the message acknowledged). `posts` holds the text of the hub's
    /// message to each audience thread of a milestone.
    func fire(_ firing: DueFiring, posts: [ThreadName: String], nowMillis: UInt64) async throws -> Bool
    /// When the earliest planned firing is due, if any.
    func nextFiringMillis() async throws -> UInt64?
    /// Answers (once) when firings have been planned since the last call.
    func firingsPlanned() async

    // Log
    func logEntries(caseId: String, after: Int, limit: Int, threads: Set<ThreadName>) async throws -> LogPage
    /// The `seq` of the case's newest log entry: where a consistent export stops.
    func logSeq(caseId: String) async throws -> Int
    func verifyLog(caseId: String) async throws -> ChainVerifier.Result

    // Webhook endpoints
    func createEndpoint(_ new: NewEndpoint, secret: String) async throws -> WebhookEndpoint
    func endpoints() async throws -> [WebhookEndpoint]
    func updateEndpoint(id: String, _ change: EndpointChange) async throws -> WebhookEndpoint
    /// Makes `newSecret` the signing secret; the one it replaces keeps signing beside it for
    /// `overlapMillis`.
    func rotateEndpointSecret(id: String, newSecret: String, overlapMillis: UInt64) async throws -> WebhookEndpoint

    // Deliveries (the outbox). Rows are queued by the commands above, in their transaction.
    func deliveries(_ query: DeliveryQuery) async throws -> [Delivery]
    func delivery(id: String) async throws -> Delivery?
    /// Queues a delivery again, now, with a fresh retry schedule.
    func retryDelivery(id: String) async throws -> Delivery
    /// Leases due deliveries to this process's worker.
    func claimDeliveries(_ claim: DeliveryClaim) async throws -> [ClaimedDelivery]
    /// Records attempts, each with its row's new state and its `delivery.*` log entry in one
    /// transaction (a case's attempts share one). Returns those it could not record, and why:
    /// their leases run out and they are sent again.
    func recordAttempts(_ records: [AttemptRecord]) async -> [UnrecordedAttempt]
    /// Frees every lease: called when a worker starts, since nothing can be in flight then.
    func releaseDeliveryClaims() async throws
    /// Frees this instance's leases on these rows, so they can be claimed again at once.
    func releaseDeliveryClaims(ids: [String]) async throws
    /// Answers (once) when new deliveries have been queued since the last call.
    func deliveriesQueued() async
    /// The deliveries not delivered, counted by channel and status, for `/metrics`.
    func deliveryBacklog() async throws -> [DeliveryBacklog]

    /// Told of every case whose log grew, once the change is committed: the live stream.
    var caseChanges: CaseFeed { get }
}

public struct CaseQuery: Sendable {
    public var status: Case.Status?
    public var limit: Int
    /// The last case id of the previous page.
    public var after: String?
    /// Only cases whose MRN or patient name contains this text (case-insensitive for ASCII).
    public var search: String?

    public init(status: Case.Status?, limit: Int, after: String?, search: String? = nil) {
        self.status = status
        self.limit = limit
        self.after = after
        self.search = search
    }
}

/// How far one reader has read a thread.
public struct ReadMarker: Sendable, Equatable {
    public var readerId: String
    public var name: String
    public var role: String
    public var upToSeq: Int

    public init(readerId: String, name: String, role: String, upToSeq: Int) {
        self.readerId = readerId
        self.name = name
        self.role = role
        self.upToSeq = upToSeq
    }

    public var json: JSONValue {
        .members(["name": .string(name), "reader_id": .string(readerId), "role": .string(role), "up_to_seq": JSONValue(upToSeq)])
    }
}

public struct CasePage: Sendable {
    public var cases: [Case]
    public var nextAfter: String?
}

public struct MessageQuery: Sendable, Hashable {
    public var after: Int?
    public var before: Int?
    public var limit: Int

    public init(after: Int?, before: Int?, limit: Int) {
        self.after = after
        self.before = before
        self.limit = limit
    }
}

/// A participant after a change to their access, and the hash of the token they held before
/// it: whoever remembers that token's principal must forget it.
public struct ParticipantAccess: Sendable {
    public var participant: Participant
    public var formerTokenHash: String
}

/// A token as `casehub token list` shows it.
public struct TokenRecord: Sendable, Equatable {
    public var id: String
    public var role: Role
    public var name: String
    public var createdAt: String
    public var revokedAt: String?
    /// Cases the token reaches as a participant (none for admin tokens, which reach all).
    public var cases: Int
}

public struct LogPage: Sendable {
    public var entries: [LogEntry]
    public var hasMore: Bool
}

/// A client's `Idempotency-Key`, scoped to the caller's token.
public struct IdempotencyKey: Sendable {
    public var tokenId: String
    public var key: String
    public init(tokenId: String, key: String) {
        self.tokenId = tokenId
        self.key = key
    }
    /// How long a key is remembered.
    public static let lifetimeMillis: UInt64 = 24 * 3600 * 1000
}

extension Store {
    /// Copies a message into another thread, without an idempotency key.
    public func relayMessage(caseId: String, id: String, to thread: ThreadName, note: String?, by actor: Actor) async throws -> Message {
        try await relayMessage(caseId: caseId, id: id, to: thread, note: note, by: actor, idempotency: nil).message
    }
}

public enum PostOutcome: Sendable {
    /// The new message, with its API JSON as stored (canonical text), so that the answer is not
    /// rendered a second time.
    case created(Message, json: JSONValue)
    /// The idempotency key had been used: the first message, nothing created.
    case replayed(Message)

    public var message: Message {
        switch self {
        case .created(let message, _), .replayed(let message): message
        }
    }
}

/// How many deliveries of one channel wait in one status, and since when the oldest is due.
public struct DeliveryBacklog: Sendable, Equatable {
    public var channel: Delivery.Channel
    /// `pending`, `failed` (to be tried again) or `dead`.
    public var status: Delivery.Status
    public var count: Int
    /// The earliest `next_attempt_at` among those a worker will try (nil for dead deliveries and
    /// those of disabled endpoints, which wait for nothing).
    public var oldestDueMillis: UInt64?

    public init(channel: Delivery.Channel, status: Delivery.Status, count: Int, oldestDueMillis: UInt64?) {
        self.channel = channel
        self.status = status
        self.count = count
        self.oldestDueMillis = oldestDueMillis
    }
}
