/// The status machine of a milestone: `planned → due → overdue`, and `done` or `cancelled`
/// from any open state. A new `due_at` opens the plan again (`planned`); a closed milestone
/// changes no more.
public struct MilestoneLifecycle: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case planned, due, overdue, done, cancelled

        public var isOpen: Bool { self == .planned || self == .due || self == .overdue }
    }

    public enum Event: Sendable, Equatable {
        /// A reminder's time came.
        case remind
        case becomeDue
        case becomeOverdue
        case complete
        case cancel
        case reschedule
    }

    /// What an event does to the milestone.
    public enum Outcome: Sendable, Equatable {
        /// The event applies: record it (a reminder applies without changing the status).
        case applied
        /// A late firing that no longer means anything (a reminder once due): skip it quietly.
        case ignored
    }

    public private(set) var status: Status

    public init(status: Status) {
        self.status = status
    }

    /// Applies `event`; throws a conflict for what a person asked that cannot be done.
    public mutating func apply(_ event: Event) throws(CaseHubError) -> Outcome {
        switch (event, status) {
        case (.remind, .planned):
            return .applied
        case (.becomeDue, .planned):
            status = .due
            return .applied
        case (.becomeOverdue, .planned), (.becomeOverdue, .due):
            status = .overdue
            return .applied
        case (.complete, _) where status.isOpen:
            status = .done
            return .applied
        case (.cancel, _) where status.isOpen:
            status = .cancelled
            return .applied
        case (.reschedule, _) where status.isOpen:
            status = .planned
            return .applied
        case (.remind, _), (.becomeDue, _), (.becomeOverdue, _):
            return .ignored
        case (.complete, _), (.cancel, _), (.reschedule, _):
            throw CaseHubError.conflict("the milestone is \(status.rawValue) and can no longer change")
        }
    }
}
