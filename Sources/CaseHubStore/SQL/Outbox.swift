import CaseHubCore

import Synchronization

/// A notification a command asks for under one of its log entries, beyond what endpoint
/// subscriptions send: a routing rule's e-mail or webhook, a milestone's e-mail to its
/// audience, an escalation to the case manager.
struct NotificationIntent: Sendable {
    /// The causing entry, appended by the same command.
    var entrySeq: Int
    var channel: RoutingRule.Channel
    /// Recipients hold one of these roles ...
    var roles: Set<Role>
    /// ... and may read one of these threads (nil: no thread, as for escalations to the case manager).
    var threads: [ThreadName]?
    /// Urgent notifications ignore quiet hours.
    var urgent: Bool
    /// The rule or reason, kept on each delivery.
    var reason: String
}

/// Queues the deliveries a command's log entries cause, in the command's own transaction: a
/// message is never stored without its notifications, nor a notification queued for a
/// message that was not stored. Each causing entry that queued anything gets one
/// `notification.queued` entry under it, naming every delivery and its target.
///
/// Two sources: endpoint subscriptions (every event type an endpoint lists, in threads its
/// roles read) and the command's ``NotificationIntent``s. A recipient gets one delivery per
/// entry whatever asked for it, the first asker's reason kept.
final class Outbox: Sendable {
    let policy: AccessPolicy
    /// Whether escalations go to subscribed endpoints (`escalation_channels` holds `webhook`).
    private let escalationWebhooks: Bool
    /// The enabled endpoints, read once and kept until an endpoint changes.
    private let cachedEndpoints = Mutex<[WebhookEndpoint]?>(nil)

    /// Whether the enabled endpoints are kept between commands: only when this process is the
    /// only writer, so no other can change them unseen.
    private let cachesEndpoints: Bool

    init(policy: AccessPolicy, escalationChannels: Set<RoutingRule.Channel>, cachesEndpoints: Bool) {
        self.policy = policy
        self.cachesEndpoints = cachesEndpoints
        self.escalationWebhooks = escalationChannels.contains(.webhook)
    }

    /// Forgets the cached endpoints; call in the transaction that changes one (so later
    /// commands of its group see the change) and again after it (so a rollback is not kept).
    func endpointsChanged() {
        cachedEndpoints.withLock { $0 = nil }
    }

    private struct Target {
        var channel: Delivery.Channel
        var address: String
        var endpointId: String?
        var participantId: String?
        var reason: String?
        var heldUntilMillis: UInt64?
    }

    /// Returns whether anything was queued.
    func enqueue(for entries: [LogEntry], log: inout LogAppender, db: any SQLSession) throws -> Bool {
        var queuedAny = false
        let nowMillis = Timestamp.nowMillis()
        for entry in entries {
            var targets: [Target] = []
            if WebhookEvents.all.contains(entry.type), escalationWebhooks || entry.type != LogEntryType.messageEscalated.rawValue {
                for endpoint in try endpoints(db) where endpoint.subscribes(to: entry.type, audience: entry.audience, policy: policy) {
                    targets.append(Target(channel: .webhook, address: endpoint.url, endpointId: endpoint.id))
                }
            }
            for intent in log.notifications where intent.entrySeq == entry.seq {
                switch intent.channel {
                case .webhook:
                    for endpoint in try endpoints(db) where !targets.contains(where: { $0.endpointId == endpoint.id }) {
                        let roles = endpoint.roles.filter(intent.roles.contains)
                        guard !roles.isEmpty else { continue }
                        let heard = intent.threads.map { threads in roles.contains { role in threads.contains { policy.canAccess(role, thread: $0) } } }
                        guard heard ?? true else { continue }
                        targets.append(Target(channel: .webhook, address: endpoint.url, endpointId: endpoint.id, reason: intent.reason))
                    }
                case .email:
                    for recipient in try emailRecipients(of: entry, intent: intent, db: db)
                    where !targets.contains(where: { $0.participantId == recipient.id }) {
                        let held = intent.urgent ? nil : recipient.preferences.quietHours?.endOfQuiet(atMillis: nowMillis)
                        targets.append(
                            Target(
                                channel: .email, address: recipient.email ?? "", participantId: recipient.id, reason: intent.reason,
                                heldUntilMillis: held))
                    }
                }
            }
            guard !targets.isEmpty else { continue }
            try queue(targets, for: entry, nowMillis: nowMillis, log: &log, db: db)
            queuedAny = true
        }
        return queuedAny
    }

    private func queue(_ targets: [Target], for entry: LogEntry, nowMillis: UInt64, log: inout LogAppender, db: any SQLSession) throws {
        let eventId = "evt_" + Identifier.make()
        let createdAt = Timestamp.format(millis: nowMillis)
        var queued: [JSONValue] = []
        for target in targets {
            let id = Identifier.make(now: nowMillis)
            try db.run(
                """
                INSERT INTO deliveries (id, event_id, case_id, event_seq, event_type, thread, channel, endpoint_id, participant_id,
                    target, status, attempts, attempt_count, schedule_base, next_attempt_ms, created_at, routed_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', '[]', 0, 0, ?, ?, ?)
                """,
                [
                    id, eventId, entry.caseId, entry.seq, entry.type, entry.thread?.rawValue, target.channel.rawValue, target.endpointId,
                    target.participantId, target.address, Int64(target.heldUntilMillis ?? nowMillis), createdAt, target.reason,
                ])
            var summary: [String: JSONValue] = ["channel": .string(target.channel.rawValue), "id": .string(id), "target": .string(target.address)]
            if let reason = target.reason { summary["reason"] = .string(reason) }
            if let held = target.heldUntilMillis { summary["held_until"] = .string(Timestamp.format(millis: held)) }
            queued.append(.object(summary))
        }
        try log.append(
            LogDraft(
                type: .notificationQueued, thread: entry.thread, parentSeq: entry.seq, actor: .hub,
                data: ["event_id": .string(eventId), "event_type": .string(entry.type), "deliveries": .array(queued)]),
            at: createdAt)
    }

    private func endpoints(_ db: any SQLSession) throws -> [WebhookEndpoint] {
        if cachesEndpoints, let endpoints = cachedEndpoints.withLock({ $0 }) { return endpoints }
        let endpoints = try db.fetch("SELECT \(Columns.endpoint) FROM endpoints WHERE enabled = 1", as: RowDecoding.endpointValue)
        if cachesEndpoints { cachedEndpoints.withLock { $0 = endpoints } }
        return endpoints
    }

    /// Participants the intent names, with an address and e-mail on, except whoever caused
    /// the entry.
    private func emailRecipients(of entry: LogEntry, intent: NotificationIntent, db: any SQLSession) throws -> [Participant] {
        let authorId = entry.actor["id"]?.stringValue
        return try db.fetch(
            "SELECT \(Columns.participant) FROM participants WHERE case_id = ? AND email IS NOT NULL AND email_enabled = 1 AND removed_at IS NULL ORDER BY id",
            [entry.caseId], as: RowDecoding.participantValue
        )
        .filter { participant in
            guard participant.id != authorId, intent.roles.contains(participant.role) else { return false }
            guard let threads = intent.threads else { return true }
            return threads.contains { policy.canAccess(participant.role, thread: $0) }
        }
    }
}
