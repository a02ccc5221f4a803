import CaseHubCore


/// What a message a person posts sets in motion, in the transaction that stores it: the
/// routing rules of the configuration, the closed loop of `requires_ack`, and the state of
/// payer authorizations.
extension SQLStore {
    /// Runs after a person's message (or a person's relay of one) is stored.
    ///
    /// - Parameter decides: for an `authorization_decision`, the request it answers (the
    ///   original, never a relayed copy).
    func followUp(
        _ message: Message, rules: [RoutingRule], decides request: Message?, nowMillis: UInt64, log: inout LogAppender, db: any SQLSession
    ) throws {
        if message.requiresAck, coordination.ackEscalationLimit > 0, try !Self.ackLoopStarted(for: message, db: db) {
            try Self.plan(
                [PlannedFiring(purpose: .ackEscalation, detail: "1", atMillis: nowMillis + coordination.ackTimeoutMillis)],
                subjectId: message.id, caseId: message.caseId, log: &log, db: db)
        }
        if message.kind == .authorizationRequest, message.relayedFrom == nil, let due = StructuredData.authorizationDueMillis(message.data) {
            try Self.plan(
                [PlannedFiring(purpose: .authorizationEscalation, detail: nil, atMillis: due)], subjectId: message.id,
                caseId: message.caseId, log: &log, db: db)
        }
        if let request {
            try Self.decide(request, by: message, log: &log, db: db)
        }
        var copies: [ThreadName: Message] = [:]
        for rule in rules {
            try route(message, by: rule, copies: &copies, log: &log, db: db)
        }
    }

    /// Applies one rule: relays, then a `message.routed` entry naming what it changed, then
    /// its notifications, each to recipients in a thread their role may read.
    ///
    /// - Parameter copies: relays made for this message so far, so two rules relaying to one
    ///   thread make one copy.
    private func route(
        _ message: Message, by rule: RoutingRule, copies: inout [ThreadName: Message], log: inout LogAppender, db: any SQLSession
    ) throws {
        // A thread that already holds a copy of the same original gets no second one (its
        // readers heard of it when that copy was made).
        var family: [Message]?
        for target in rule.relayTo where target != message.thread && copies[target] == nil {
            if family == nil { family = try Self.family(of: Self.original(of: message, db: db), db: db) }
            if let existing = family?.first(where: { $0.thread == target }) {
                copies[target] = existing
                continue
            }
            copies[target] = try Self.relay(
                message, to: target, note: nil, by: .hub, detail: ["rule": .string(rule.name), "on_behalf_of": "case_manager"],
                at: Timestamp.now(), log: &log, db: db)
        }
        // Where each thread's readers hear of the message: the original, else the copy.
        let reachable: [Message] = [message] + rule.relayTo.compactMap { copies[$0] }
        // What the rule changed in the case is logged here; its notifications are logged by
        // their `notification.queued` entries, each delivery naming the rule as its reason.
        if rule.requireAck || !rule.relayTo.isEmpty {
            try log.append(
                LogDraft(
                    type: .messageRouted, thread: message.thread, parentSeq: message.seq, actor: .hub,
                    data: [
                        "rule": .string(rule.name), "message_id": .string(message.id), "requires_ack": .bool(rule.requireAck),
                        "relayed": .array(
                            rule.relayTo.compactMap { copies[$0] }.map {
                                .members(["message_id": .string($0.id), "thread": .string($0.thread.rawValue)])
                            }),
                    ]),
                at: Timestamp.now())
        }
        for notification in rule.notify {
            var unplaced = notification.roles
            for copy in reachable where !unplaced.isEmpty {
                let readers = unplaced.filter { outbox.policy.canAccess($0, thread: copy.thread) }
                guard !readers.isEmpty else { continue }
                unplaced.subtract(readers)
                log.notifications.append(
                    NotificationIntent(
                        entrySeq: copy.seq, channel: notification.channel, roles: readers, threads: [copy.thread],
                        urgent: message.priority == .urgent, reason: rule.name))
            }
        }
    }

    // MARK: - Authorizations

    /// The authorization request a decision names in `data.request_id`: the request itself or
    /// a relayed copy of it (the payer sees the copy in its thread), resolved to the original.
    /// The named message must sit in a thread the decider's role may read, and the request
    /// must still be open to a decision.
    func authorizationRequest(for data: JSONValue, caseId: String, decider: Actor, db: any SQLSession) throws -> Message {
        let notARequest = CaseHubError.invalidRequest(field: "data.request_id", "names no authorization request in this case")
        guard let id = data["request_id"]?.stringValue, let named = try Self.loadMessage(caseId: caseId, id: id, db: db) else { throw notARequest }
        if let role = Role(rawValue: decider.role), !outbox.policy.canAccess(role, thread: named.thread) { throw notARequest }
        let request = try Self.original(of: named, db: db)
        guard request.kind == .authorizationRequest, !request.redacted else { throw notARequest }
        if let status = request.authorization?.status, status.isFinal {
            throw CaseHubError.conflict("the authorization request is already \(status.rawValue)")
        }
        return request
    }

    /// The data of `source`'s copy in `thread`. A decision's copy names the request as that
    /// thread knows it (the request's own copy there), so its readers can open what it decides.
    static func dataOfCopy(of source: Message, in thread: ThreadName, db: any SQLSession) throws -> JSONValue {
        guard source.kind == .authorizationDecision, let id = source.data["request_id"]?.stringValue,
            let named = try loadMessage(caseId: source.caseId, id: id, db: db), named.thread != thread,
            let local = try family(of: original(of: named, db: db), db: db).first(where: { $0.thread == thread }),
            case .object(var members) = try source.data.parsed()
        else { return source.data }
        members["request_id"] = .string(local.id)
        return .object(members)
    }

    /// Sets the request's state (and its copies') from a decision, logs the change under the
    /// request, and ends the wait for a decision once it is final.
    private static func decide(_ request: Message, by decision: Message, log: inout LogAppender, db: any SQLSession) throws {
        guard let raw = decision.data["decision"]?.stringValue, let status = AuthorizationState.Status(rawValue: raw) else { return }
        var state = request.authorization ?? .requested
        let previous = state.status
        state.status = status
        state.decisionId = decision.id
        state.decidedAt = decision.createdAt
        try setAuthorization(state, onFamilyOf: request, db: db)
        try log.append(
            LogDraft(
                type: .authorizationDecided, thread: request.thread, parentSeq: request.seq, actor: decision.author,
                data: [
                    "request_id": .string(request.id), "decision_id": .string(decision.id), "from": .string(previous.rawValue),
                    "to": .string(status.rawValue),
                ]),
            at: decision.createdAt)
        if status.isFinal {
            try dropFirings(of: request.id, purpose: .authorizationEscalation, db: db)
        }
    }

    /// Writes an authorization request's state on it and on every copy of it, so each thread
    /// shows where the request stands.
    static func setAuthorization(_ state: AuthorizationState, onFamilyOf request: Message, db: any SQLSession) throws {
        for var message in try family(of: request, db: db) {
            message.authorization = state
            try saveChanges(to: message, db: db)
        }
    }

    // MARK: - Relayed copies

    /// The message a relayed copy was made from, following copies of copies.
    static func original(of message: Message, db: any SQLSession) throws -> Message {
        var current = message
        // Bounded: a chain of relays is at most one hop per thread.
        for _ in 0..<ThreadName.allCases.count {
            guard let source = current.relayedFrom, let parent = try loadMessage(caseId: current.caseId, id: source, db: db) else { break }
            current = parent
        }
        return current
    }

    /// `original` and every copy relayed from it, directly or through other copies.
    static func family(of original: Message, db: any SQLSession) throws -> [Message] {
        try db.fetch(
            """
            WITH RECURSIVE family(id) AS (
                SELECT ? UNION SELECT m.id FROM messages m JOIN family f ON m.relayed_from = f.id WHERE m.case_id = ?
            )
            SELECT \(Columns.message) FROM messages WHERE id IN (SELECT id FROM family) ORDER BY seq
            """,
            [original.id, original.caseId], as: RowDecoding.messageValue)
    }

    // MARK: - Closed loop

    /// Whether anyone other than its author has acknowledged the message or a copy of it.
    static func acknowledged(_ family: [Message]) -> Bool {
        family.contains { message in message.acks.contains { $0.by != message.author.id } }
    }

    /// Whether the message's family (the original and its copies) already has its closed loop:
    /// escalations planned, or an acknowledgement. One loop per family: an ack on any copy
    /// closes it.
    static func ackLoopStarted(for message: Message, db: any SQLSession) throws -> Bool {
        let family = try family(of: original(of: message, db: db), db: db)
        if acknowledged(family) { return true }
        return try family.contains { try hasFiring(of: $0.id, purpose: .ackEscalation, db: db) }
    }

    /// Ends the closed loop of the message's family: its planned escalations are dropped.
    static func closeAckLoop(of message: Message, db: any SQLSession) throws {
        for member in try family(of: original(of: message, db: db), db: db) {
            try dropFirings(of: member.id, purpose: .ackEscalation, db: db)
        }
    }
}
