/// A message in one of a case's threads, as the API shows it now (the log keeps its history).
public struct Message: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case text, handoff, education
        case authorizationRequest = "authorization_request"
        case authorizationDecision = "authorization_decision"
        case milestone, system

        /// Kinds only the hub writes.
        public var isHubAuthored: Bool { self == .milestone || self == .system }
    }

    public enum Priority: String, Sendable, CaseIterable { case routine, urgent }

    public struct Ack: Sendable, Equatable {
        public var by: String
        public var at: String
        public init(by: String, at: String) {
            self.by = by
            self.at = at
        }

        public var json: JSONValue { .members(["at": .string(at), "by": .string(by)]) }
    }

    public var id: String
    public var caseId: String
    public var thread: ThreadName
    public var seq: Int
    public var author: Actor
    public var kind: Kind
    public var body: String
    public var data: JSONValue
    public var replyTo: String?
    public var relayedFrom: String?
    public var relayNote: String?
    public var priority: Priority
    public var requiresAck: Bool
    public var acks: [Ack]
    public var createdAt: String
    public var editedAt: String?
    public var redacted: Bool
    /// Where an `authorization_request` stands; nil for every other kind.
    public var authorization: AuthorizationState?

    public init(
        id: String, caseId: String, thread: ThreadName, seq: Int, author: Actor, kind: Kind, body: String, data: JSONValue,
        replyTo: String?, relayedFrom: String?, relayNote: String?, priority: Priority, requiresAck: Bool, acks: [Ack],
        createdAt: String, editedAt: String?, redacted: Bool, authorization: AuthorizationState? = nil
    ) {
        self.id = id
        self.caseId = caseId
        self.thread = thread
        self.seq = seq
        self.author = author
        self.kind = kind
        self.body = body
        self.data = data
        self.replyTo = replyTo
        self.relayedFrom = relayedFrom
        self.relayNote = relayNote
        self.priority = priority
        self.requiresAck = requiresAck
        self.acks = acks
        self.createdAt = createdAt
        self.editedAt = editedAt
        self.redacted = redacted
        self.authorization = authorization
    }

    /// Only an authorization request carries `authorization`, its state.
    public var json: JSONValue {
        guard let authorization else { return commonJSON }
        guard case .sortedObject(var members) = commonJSON else { return commonJSON }
        members.insert(JSONValue.Member(key: "authorization", value: authorization.json), at: 2)  // after "author", in canonical order
        return .sortedObject(members)
    }

    private var commonJSON: JSONValue {
        .members([
            "acks": .array(acks.map(\.json)), "author": author.json, "body": .string(body), "case_id": .string(caseId),
            "created_at": .string(createdAt), "data": data, "edited_at": JSONValue(editedAt), "id": .string(id),
            "kind": .string(kind.rawValue), "priority": .string(priority.rawValue), "redacted": .bool(redacted),
            "relay_note": JSONValue(relayNote), "relayed_from": JSONValue(relayedFrom), "reply_to": JSONValue(replyTo),
            "requires_ack": .bool(requiresAck), "seq": .int(Int64(seq)), "thread": .string(thread.rawValue),
        ])
    }
}

/// A message a caller asks to post, already validated.
public struct NewMessage: Sendable {
    public var body: String
    public var kind: Message.Kind
    public var data: JSONValue
    public var replyTo: String?
    public var priority: Message.Priority
    public var requiresAck: Bool

    public init(body: String, kind: Message.Kind, data: JSONValue, replyTo: String?, priority: Message.Priority, requiresAck: Bool) {
        self.body = body
        self.kind = kind
        self.data = data
        self.replyTo = replyTo
        self.priority = priority
        self.requiresAck = requiresAck
    }
}

/// A page of a thread's messages, ascending by `seq`, as the API shows them.
public struct MessagePage: Sendable {
    public var messages: [RenderedMessage]
    public var hasMore: Bool
    /// The case's log `seq` in the snapshot the page was read from: every change to a
    /// message appends to the log, so the page holds for as long as the log has not grown.
    public var logSeq: Int
    public init(messages: [RenderedMessage], hasMore: Bool, logSeq: Int) {
        self.messages = messages
        self.hasMore = hasMore
        self.logSeq = logSeq
    }
}

/// A message in its API form, as stored when it last changed (Matrix homeservers keep event
/// JSON the same way): a page of them is served without decoding or re-encoding each one.
public struct RenderedMessage: Sendable, Equatable {
    public var seq: Int
    /// ``Message/json``, as canonical text.
    public var json: JSONValue

    public init(seq: Int, json: JSONValue) {
        self.seq = seq
        self.json = json
    }
}

/// One thread as the thread list shows it to one caller.
public struct ThreadSummary: Sendable {
    public var name: ThreadName
    public var messageCount: Int
    public var lastMessage: Message?
    public var unread: Int

    public init(name: ThreadName, messageCount: Int, lastMessage: Message?, unread: Int) {
        self.name = name
        self.messageCount = messageCount
        self.lastMessage = lastMessage
        self.unread = unread
    }

    public var json: JSONValue {
        .members([
            "last_message": lastMessage?.json ?? .null, "message_count": .int(Int64(messageCount)), "name": .string(name.rawValue),
            "unread": .int(Int64(unread)),
        ])
    }
}
