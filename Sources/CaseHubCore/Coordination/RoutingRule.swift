/// One routing rule of `config/casehub.yaml`: what a posted message sets in motion, beyond
/// its own thread.
///
/// A rule matches on the message's thread, `kind` and `priority` (an empty list matches
/// any), and can relay a copy into other threads (authored by the hub on the case manager's
/// behalf, with `relayed_from`), turn `requires_ack` on, and notify: e-mail to participants of
/// given roles, webhooks to endpoints of given roles. Each recipient hears of the message in a
/// thread its role may read (the copy where the original is out of its reach), or not at all.
///
/// Rules act on what people post, not on the copies rules make, so they cannot loop.
public struct RoutingRule: Sendable, Equatable {
    public enum Channel: String, Sendable, CaseIterable { case email, webhook }

    public struct Notification: Sendable, Equatable {
        public var channel: Channel
        public var roles: Set<Role>

        public init(channel: Channel, roles: Set<Role>) {
            self.channel = channel
            self.roles = roles
        }
    }

    public var name: String
    public var threads: Set<ThreadName>
    public var kinds: Set<Message.Kind>
    public var priorities: Set<Message.Priority>
    public var relayTo: [ThreadName]
    public var requireAck: Bool
    public var notify: [Notification]

    public init(
        name: String, threads: Set<ThreadName> = [], kinds: Set<Message.Kind> = [], priorities: Set<Message.Priority> = [],
        relayTo: [ThreadName] = [], requireAck: Bool = false, notify: [Notification] = []
    ) {
        self.name = name
        self.threads = threads
        self.kinds = kinds
        self.priorities = priorities
        self.relayTo = relayTo
        self.requireAck = requireAck
        self.notify = notify
    }

    public func matches(thread: ThreadName, kind: Message.Kind, priority: Message.Priority) -> Bool {
        (threads.isEmpty || threads.contains(thread)) && (kinds.isEmpty || kinds.contains(kind))
            && (priorities.isEmpty || priorities.contains(priority))
    }

    /// The shipped rules (also written out in `config/casehub.yaml`). Order matters only for
    /// e-mail: a participant gets one e-mail per message, from the first rule that sends one,
    /// so the education rule comes before the general one.
    public static let defaults: [RoutingRule] = [
        RoutingRule(
            name: "authorization_request_to_payer", threads: [.ppa, .patient], kinds: [.authorizationRequest], relayTo: [.payer],
            notify: [Notification(channel: .webhook, roles: [.payer])]),
        RoutingRule(name: "authorization_decision_to_ppa", threads: [.payer], kinds: [.authorizationDecision], relayTo: [.ppa]),
        RoutingRule(
            name: "handoff_to_ppa", threads: [.ppa], kinds: [.handoff], requireAck: true,
            notify: [Notification(channel: .webhook, roles: [.ppa])]),
        RoutingRule(
            name: "education_to_family", threads: [.family], kinds: [.education],
            notify: [Notification(channel: .email, roles: [.family])]),
        RoutingRule(
            name: "new_message_email", threads: [.family, .patient],
            notify: [Notification(channel: .email, roles: [.family, .patient])]),
    ]
}
