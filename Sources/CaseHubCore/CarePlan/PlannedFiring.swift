/// Something the hub must do at a time, kept in the store until done, so that a restart
/// neither loses nor repeats it: a milestone's reminder, due and overdue notices, and the
/// escalations of unacknowledged handoffs and undecided authorization requests.
public enum FiringPurpose: String, Sendable, CaseIterable {
    case milestoneReminder = "milestone.reminder"
    case milestoneDue = "milestone.due"
    case milestoneOverdue = "milestone.overdue"
    /// A message with `requires_ack` nobody has acknowledged.
    case ackEscalation = "ack.escalation"
    /// An authorization request still without a decision at its `due_at`.
    case authorizationEscalation = "authorization.escalation"

    /// A milestone's reminder, due or overdue notice (the others are escalations).
    public var isMilestoneNotice: Bool { self == .milestoneReminder || self == .milestoneDue || self == .milestoneOverdue }
}

/// One firing to plan.
public struct PlannedFiring: Sendable, Equatable {
    public var purpose: FiringPurpose
    /// The reminder's duration, or the escalation's round.
    public var detail: String?
    public var atMillis: UInt64

    public init(purpose: FiringPurpose, detail: String?, atMillis: UInt64) {
        self.purpose = purpose
        self.detail = detail
        self.atMillis = atMillis
    }
}
