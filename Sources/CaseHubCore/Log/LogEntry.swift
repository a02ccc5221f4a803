/// The kinds of entry a case log holds.
public enum LogEntryType: String, Sendable, CaseIterable {
    case caseOpened = "case.opened"
    case participantAdded = "participant.added"
    /// A participant's access to the case ended.
    case participantRemoved = "participant.removed"
    /// A participant was given a new token; the one before no longer works.
    case participantTokenReplaced = "participant.token_replaced"
    case messagePosted = "message.posted"
    case messageEdited = "message.edited"
    case messageRedacted = "message.redacted"
    case messageRelayed = "message.relayed"
    case messageAcked = "message.acked"
    /// A routing rule acted on a message (relays, `requires_ack`, notifications).
    case messageRouted = "message.routed"
    /// Nobody acknowledged a message that asked for it, or an authorization request went
    /// undecided past its `due_at`: the case manager is told.
    case messageEscalated = "message.escalated"
    /// A payer's decision changed the state of an authorization request.
    case authorizationDecided = "authorization.decided"
    case participantPreferencesChanged = "participant.preferences_changed"
    case milestoneCreated = "milestone.created"
    case milestoneReminder = "milestone.reminder"
    case milestoneDue = "milestone.due"
    case milestoneRescheduled = "milestone.rescheduled"
    case milestoneOverdue = "milestone.overdue"
    case milestoneDone = "milestone.done"
    case milestoneCancelled = "milestone.cancelled"
    case notificationQueued = "notification.queued"
    case deliverySucceeded = "delivery.succeeded"
    case deliveryFailed = "delivery.failed"
    case deliveryDead = "delivery.dead"
    case caseClosed = "case.closed"
}

/// An entry to append to a case log; the store gives it its `seq`, time and hashes.
public struct LogDraft: Sendable {
    public var type: LogEntryType
    public var thread: ThreadName?
    public var parentSeq: Int?
    public var actor: Actor
    public var data: [String: JSONValue]
    /// Clinical text that a redaction may later erase (message bodies and their data). The
    /// chain covers its SHA-256 (`content_sha256` in `data`), not the text, so erasing it
    /// leaves the chain verifiable.
    public var content: JSONValue?

    public init(type: LogEntryType, thread: ThreadName?, parentSeq: Int?, actor: Actor, data: [String: JSONValue], content: JSONValue? = nil) {
        self.type = type
        self.thread = thread
        self.parentSeq = parentSeq
        self.actor = actor
        self.data = data
        self.content = content
    }
}

/// One entry of a case's hash-chained log.
public struct LogEntry: Sendable, Equatable {
    public var caseId: String
    public var seq: Int
    public var at: String
    public var type: String
    public var thread: ThreadName?
    public var parentSeq: Int?
    public var actor: JSONValue
    public var data: JSONValue
    public var content: JSONValue?
    public var hash: String
    public var prevHash: String

    public init(
        caseId: String, seq: Int, at: String, type: String, thread: ThreadName?, parentSeq: Int?, actor: JSONValue, data: JSONValue,
        content: JSONValue?, hash: String, prevHash: String
    ) {
        self.caseId = caseId
        self.seq = seq
        self.at = at
        self.type = type
        self.thread = thread
        self.parentSeq = parentSeq
        self.actor = actor
        self.data = data
        self.content = content
        self.hash = hash
        self.prevHash = prevHash
    }

    /// The entry as the API shows it: the hashed fields exactly as hashed, and beside them the
    /// redactable `content` (null where the entry has none or a redaction erased it), so that
    /// anyone can recompute `hash` from what they read.
    public var json: JSONValue {
        .members([
            "actor": actor, "at": .string(at), "content": content ?? .null, "data": data, "hash": .string(hash),
            "parent_seq": JSONValue(parentSeq), "prev_hash": .string(prevHash), "seq": .int(Int64(seq)),
            "thread": JSONValue(thread?.rawValue), "type": .string(type),
        ])
    }
}

extension LogEntry {
    /// The threads whose readers may hear of this entry: its own thread, a milestone's
    /// audience, or nil for what concerns the case as a whole (case managers and admins only).
    public var audience: [ThreadName]? {
        if let thread { return [thread] }
        guard case .array(let names)? = data["audience"] else { return nil }
        return names.compactMap { $0.stringValue.flatMap(ThreadName.init(rawValue:)) }
    }
}
