import CaseHubCore

/// A planned firing whose time has come, with what acting on it needs.
public struct DueFiring: Sendable {
    public var id: String
    public var caseId: String
    public var purpose: FiringPurpose
    /// The reminder's duration (`PT24H`) or the escalation's round.
    public var detail: String?
    /// The milestone or message it concerns.
    public var subjectId: String
    /// For milestone notices.
    public var milestone: Milestone?
    /// The language to write the hub's messages in, per audience thread: the locale its
    /// readers share (the case manager aside), `id` when they differ or there are none.
    public var threadLocales: [ThreadName: String]

    public init(
        id: String, caseId: String, purpose: FiringPurpose, detail: String?, subjectId: String, milestone: Milestone?,
        threadLocales: [ThreadName: String]
    ) {
        self.id = id
        self.caseId = caseId
        self.purpose = purpose
        self.detail = detail
        self.subjectId = subjectId
        self.milestone = milestone
        self.threadLocales = threadLocales
    }
}
