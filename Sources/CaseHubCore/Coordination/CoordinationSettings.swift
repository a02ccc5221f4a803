/// How the hub coordinates a case: its routing rules and the timings of reminders and
/// escalations. Read from `config/casehub.yaml`; the store applies it inside the commands'
/// transactions.
public struct CoordinationSettings: Sendable, Equatable {
    public var routing: [RoutingRule] = RoutingRule.defaults
    /// A message with `requires_ack` that nobody acknowledges for this long escalates to the
    /// case manager ...
    public var ackTimeoutMillis: UInt64 = 30 * 60_000
    /// ... and again after each interval, at most `ackEscalationLimit` times in all.
    public var ackEscalationIntervalMillis: UInt64 = 30 * 60_000
    public var ackEscalationLimit = 3
    /// A milestone still open this long after `due_at` becomes overdue.
    public var overdueGraceMillis: UInt64 = 60 * 60_000
    /// How escalations (unacknowledged messages, overdue authorizations and milestones)
    /// reach the case manager.
    public var escalationChannels: Set<RoutingRule.Channel> = [.email, .webhook]

    public init() {}

    public static let `default` = CoordinationSettings()
}
