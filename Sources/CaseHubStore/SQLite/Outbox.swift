import CaseHubCore
import GRDB
import Synchronization

/// Queues the deliveries a command's log entries cause, in the command's own transaction: a
/// message is never stored without its notifications, nor a notification queued for a
/// message that was not stored. Each causing entry that queued anything gets one
/// `notification.queued` entry under it, naming every delivery and its target.
final class Outbox: Sendable {
    let policy: AccessPolicy
    /// The enabled endpoints, read once and kept until an endpoint changes.
    private let cachedEndpoints = Mutex<[WebhookEndpoint]?>(nil)

    /// Threads that family or patient participants may read: only posts there send e-mail.
    private let emailThreads: Set<ThreadName>

    init(policy: AccessPolicy) {
        self.policy = policy
        self.emailThreads = Set(ThreadName.allCases.filter { policy.canAccess(.family, thread: $0) || policy.canAccess(.patient, thread: $0) })
    }

    /// Forgets the cached endpoints; call in the transaction that changes one (so later
    /// commands of its group see the change) and again after it (so a rollback is not kept).
    func endpointsChanged() {
        cachedEndpoints.withLock { $0 = nil }
    }

    /// Returns whether anything was queued.
    func enqueue(for entries: [LogEntry], log: inout LogAppender, db: Database) throws -> Bool {
        var queuedAny = false
        for entry in entries where WebhookEvents.messageEventTypes.contains(entry.type) {
            var targets: [(channel: Delivery.Channel, target: String, endpointId: String?, participantId: String?)] = []
            for endpoint in try endpoints(db) where endpoint.subscribes(to: entry.type, thread: entry.thread, policy: policy) {
                targets.append((.webhook, endpoint.url, endpoint.id, nil))
            }
            if entry.type == LogEntryType.messagePosted.rawValue, let thread = entry.thread, emailThreads.contains(thread) {
                for (participantId, email) in try emailRecipients(of: entry, thread: thread, db: db) {
                    targets.append((.email, email, nil, participantId))
                }
            }
            guard !targets.isEmpty else { continue }
            let eventId = "evt_" + Identifier.make()
            let now = Timestamp.nowMillis()
            let createdAt = Timestamp.format(millis: now)
            var queued: [JSONValue] = []
            for target in targets {
                let id = Identifier.make(now: now)
                try db.run(
                    """
                    INSERT INTO deliveries (id, event_id, case_id, event_seq, event_type, thread, channel, endpoint_id, participant_id,
                        target, status, attempts, attempt_count, schedule_base, next_attempt_ms, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', '[]', 0, 0, ?, ?)
                    """,
                    [
                        id, eventId, entry.caseId, entry.seq, entry.type, entry.thread?.rawValue, target.channel.rawValue, target.endpointId,
                        target.participantId, target.target, Int64(now), createdAt,
                    ])
                queued.append(.members(["channel": .string(target.channel.rawValue), "id": .string(id), "target": .string(target.target)]))
            }
            try log.append(
                LogDraft(
                    type: .notificationQueued, thread: entry.thread, parentSeq: entry.seq, actor: .hub,
                    data: ["event_id": .string(eventId), "event_type": .string(entry.type), "deliveries": .array(queued)]),
                at: createdAt)
            queuedAny = true
        }
        return queuedAny
    }

    private func endpoints(_ db: Database) throws -> [WebhookEndpoint] {
        if let endpoints = cachedEndpoints.withLock({ $0 }) { return endpoints }
        let endpoints = try db.fetch("SELECT \(Columns.endpoint) FROM endpoints WHERE enabled = 1", as: SQLiteStore.endpointValue)
        cachedEndpoints.withLock { $0 = endpoints }
        return endpoints
    }

    /// Family and patient participants with an address who may read `thread`, except the
    /// author: they hear of a new message by e-mail.
    private func emailRecipients(of entry: LogEntry, thread: ThreadName, db: Database) throws -> [(String, String)] {
        let authorId = entry.actor["id"]?.stringValue
        return try db.fetch(
            "SELECT id, role, email FROM participants WHERE case_id = ? AND email IS NOT NULL AND role IN ('family', 'patient')",
            [entry.caseId], as: { row in (row[0] as String, row[1] as String, row[2] as String) }
        )
        .filter { id, role, _ in id != authorId && Role(rawValue: role).map { policy.canAccess($0, thread: thread) } == true }
        .map { id, _, email in (id, email) }
    }
}
