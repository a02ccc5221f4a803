import CaseHubCore
import Yams

/// Reads `routing:`, a list of rules:
///
/// ```yaml
/// routing:
///   - name: handoff_to_ppa
///     when: {thread: [ppa], kind: [handoff], priority: [routine, urgent]}
///     relay_to: [payer]
///     require_ack: true
///     notify:
///       - {channel: webhook, roles: [ppa]}
/// ```
///
/// Every name is checked: an unknown thread, kind, role, channel or key stops start-up with
/// one line naming it (`routing[2].when.kind: 'handof' is not a message kind …`).
enum RoutingRulesReader {
    static func read(_ node: Node, key: String) throws(ConfigurationError) -> [RoutingRule] {
        guard case .sequence(let items) = node else { throw ConfigurationError(key: key, "must be a list of rules") }
        var rules: [RoutingRule] = []
        for (index, item) in items.enumerated() {
            let path = "\(key)[\(index)]"
            let rule = try readRule(item, path: path)
            guard !rules.contains(where: { $0.name == rule.name }) else { throw ConfigurationError(key: "\(path).name", "'\(rule.name)' names two rules") }
            rules.append(rule)
        }
        return rules
    }

    private static func readRule(_ node: Node, path: String) throws(ConfigurationError) -> RoutingRule {
        let fields = try mapping(node, path: path, allowed: ["name", "when", "relay_to", "require_ack", "notify"])
        guard let name = fields["name"]?.string, !name.isEmpty else { throw ConfigurationError(key: "\(path).name", "is required") }
        var rule = RoutingRule(name: name)
        if let when = fields["when"] {
            let match = try mapping(when, path: "\(path).when", allowed: ["thread", "kind", "priority"])
            rule.threads = Set(try names(match["thread"], path: "\(path).when.thread", as: ThreadName.self, what: "thread"))
            let kinds = try names(match["kind"], path: "\(path).when.kind", as: Message.Kind.self, what: "message kind")
            if let hubKind = kinds.first(where: \.isHubAuthored) {
                throw ConfigurationError(key: "\(path).when.kind", "'\(hubKind.rawValue)' messages are written by the hub and are not routed")
            }
            rule.kinds = Set(kinds)
            rule.priorities = Set(try names(match["priority"], path: "\(path).when.priority", as: Message.Priority.self, what: "priority"))
        }
        rule.relayTo = try names(fields["relay_to"], path: "\(path).relay_to", as: ThreadName.self, what: "thread")
        if let flag = fields["require_ack"] {
            guard let value = flag.bool else { throw ConfigurationError(key: "\(path).require_ack", "must be true or false") }
            rule.requireAck = value
        }
        if let notify = fields["notify"] {
            guard case .sequence(let items) = notify else { throw ConfigurationError(key: "\(path).notify", "must be a list") }
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).notify[\(index)]"
                let action = try mapping(item, path: itemPath, allowed: ["channel", "roles"])
                guard let channel = try names(action["channel"].map { Node.sequence([$0]) }, path: "\(itemPath).channel", as: RoutingRule.Channel.self, what: "channel").first
                else { throw ConfigurationError(key: "\(itemPath).channel", "is required (email or webhook)") }
                let roles = try names(action["roles"], path: "\(itemPath).roles", as: Role.self, what: "role")
                guard !roles.isEmpty else { throw ConfigurationError(key: "\(itemPath).roles", "must name at least one role") }
                rule.notify.append(RoutingRule.Notification(channel: channel, roles: Set(roles)))
            }
        }
        return rule
    }

    private static func mapping(_ node: Node, path: String, allowed: Set<String>) throws(ConfigurationError) -> [String: Node] {
        guard case .mapping(let pairs) = node else { throw ConfigurationError(key: path, "must be a mapping") }
        var fields: [String: Node] = [:]
        for (keyNode, value) in pairs {
            let name = keyNode.string ?? ""
            guard allowed.contains(name) else {
                throw ConfigurationError(key: "\(path).\(name)", "unknown key (expected \(allowed.sorted().joined(separator: ", ")))")
            }
            fields[name] = value
        }
        return fields
    }

    /// A list of enum names (a single name is accepted as a list of one).
    private static func names<T: RawRepresentable & CaseIterable>(_ node: Node?, path: String, as: T.Type, what: String) throws(ConfigurationError)
        -> [T] where T.RawValue == String
    {
        guard let node else { return [] }
        let items: [Node]
        switch node {
        case .sequence(let sequence): items = Array(sequence)
        case .scalar: items = [node]
        default: throw ConfigurationError(key: path, "must be a list of names")
        }
        var values: [T] = []
        for item in items {
            let raw = item.string ?? ""
            guard let value = T(rawValue: raw) else {
                throw ConfigurationError(key: path, "'\(raw)' is not a \(what) (\(T.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            values.append(value)
        }
        return values
    }
}
