import CaseHubCore

import Synchronization

extension SQLStore {
    public func postMessage(
        _ new: NewMessage, caseId: String, thread: ThreadName, by actor: Actor, idempotency: IdempotencyKey?
    ) async throws -> PostOutcome {
        // A replay answers with the first message even once the case is closed.
        try await changeCase(caseId, requireOpen: false) { log, db in
            let nowMillis = Timestamp.nowMillis()
            if let idempotency, let earlier = try Self.rememberedMessage(for: idempotency, nowMillis: nowMillis, db: db) {
                guard earlier.repeats(new, caseId: caseId, thread: thread) else {
                    throw CaseHubError.conflict("Idempotency-Key was already used for a different message (another case, thread, kind or text)")
                }
                return .replayed(earlier)
            }
            try log.requireOpen()
            var parentSeq: Int?
            if let replyTo = new.replyTo {
                guard let parent = try Self.loadMessage(caseId: caseId, id: replyTo, db: db), parent.thread == thread else {
                    throw CaseHubError.invalidRequest(field: "reply_to", "no such message in this thread")
                }
                parentSeq = parent.seq
            }
            let rules = self.coordination.routing.filter { $0.matches(thread: thread, kind: new.kind, priority: new.priority) }
            var new = new
            if rules.contains(where: \.requireAck) { new.requiresAck = true }
            let request =
                try new.kind == .authorizationDecision ? self.authorizationRequest(for: new.data, caseId: caseId, decider: actor, db: db) : nil
            let (message, rendered) = try Self.insertMessage(
                new, id: Identifier.make(), caseId: caseId, thread: thread, author: actor, parentSeq: parentSeq,
                relayedFrom: nil, relayNote: nil, at: Timestamp.format(millis: nowMillis), log: &log, db: db)
            try self.followUp(message, rules: rules, decides: request, nowMillis: nowMillis, log: &log, db: db)
            if let idempotency { try self.remember(idempotency, messageId: message.id, nowMillis: nowMillis, db: db) }
            return .created(message, json: .canonical(rendered))
        }
    }

    public func message(caseId: String, id: String) async throws -> Message? {
        try await read { db in try Self.loadMessage(caseId: caseId, id: id, db: db) }
    }

    public func messages(caseId: String, thread: ThreadName, query: MessageQuery) async throws -> MessagePage {
        let page = try await read { db in
            guard let logSeq = try db.int("SELECT log_seq FROM cases WHERE id = ?", [caseId]) else { throw CaseHubError.caseNotFound }
            let lower = query.after ?? 0
            let upper = query.before ?? Int.max
            if query.after == nil, query.before != nil {
                // Scrolling back from `before`: the newest `limit` messages below it.
                let newestFirst = try db.fetch(
                    "SELECT seq, rendered FROM messages WHERE case_id = ? AND thread = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                    [caseId, thread.rawValue, upper, query.limit + 1], as: RowDecoding.renderedMessage)
                return MessagePage(
                    messages: newestFirst.prefix(query.limit).reversed(), hasMore: newestFirst.count > query.limit, logSeq: logSeq)
            }
            let messages = try db.fetch(
                "SELECT seq, rendered FROM messages WHERE case_id = ? AND thread = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?",
                [caseId, thread.rawValue, lower, upper, query.limit + 1], as: RowDecoding.renderedMessage)
            return MessagePage(messages: Array(messages.prefix(query.limit)), hasMore: messages.count > query.limit, logSeq: logSeq)
        }
        caseHeads?.raise(caseId, to: page.logSeq)
        return page
    }

    public func editMessage(caseId: String, id: String, body: String, by actor: Actor) async throws -> Message {
        try await changeCase(caseId) { log, db in
            var message = try Self.requireMessage(caseId: caseId, id: id, db: db)
            guard message.author.id == actor.id else { throw CaseHubError.forbidden("only the author may edit a message") }
            guard !message.redacted else { throw CaseHubError.conflict("the message has been redacted") }
            let now = Timestamp.now()
            try log.append(
                LogDraft(
                    type: .messageEdited, thread: message.thread, parentSeq: message.seq, actor: actor,
                    data: ["message_id": .string(id)], content: ["body": .string(body)]),
                at: now)
            message.body = body
            message.editedAt = now
            try Self.saveChanges(to: message, db: db)
            return message
        }
    }

    public func redactMessage(caseId: String, id: String, by actor: Actor, reason: String?) async throws -> Message {
        try await changeCase(caseId) { log, db in
            let message = try Self.requireMessage(caseId: caseId, id: id, db: db)
            guard !message.redacted else { return message }
            return try Self.redact(message, reason: reason, copyOf: nil, by: actor, at: Timestamp.now(), log: &log, db: db)
        }
    }

    public func relayMessage(
        caseId: String, id: String, to thread: ThreadName, note: String?, by actor: Actor, idempotency: IdempotencyKey?
    ) async throws -> PostOutcome {
        // A replay answers with the first copy even once the case is closed, as posts do.
        try await changeCase(caseId, requireOpen: false) { log, db in
            if let idempotency, let earlier = try Self.rememberedMessage(for: idempotency, nowMillis: Timestamp.nowMillis(), db: db) {
                guard earlier.caseId == caseId, earlier.thread == thread, earlier.relayedFrom == id else {
                    throw CaseHubError.conflict("Idempotency-Key was already used for something other than relaying this message into that thread")
                }
                return .replayed(earlier)
            }
            try log.requireOpen()
            let source = try Self.requireMessage(caseId: caseId, id: id, db: db)
            guard !source.redacted else { throw CaseHubError.conflict("the message has been redacted") }
            guard source.thread != thread else { throw CaseHubError.invalidRequest(field: "to", "the message is already in that thread") }
            let nowMillis = Timestamp.nowMillis()
            // A person's relay is a post into the target thread: the rules apply to it there.
            let rules = self.coordination.routing.filter { $0.matches(thread: thread, kind: source.kind, priority: source.priority) }
            let copy = try Self.relay(
                source, to: thread, note: note, by: actor, requiresAck: source.requiresAck || rules.contains(where: \.requireAck),
                at: Timestamp.format(millis: nowMillis), log: &log, db: db)
            try self.followUp(copy, rules: rules, decides: nil, nowMillis: nowMillis, log: &log, db: db)
            if let idempotency { try self.remember(idempotency, messageId: copy.id, nowMillis: nowMillis, db: db) }
            let stored = try Self.requireMessage(caseId: caseId, id: copy.id, db: db)
            return .created(stored, json: stored.json)
        }
    }

    public func ackMessage(caseId: String, id: String, by actor: Actor) async throws -> Message {
        try await changeCase(caseId) { log, db in
            var message = try Self.requireMessage(caseId: caseId, id: id, db: db)
            guard !message.redacted else { throw CaseHubError.conflict("the message has been redacted") }
            guard !message.acks.contains(where: { $0.by == actor.id }) else { return message }
            let now = Timestamp.now()
            try log.append(
                LogDraft(type: .messageAcked, thread: message.thread, parentSeq: message.seq, actor: actor, data: ["message_id": .string(id)]),
                at: now)
            message.acks.append(Message.Ack(by: actor.id, at: now))
            try Self.saveChanges(to: message, db: db)
            // Closed loop: the first acknowledgement by someone other than the author, on the
            // message or any copy of it, stops the escalations.
            if actor.id != message.author.id { try Self.closeAckLoop(of: message, db: db) }
            return message
        }
    }

    // MARK: - Helpers

    /// Erases a message's text everywhere it is held: the message itself, the log entries that
    /// carried its text (posted, edited), notes of relays from or to it, and, the same way,
    /// every relayed copy of it. The chain keeps only the digests, so it still verifies.
    static func redact(
        _ message: Message, reason: String?, copyOf source: String?, by actor: Actor, at: String, log: inout LogAppender, db: any SQLSession
    ) throws -> Message {
        var data: [String: JSONValue] = ["message_id": .string(message.id)]
        if let reason { data["reason"] = .string(reason) }
        if let source { data["copy_of"] = .string(source) }
        try log.append(LogDraft(type: .messageRedacted, thread: message.thread, parentSeq: message.seq, actor: actor, data: data), at: at)
        try db.run(
            """
            UPDATE log_entries SET content = NULL
            WHERE case_id = ? AND (seq = ? OR (parent_seq = ? AND type IN ('message.edited', 'message.relayed'))
                OR (type = 'message.relayed' AND seq = (SELECT parent_seq FROM log_entries WHERE case_id = ? AND seq = ?)))
            """,
            [message.caseId, message.seq, message.seq, message.caseId, message.seq])
        let copies = try db.fetch(
            "SELECT \(Columns.message) FROM messages WHERE case_id = ? AND relayed_from = ? AND redacted = 0", [message.caseId, message.id],
            as: RowDecoding.messageValue)
        for copy in copies {
            _ = try redact(copy, reason: reason, copyOf: message.id, by: actor, at: at, log: &log, db: db)
        }
        var redacted = message
        redacted.body = ""
        redacted.data = [:]
        redacted.relayNote = nil
        redacted.redacted = true
        try saveChanges(to: redacted, db: db)
        return redacted
    }

    /// Copies `source` into `thread`: a `message.relayed` entry under the source, then the copy
    /// (with `relayed_from`) under that entry. `detail` adds to the relayed entry's data;
    /// `requiresAck` overrides the source's flag.
    static func relay(
        _ source: Message, to thread: ThreadName, note: String?, by actor: Actor, detail: [String: JSONValue] = [:], requiresAck: Bool? = nil,
        at: String, log: inout LogAppender, db: any SQLSession
    ) throws -> Message {
        let copyId = Identifier.make()
        var data: [String: JSONValue] = ["message_id": .string(source.id), "to": .string(thread.rawValue), "relayed_message_id": .string(copyId)]
        data.merge(detail) { first, _ in first }
        let relayed = try log.append(
            LogDraft(
                type: .messageRelayed, thread: source.thread, parentSeq: source.seq, actor: actor, data: data,
                content: note.map { ["note": .string($0)] }),
            at: at)
        let copy = NewMessage(
            body: source.body, kind: source.kind, data: try dataOfCopy(of: source, in: thread, db: db), replyTo: nil, priority: source.priority,
            requiresAck: requiresAck ?? source.requiresAck)
        var (message, _) = try insertMessage(
            copy, id: copyId, caseId: source.caseId, thread: thread, author: actor, parentSeq: relayed.seq, relayedFrom: source.id,
            relayNote: note, at: at, log: &log, db: db)
        if let state = source.authorization, message.authorization != state {
            message.authorization = state
            try saveChanges(to: message, db: db)
        }
        return message
    }

    /// Appends the `message.posted` entry and stores the message with that entry's `seq`.
    /// - Returns: the message and its API JSON as stored.
    static func insertMessage(
        _ new: NewMessage, id: String, caseId: String, thread: ThreadName, author: Actor, parentSeq: Int?, relayedFrom: String?,
        relayNote: String?, at: String, log: inout LogAppender, db: any SQLSession
    ) throws -> (message: Message, rendered: String) {
        let entry = try log.append(
            LogDraft(
                type: .messagePosted, thread: thread, parentSeq: parentSeq, actor: author,
                data: [
                    "message_id": .string(id), "kind": .string(new.kind.rawValue), "priority": .string(new.priority.rawValue),
                    "requires_ack": .bool(new.requiresAck), "reply_to": JSONValue(new.replyTo), "relayed_from": JSONValue(relayedFrom),
                ],
                content: ["body": .string(new.body), "data": new.data]),
            at: at)
        let message = Message(
            id: id, caseId: caseId, thread: thread, seq: entry.seq, author: author, kind: new.kind, body: new.body, data: new.data,
            replyTo: new.replyTo, relayedFrom: relayedFrom, relayNote: relayNote, priority: new.priority, requiresAck: new.requiresAck,
            acks: [], createdAt: at, editedAt: nil, redacted: false,
            authorization: new.kind == .authorizationRequest ? .requested : nil)
        let rendered = message.json.canonicalString
        try db.run(
            """
            INSERT INTO messages (id, case_id, thread, seq, author_id, author_role, author_name, kind, body, data, reply_to,
                relayed_from, relay_note, priority, requires_ack, acks, created_at, edited_at, redacted, rendered, "authorization")
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, NULL, 0, ?, ?)
            """,
            [
                id, caseId, thread.rawValue, entry.seq, author.id, author.role, author.name, new.kind.rawValue, new.body,
                new.data.canonicalString, new.replyTo, relayedFrom, relayNote, new.priority.rawValue, new.requiresAck, at,
                rendered, message.authorization?.json.canonicalString,
            ])
        return (message, rendered)
    }

    /// Writes a changed message back: the columns that can change and its rendered JSON,
    /// together, so the two never disagree.
    static func saveChanges(to message: Message, db: any SQLSession) throws {
        try db.run(
            """
            UPDATE messages SET body = ?, data = ?, relay_note = ?, acks = ?, edited_at = ?, redacted = ?, rendered = ?, "authorization" = ?
            WHERE id = ?
            """,
            [
                message.body, message.data.canonicalString, message.relayNote, acksJSON(message.acks), message.editedAt, message.redacted,
                message.json.canonicalString, message.authorization?.json.canonicalString, message.id,
            ])
    }

    /// Remembers which message an idempotency key made, for 24 hours; now and then sweeps out
    /// the keys older than that.
    func remember(_ key: IdempotencyKey, messageId: String, nowMillis: UInt64, db: any SQLSession) throws {
        try db.run(
            """
            INSERT INTO idempotency_keys (token_id, key, message_id, created_ms) VALUES (?, ?, ?, ?)
            ON CONFLICT (token_id, key) DO UPDATE SET message_id = excluded.message_id, created_ms = excluded.created_ms
            """,
            [key.tokenId, key.key, messageId, Int64(nowMillis)])
        if keySweep.rememberedOne() {
            try db.run("DELETE FROM idempotency_keys WHERE created_ms <= ?", [Int64(nowMillis) - Int64(IdempotencyKey.lifetimeMillis)])
        }
    }

    static func rememberedMessage(for key: IdempotencyKey, nowMillis: UInt64, db: any SQLSession) throws -> Message? {
        guard
            let row = try db.row(
                "SELECT message_id FROM idempotency_keys WHERE token_id = ? AND key = ? AND created_ms > ?",
                [key.tokenId, key.key, Int64(nowMillis) - Int64(IdempotencyKey.lifetimeMillis)])
        else { return nil }
        return try db.row("SELECT \(Columns.message) FROM messages WHERE id = ?", [row[0] as String]).map(RowDecoding.messageValue)
    }

    static func loadMessage(caseId: String, id: String, db: any SQLSession) throws -> Message? {
        try db.row("SELECT \(Columns.message) FROM messages WHERE id = ? AND case_id = ?", [id, caseId]).map(RowDecoding.messageValue)
    }

    static func requireMessage(caseId: String, id: String, db: any SQLSession) throws -> Message {
        guard let message = try loadMessage(caseId: caseId, id: id, db: db) else { throw CaseHubError.messageNotFound }
        return message
    }

    static func acksJSON(_ acks: [Message.Ack]) -> String {
        JSONValue.array(acks.map { ["by": .string($0.by), "at": .string($0.at)] }).canonicalString
    }
}
