/// A receiver of signed webhooks (a PPA team's system, a payer's) and what it subscribes to.
///
/// `roles` say which threads it may hear about: it receives an event only when one of its
/// roles may see the event's thread, so a payer endpoint never hears of the PPA thread.
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: String
    public var url: String
    public var description: String
    /// Event types, or `["*"]` for every type.
    public var events: [String]
    public var roles: [Role]
    public var enabled: Bool
    /// Opt-in: payloads carry message text (`body`, `data`); thin payloads do not.
    public var includeText: Bool
    /// Why the hub disabled it (410 Gone, failing for too long); nil when enabled or disabled by hand.
    public var disabledReason: String?
    public var createdAt: String
    /// Until when the secret replaced by the last rotation still signs beside the new one.
    public var previousSecretExpiresAt: String?

    public init(
        id: String, url: String, description: String, events: [String], roles: [Role], enabled: Bool, includeText: Bool,
        disabledReason: String?, createdAt: String, previousSecretExpiresAt: String?
    ) {
        self.id = id
        self.url = url
        self.description = description
        self.events = events
        self.roles = roles
        self.enabled = enabled
        self.includeText = includeText
        self.disabledReason = disabledReason
        self.createdAt = createdAt
        self.previousSecretExpiresAt = previousSecretExpiresAt
    }

    public var json: JSONValue {
        .members([
            "created_at": .string(createdAt), "description": .string(description), "disabled_reason": JSONValue(disabledReason),
            "enabled": .bool(enabled), "events": .array(events.map(JSONValue.string)), "id": .string(id),
            "include_text": .bool(includeText), "previous_secret_expires_at": JSONValue(previousSecretExpiresAt),
            "roles": .array(roles.map { .string($0.rawValue) }), "url": .string(url),
        ])
    }

    /// Whether an event of `type` heard by `audience` (see ``LogEntry/audience``) goes to this
    /// endpoint (enabled or not).
    public func subscribes(to type: String, audience: [ThreadName]?, policy: AccessPolicy) -> Bool {
        guard events.contains("*") || events.contains(type) else { return false }
        return mayHear(audience: audience, policy: policy)
    }

    /// Whether one of its roles may read one of the `audience` threads; case-wide entries
    /// (nil) only reach case manager and admin endpoints.
    public func mayHear(audience: [ThreadName]?, policy: AccessPolicy) -> Bool {
        guard let audience else { return roles.contains(.admin) || roles.contains(.caseManager) }
        return roles.contains { role in audience.contains { policy.canAccess(role, thread: $0) } }
    }
}

/// What `POST /v1/endpoints` asks for.
public struct NewEndpoint: Sendable {
    public var url: String
    public var description: String
    public var events: [String]
    public var roles: [Role]
    public var includeText: Bool

    public init(url: String, description: String, events: [String], roles: [Role], includeText: Bool) {
        self.url = url
        self.description = description
        self.events = events
        self.roles = roles
        self.includeText = includeText
    }
}

/// What `PATCH /v1/endpoints/{id}` may change; nil leaves a field as it is.
public struct EndpointChange: Sendable {
    public var url: String?
    public var description: String?
    public var events: [String]?
    public var roles: [Role]?
    public var enabled: Bool?
    public var includeText: Bool?

    public init(
        url: String? = nil, description: String? = nil, events: [String]? = nil, roles: [Role]? = nil, enabled: Bool? = nil,
        includeText: Bool? = nil
    ) {
        self.url = url
        self.description = description
        self.events = events
        self.roles = roles
        self.enabled = enabled
        self.includeText = includeText
    }
}

/// The event types a webhook endpoint can subscribe to.
public enum WebhookEvents {
    /// Events of message changes: the delivery engine sends these now.
    public static let messageEvents: [LogEntryType] = [.messagePosted, .messageRelayed, .messageAcked, .messageEdited, .messageRedacted]
    /// Care-plan events: notices, and the milestone done, cancelled or moved.
    public static let milestoneEvents: [LogEntryType] = [
        .milestoneReminder, .milestoneDue, .milestoneOverdue, .milestoneDone, .milestoneCancelled, .milestoneRescheduled,
    ]
    /// Escalations to the case manager: a message nobody acknowledged, an undecided authorization.
    public static let escalationEvents: [LogEntryType] = [.messageEscalated]

    public static let all: Set<String> = Set((messageEvents + milestoneEvents + escalationEvents).map(\.rawValue))
}
