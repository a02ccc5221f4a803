import CaseHubCore


/// The scheduler's side of the store. A firing is a row until it is acted on; acting deletes
/// the row in the transaction that logs, posts and notifies, so each firing happens exactly
/// once: a crash before the commit leaves the row to fire after the restart, one after it
/// leaves nothing to repeat.
extension SQLStore {
    public func dueFirings(nowMillis: UInt64, limit: Int) async throws -> [DueFiring] {
        try await read { db in
            let rows = try db.rows(
                "SELECT id, case_id, purpose, detail, subject_id FROM firings WHERE fire_at_ms <= ? ORDER BY fire_at_ms, id LIMIT ?",
                [Int64(nowMillis), limit])
            return try rows.compactMap { row in
                let caseId: String = row[1]
                let subjectId: String = row[4]
                guard let purpose = FiringPurpose(rawValue: row[2]) else { throw CorruptRow(description: "firings: unknown purpose") }
                // Escalations are read in the transaction that acts on them; a milestone's
                // notice is written beforehand, so the milestone is read here.
                let milestone = purpose.isMilestoneNotice ? try Self.loadMilestone(caseId: caseId, id: subjectId, db: db) : nil
                return DueFiring(
                    id: row[0], caseId: caseId, purpose: purpose, detail: row[3], subjectId: subjectId,
                    milestone: milestone, threadLocales: try self.threadLocales(caseId: caseId, threads: milestone?.audience ?? [], db: db))
            }
        }
    }

    public func nextFiringMillis() async throws -> UInt64? {
        try await read { db in
            try db.row("SELECT fire_at_ms FROM firings ORDER BY fire_at_ms LIMIT 1").map { UInt64($0[0] as Int64) }
        }
    }

    public func firingsPlanned() async {
        await firingsBell.wait()
    }

    public func fire(_ firing: DueFiring, posts: [ThreadName: String], nowMillis: UInt64) async throws -> Bool {
        try await changeCase(firing.caseId, requireOpen: false) { log, db in
            // Gone: already fired by another worker, or cancelled by an ack, a decision, a change.
            guard try db.row("DELETE FROM firings WHERE id = ? RETURNING id", [firing.id]) != nil else { return false }
            // A closed case is finished with: its remaining firings lapse.
            guard log.status == .open else { return false }
            // The entry's time never runs behind the entries already in the log.
            let at = Timestamp.format(millis: max(nowMillis, Timestamp.nowMillis()))
            switch firing.purpose {
            case .milestoneReminder, .milestoneDue, .milestoneOverdue:
                return try self.fireMilestone(firing, posts: posts, nowMillis: nowMillis, at: at, log: &log, db: db)
            case .ackEscalation:
                return try self.escalateUnacknowledged(firing, nowMillis: nowMillis, at: at, log: &log, db: db)
            case .authorizationEscalation:
                return try self.escalateUndecided(firing, at: at, log: &log, db: db)
            }
        }
    }

    // MARK: - Firing

    /// A reminder, due or overdue notice: the status moves on, an entry is logged, a
    /// `milestone` message is posted to each audience thread, the audience's family and patient
    /// participants are e-mailed, and when overdue the case manager too, at once.
    /// A reminder that comes due only after the milestone itself (the hub was down) is
    /// dropped: it would arrive after the fact, beside the due notice.
    private func fireMilestone(
        _ firing: DueFiring, posts: [ThreadName: String], nowMillis: UInt64, at: String, log: inout LogAppender, db: any SQLSession
    ) throws -> Bool {
        guard var milestone = try Self.loadMilestone(caseId: firing.caseId, id: firing.subjectId, db: db) else { return false }
        if firing.purpose == .milestoneReminder, nowMillis >= milestone.dueMillis { return false }
        var lifecycle = MilestoneLifecycle(status: milestone.status)
        let (event, type): (MilestoneLifecycle.Event, LogEntryType) =
            switch firing.purpose {
            case .milestoneReminder: (.remind, .milestoneReminder)
            case .milestoneDue: (.becomeDue, .milestoneDue)
            default: (.becomeOverdue, .milestoneOverdue)
            }
        guard try lifecycle.apply(event) == .applied else { return false }
        milestone.status = lifecycle.status
        try Self.saveStatus(of: milestone, db: db)
        var data = Self.milestoneFacts(of: milestone)
        if let reminder = firing.detail, type == .milestoneReminder { data["reminder"] = .string(reminder) }
        let entry = try log.append(
            LogDraft(type: type, thread: nil, parentSeq: milestone.seq, actor: .hub, data: data, content: ["title": .string(milestone.title)]),
            at: at)
        let eventName = String(type.rawValue.dropFirst("milestone.".count))
        for thread in milestone.audience {
            guard let body = posts[thread] else { continue }
            var messageData: [String: JSONValue] = [
                "milestone_id": .string(milestone.id), "event": .string(eventName), "due_at": .string(milestone.dueAt),
                "milestone_kind": .string(milestone.kind.rawValue),
            ]
            if let reminder = data["reminder"] { messageData["reminder"] = reminder }
            _ = try Self.insertMessage(
                NewMessage(
                    body: body, kind: .milestone, data: .object(messageData), replyTo: nil, priority: type == .milestoneOverdue ? .urgent : .routine,
                    requiresAck: false),
                id: Identifier.make(), caseId: milestone.caseId, thread: thread, author: .hub, parentSeq: entry.seq, relayedFrom: nil,
                relayNote: nil, at: at, log: &log, db: db)
        }
        let overdue = type == .milestoneOverdue
        log.notifications.append(
            NotificationIntent(entrySeq: entry.seq, channel: .email, roles: [.family, .patient], threads: milestone.audience, urgent: overdue, reason: "milestone"))
        if overdue, coordination.escalationChannels.contains(.email) {
            log.notifications.append(
                NotificationIntent(entrySeq: entry.seq, channel: .email, roles: [.caseManager], threads: nil, urgent: true, reason: "escalation"))
        }
        return true
    }

    /// A message still without an ack: tell the case manager, and plan the next round.
    private func escalateUnacknowledged(_ firing: DueFiring, nowMillis: UInt64, at: String, log: inout LogAppender, db: any SQLSession) throws -> Bool {
        guard let message = try Self.loadMessage(caseId: firing.caseId, id: firing.subjectId, db: db), !message.redacted,
            try !Self.acknowledged(Self.family(of: Self.original(of: message, db: db), db: db))
        else { return false }
        let round = firing.detail.flatMap(Int.init) ?? 1
        try escalate(message, reason: "ack_timeout", round: round, at: at, log: &log, db: db)
        if round < coordination.ackEscalationLimit {
            try Self.plan(
                [PlannedFiring(purpose: .ackEscalation, detail: String(round + 1), atMillis: nowMillis + coordination.ackEscalationIntervalMillis)],
                subjectId: message.id, caseId: message.caseId, log: &log, db: db)
        }
        return true
    }

    /// An authorization request with no final decision by its `due_at`.
    private func escalateUndecided(_ firing: DueFiring, at: String, log: inout LogAppender, db: any SQLSession) throws -> Bool {
        guard let request = try Self.loadMessage(caseId: firing.caseId, id: firing.subjectId, db: db), !request.redacted,
            var state = request.authorization, !state.status.isFinal
        else { return false }
        state.escalatedAt = at
        try Self.setAuthorization(state, onFamilyOf: request, db: db)
        try escalate(request, reason: "authorization_overdue", round: 1, at: at, log: &log, db: db)
        return true
    }

    /// A `message.escalated` entry under the message, for the case manager alone (no thread),
    /// e-mailed to the case manager at once when the configuration says so; endpoints hear of it
    /// through their subscriptions.
    private func escalate(_ message: Message, reason: String, round: Int, at: String, log: inout LogAppender, db: any SQLSession) throws {
        let entry = try log.append(
            LogDraft(
                type: .messageEscalated, thread: nil, parentSeq: message.seq, actor: .hub,
                data: [
                    "message_id": .string(message.id), "thread": .string(message.thread.rawValue), "kind": .string(message.kind.rawValue),
                    "reason": .string(reason), "round": JSONValue(round),
                ]),
            at: at)
        if coordination.escalationChannels.contains(.email) {
            log.notifications.append(
                NotificationIntent(entrySeq: entry.seq, channel: .email, roles: [.caseManager], threads: nil, urgent: true, reason: "escalation"))
        }
    }

    // MARK: - Planning

    static func plan(_ firings: [PlannedFiring], subjectId: String, caseId: String, log: inout LogAppender, db: any SQLSession) throws {
        for firing in firings {
            try db.run(
                "INSERT INTO firings (id, case_id, subject_id, purpose, detail, fire_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
                [Identifier.make(), caseId, subjectId, firing.purpose.rawValue, firing.detail, Int64(firing.atMillis)])
        }
        if !firings.isEmpty { log.plannedFirings = true }
    }

    /// Drops what is planned for `subjectId`: every firing, or those of one purpose.
    static func dropFirings(of subjectId: String, purpose: FiringPurpose? = nil, db: any SQLSession) throws {
        if let purpose {
            try db.run("DELETE FROM firings WHERE subject_id = ? AND purpose = ?", [subjectId, purpose.rawValue])
        } else {
            try db.run("DELETE FROM firings WHERE subject_id = ?", [subjectId])
        }
    }

    static func hasFiring(of subjectId: String, purpose: FiringPurpose, db: any SQLSession) throws -> Bool {
        try db.row("SELECT 1 FROM firings WHERE subject_id = ? AND purpose = ?", [subjectId, purpose.rawValue]) != nil
    }

    /// See ``DueFiring/threadLocales``.
    private func threadLocales(caseId: String, threads: [ThreadName], db: any SQLSession) throws -> [ThreadName: String] {
        guard !threads.isEmpty else { return [:] }
        let readers = try db.fetch("SELECT role, locale FROM participants WHERE case_id = ? AND role != 'case_manager' AND removed_at IS NULL", [caseId]) { row in
            (Role(rawValue: row[0] as String), row[1] as String)
        }
        var locales: [ThreadName: String] = [:]
        for thread in threads {
            let spoken = Set(readers.filter { role, _ in role.map { outbox.policy.canAccess($0, thread: thread) } ?? false }.map(\.1))
            locales[thread] = spoken.count == 1 ? spoken.first! : "id"
        }
        return locales
    }
}
