import CaseHubCore


extension SQLStore {
    public func createMilestone(_ new: NewMilestone, caseId: String, by actor: Actor) async throws -> Milestone {
        try await changeCase(caseId) { log, db in
            let nowMillis = Timestamp.nowMillis()
            let now = Timestamp.format(millis: nowMillis)
            let id = Identifier.make(now: nowMillis)
            guard let dueMillis = Timestamp.parseMillis(new.dueAt) else { throw CaseHubError.invalidRequest(field: "due_at", "is not an RFC 3339 time") }
            let created = try log.append(
                LogDraft(
                    type: .milestoneCreated, thread: nil, parentSeq: LogAppender.caseOpenedSeq, actor: actor,
                    data: Self.milestoneFacts(id: id, kind: new.kind, dueAt: new.dueAt, audience: new.audience).merging(
                        ["reminders": .array(new.reminders.map { .string($0.text) })], uniquingKeysWith: { first, _ in first }),
                    content: ["title": .string(new.title)]),
                at: now)
            let milestone = Milestone(
                id: id, caseId: caseId, title: new.title, kind: new.kind, dueAt: new.dueAt, audience: new.audience, reminders: new.reminders,
                status: .planned, completedAt: nil, createdAt: now, seq: created.seq)
            try db.run(
                """
                INSERT INTO milestones (id, case_id, seq, title, kind, due_at, due_ms, audience, reminders, status, completed_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', NULL, ?)
                """,
                [
                    id, caseId, created.seq, new.title, new.kind.rawValue, new.dueAt, Int64(dueMillis),
                    Self.jsonArray(new.audience.map(\.rawValue)), Self.jsonArray(new.reminders.map(\.text)), now,
                ])
            try Self.plan(
                milestone.plannedFirings(nowMillis: nowMillis, overdueGraceMillis: self.coordination.overdueGraceMillis), subjectId: id,
                caseId: caseId, log: &log, db: db)
            return milestone
        }
    }

    public func milestones(caseId: String) async throws -> [Milestone] {
        try await read { db in
            guard try db.row("SELECT 1 FROM cases WHERE id = ?", [caseId]) != nil else { throw CaseHubError.caseNotFound }
            return try db.fetch("SELECT \(Columns.milestone) FROM milestones WHERE case_id = ? ORDER BY due_ms, id", [caseId], as: RowDecoding.milestoneValue)
        }
    }

    public func milestone(caseId: String, id: String) async throws -> Milestone? {
        try await read { db in try Self.loadMilestone(caseId: caseId, id: id, db: db) }
    }

    public func changeMilestone(caseId: String, id: String, _ change: MilestoneChange, by actor: Actor) async throws -> Milestone {
        try await changeCase(caseId) { log, db in
            guard var milestone = try Self.loadMilestone(caseId: caseId, id: id, db: db) else { throw CaseHubError.notFound("no such milestone") }
            var lifecycle = MilestoneLifecycle(status: milestone.status)
            let nowMillis = Timestamp.nowMillis()
            let now = Timestamp.format(millis: nowMillis)
            if let dueAt = change.dueAt, dueAt != milestone.dueAt {
                _ = try lifecycle.apply(.reschedule)
                let previous = milestone.dueAt
                milestone.dueAt = dueAt
                milestone.status = lifecycle.status
                try Self.dropFirings(of: id, db: db)
                if change.status == nil {
                    try Self.plan(
                        milestone.plannedFirings(nowMillis: nowMillis, overdueGraceMillis: self.coordination.overdueGraceMillis),
                        subjectId: id, caseId: caseId, log: &log, db: db)
                }
                try log.append(
                    LogDraft(
                        type: .milestoneRescheduled, thread: nil, parentSeq: milestone.seq, actor: actor,
                        data: Self.milestoneFacts(of: milestone).merging(["previous_due_at": .string(previous)], uniquingKeysWith: { first, _ in first })),
                    at: now)
            }
            if let closing = change.status {
                _ = try lifecycle.apply(closing == .done ? .complete : .cancel)
                milestone.status = lifecycle.status
                milestone.completedAt = closing == .done ? now : nil
                try Self.dropFirings(of: id, db: db)
                try log.append(
                    LogDraft(
                        type: closing == .done ? .milestoneDone : .milestoneCancelled, thread: nil, parentSeq: milestone.seq, actor: actor,
                        data: Self.milestoneFacts(of: milestone)),
                    at: now)
            }
            try Self.saveStatus(of: milestone, db: db)
            return milestone
        }
    }

    /// Cancels every milestone still open when its case closes: its firings would lapse
    /// anyway, and a closed case should not show steps as planned that will never come.
    static func cancelOpenMilestones(caseId: String, by actor: Actor, at now: String, log: inout LogAppender, db: any SQLSession) throws {
        let open = try db.fetch(
            "SELECT \(Columns.milestone) FROM milestones WHERE case_id = ? AND status IN ('planned', 'due', 'overdue') ORDER BY due_ms, id",
            [caseId], as: RowDecoding.milestoneValue)
        for var milestone in open {
            var lifecycle = MilestoneLifecycle(status: milestone.status)
            _ = try lifecycle.apply(.cancel)
            milestone.status = lifecycle.status
            try dropFirings(of: milestone.id, db: db)
            try saveStatus(of: milestone, db: db)
            try log.append(
                LogDraft(
                    type: .milestoneCancelled, thread: nil, parentSeq: milestone.seq, actor: actor,
                    data: milestoneFacts(of: milestone).merging(["reason": "case_closed"], uniquingKeysWith: { first, _ in first })),
                at: now)
        }
    }

    // MARK: - Helpers

    static func loadMilestone(caseId: String, id: String, db: any SQLSession) throws -> Milestone? {
        try db.row("SELECT \(Columns.milestone) FROM milestones WHERE id = ? AND case_id = ?", [id, caseId]).map(RowDecoding.milestoneValue)
    }

    static func saveStatus(of milestone: Milestone, db: any SQLSession) throws {
        try db.run(
            "UPDATE milestones SET due_at = ?, due_ms = ?, status = ?, completed_at = ? WHERE id = ?",
            [milestone.dueAt, Int64(milestone.dueMillis), milestone.status.rawValue, milestone.completedAt, milestone.id])
    }

    /// What every milestone entry records: enough for a webhook receiver and for the chain,
    /// without the title (which may hold clinical text, kept as redactable content instead).
    static func milestoneFacts(of milestone: Milestone) -> [String: JSONValue] {
        var facts = milestoneFacts(id: milestone.id, kind: milestone.kind, dueAt: milestone.dueAt, audience: milestone.audience)
        facts["status"] = .string(milestone.status.rawValue)
        return facts
    }

    static func milestoneFacts(id: String, kind: Milestone.Kind, dueAt: String, audience: [ThreadName]) -> [String: JSONValue] {
        [
            "milestone_id": .string(id), "kind": .string(kind.rawValue), "due_at": .string(dueAt),
            "audience": .array(audience.map { .string($0.rawValue) }),
        ]
    }
}
