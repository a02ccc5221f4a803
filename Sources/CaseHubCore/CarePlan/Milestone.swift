/// A step of a case's care plan with a time: an education session, a discharge, a payer
/// authorization. The hub reminds its audience before `due_at`, says when it is due, and
/// escalates when it is overdue, until someone marks it done or cancels it.
public struct Milestone: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case assessment, education, handoff, authorization, discharge
        case followUp = "follow_up"
        case other
    }

    public typealias Status = MilestoneLifecycle.Status

    public var id: String
    public var caseId: String
    public var title: String
    public var kind: Kind
    /// RFC 3339, as the API shows it.
    public var dueAt: String
    /// Threads whose readers are told of it: it is posted there, and their family and patient
    /// participants are e-mailed.
    public var audience: [ThreadName]
    public var reminders: [ISODuration]
    public var status: Status
    public var completedAt: String?
    public var createdAt: String
    /// The `seq` of its `milestone.created` entry: its later entries hang under it.
    public var seq: Int

    public init(
        id: String, caseId: String, title: String, kind: Kind, dueAt: String, audience: [ThreadName], reminders: [ISODuration],
        status: Status, completedAt: String?, createdAt: String, seq: Int
    ) {
        self.id = id
        self.caseId = caseId
        self.title = title
        self.kind = kind
        self.dueAt = dueAt
        self.audience = audience
        self.reminders = reminders
        self.status = status
        self.completedAt = completedAt
        self.createdAt = createdAt
        self.seq = seq
    }

    public var dueMillis: UInt64 { Timestamp.parseMillis(dueAt) ?? 0 }

    public var json: JSONValue {
        .members([
            "audience": .array(audience.map { .string($0.rawValue) }), "case_id": .string(caseId), "completed_at": JSONValue(completedAt),
            "created_at": .string(createdAt), "due_at": .string(dueAt), "id": .string(id), "kind": .string(kind.rawValue),
            "reminders": .array(reminders.map { .string($0.text) }), "seq": .int(Int64(seq)), "status": .string(status.rawValue),
            "title": .string(title),
        ])
    }

    /// The firings this milestone waits for, planned at `nowMillis` (creation or a new
    /// `due_at`): each reminder still ahead, the due time, and overdue after `grace`.
    /// A reminder whose time has already passed is not sent late: it would arrive after the
    /// fact or pile up beside the due notice.
    public func plannedFirings(nowMillis: UInt64, overdueGraceMillis: UInt64) -> [PlannedFiring] {
        let due = dueMillis
        var firings: [PlannedFiring] = []
        for reminder in reminders where reminder.milliseconds <= due {
            let at = due - reminder.milliseconds
            if at > nowMillis, at < due { firings.append(PlannedFiring(purpose: .milestoneReminder, detail: reminder.text, atMillis: at)) }
        }
        firings.append(PlannedFiring(purpose: .milestoneDue, detail: nil, atMillis: due))
        firings.append(PlannedFiring(purpose: .milestoneOverdue, detail: nil, atMillis: due + overdueGraceMillis))
        return firings
    }
}

/// What `POST /v1/cases/{case}/milestones` asks for, validated.
public struct NewMilestone: Sendable {
    public var title: String
    public var kind: Milestone.Kind
    public var dueAt: String
    public var audience: [ThreadName]
    public var reminders: [ISODuration]

    public init(title: String, kind: Milestone.Kind, dueAt: String, audience: [ThreadName], reminders: [ISODuration]) {
        self.title = title
        self.kind = kind
        self.dueAt = dueAt
        self.audience = audience
        self.reminders = reminders
    }
}

/// What `PATCH /v1/cases/{case}/milestones/{id}` may change; nil leaves it as it is.
public struct MilestoneChange: Sendable {
    public enum Closing: String, Sendable, CaseIterable { case done, cancelled }
    public var status: Closing?
    public var dueAt: String?

    public init(status: Closing?, dueAt: String?) {
        self.status = status
        self.dueAt = dueAt
    }
}
