/// Where a payer authorization request stands: `requested` until the payer decides, then
/// `approved`, `denied` or `more_info` (after which the request may be decided again).
public struct AuthorizationState: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case requested, approved, denied
        case moreInfo = "more_info"

        /// Whether the payer has answered for good; until then an overdue request escalates.
        public var isFinal: Bool { self == .approved || self == .denied }
    }

    public var status: Status
    /// The `authorization_decision` message that set the status, and when.
    public var decisionId: String?
    public var decidedAt: String?
    /// When the request escalated for want of a decision by its `due_at`.
    public var escalatedAt: String?

    public init(status: Status, decisionId: String? = nil, decidedAt: String? = nil, escalatedAt: String? = nil) {
        self.status = status
        self.decisionId = decisionId
        self.decidedAt = decidedAt
        self.escalatedAt = escalatedAt
    }

    public static let requested = AuthorizationState(status: .requested)

    public var json: JSONValue {
        .members([
            "decided_at": JSONValue(decidedAt), "decision_id": JSONValue(decisionId), "escalated_at": JSONValue(escalatedAt),
            "status": .string(status.rawValue),
        ])
    }

    public init?(json: JSONValue) {
        guard let raw = json["status"]?.stringValue, let status = Status(rawValue: raw) else { return nil }
        self.init(
            status: status, decisionId: json["decision_id"]?.stringValue, decidedAt: json["decided_at"]?.stringValue,
            escalatedAt: json["escalated_at"]?.stringValue)
    }
}
