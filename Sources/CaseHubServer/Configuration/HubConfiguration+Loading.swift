import CaseHubCore
import Foundation
import Logging
import Yams

extension HubConfiguration {
    /// The file read when neither `--config` nor `CASEHUB_CONFIG` names one.
    public static let defaultFile = "config/casehub.yaml"

    /// Reads the YAML file (when given or present at the default place), then applies the
    /// `CASEHUB_*` environment variables over it.
    ///
    /// - Parameter file: a file the operator named; it must exist.
    public static func load(file: String?, environment: [String: String]) throws(ConfigurationError) -> HubConfiguration {
        var configuration = HubConfiguration()
        let named = file ?? environment["CASEHUB_CONFIG"]
        let path = named ?? defaultFile
        if FileManager.default.fileExists(atPath: path) {
            try configuration.apply(yamlFile: path)
        } else if named != nil {
            throw ConfigurationError(key: "config", "no file at \(path)")
        }
        try configuration.apply(environment: environment)
        return configuration
    }

    mutating func apply(yamlFile path: String) throws(ConfigurationError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: "config", "cannot read \(path): \(error.localizedDescription)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(key: "config", "\(path) is not valid YAML: \(error)")
        }
        guard let root else { return }
        guard case .mapping(let mapping) = root else {
            throw ConfigurationError(key: "config", "\(path) must be a mapping of keys to values")
        }
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw ConfigurationError(key: "config", "a key in \(path) is not a string") }
            try apply(key: key, yaml: value)
        }
    }

    private mutating func apply(key: String, yaml value: Node) throws(ConfigurationError) {
        if value.null != nil, ["smtp_url"].contains(key) {
            smtpURL = nil
            return
        }
        switch key {
        case "host": host = try Self.host(Self.string(value, key), key)
        case "port": port = try Self.port(value.int, key)
        case "database_url": database = try DatabaseLocation(url: Self.string(value, key))
        case "smtp_url": smtpURL = try Self.smtpURL(Self.string(value, key), key)
        case "smtp_from": smtpFrom = try Self.smtpFrom(Self.string(value, key), key)
        case "webhook_allow_private":
            guard let flag = value.bool else { throw ConfigurationError(key: key, "must be true or false") }
            webhookAllowPrivate = flag
        case "retry_schedule": retrySchedule = try Self.retrySchedule(Self.string(value, key), key)
        case "public_url": publicURL = try Self.publicURL(Self.string(value, key), key)
        case "endpoint_disable_after": endpointDisableAfter = try Self.delay(Self.string(value, key), key)
        case "webhook_concurrency": webhookConcurrency = try Self.concurrency(value.int, key)
        case "smtp_concurrency": smtpConcurrency = try Self.concurrency(value.int, key)
        case "log_level": logLevel = try Self.logLevel(Self.string(value, key), key)
        case "ack_timeout": coordination.ackTimeoutMillis = try Self.millis(Self.string(value, key), key)
        case "ack_escalation_interval": coordination.ackEscalationIntervalMillis = try Self.millis(Self.string(value, key), key)
        case "ack_escalation_limit": coordination.ackEscalationLimit = try Self.escalationLimit(value.int, key)
        case "milestone_overdue_grace": coordination.overdueGraceMillis = try Self.millis(Self.string(value, key), key)
        case "escalation_channels":
            guard case .sequence(let items) = value else { throw ConfigurationError(key: key, "must be a list: [email, webhook]") }
            coordination.escalationChannels = try Self.channels(items.map { $0.string ?? "" }, key)
        case "time_zone": timeZone = try Self.timeZone(Self.string(value, key), key)
        case "rate_limit_per_minute": rateLimitPerMinute = try Self.rateLimitPerMinute(value.int, key)
        case "rate_limit_burst": rateLimitBurst = try Self.rateLimitBurst(value.int, key)
        case "routing": coordination.routing = try RoutingRulesReader.read(value, key: key)
        case "access":
            guard case .mapping(let roles) = value else {
                throw ConfigurationError(key: key, "must map roles to lists of threads")
            }
            for (roleNode, threadsNode) in roles {
                let roleName = roleNode.string ?? ""
                let path = "access.\(roleName)"
                guard case .sequence(let items) = threadsNode else { throw ConfigurationError(key: path, "must be a list of threads") }
                try setAccess(roleName, threads: items.map { $0.string ?? "" }, key: path)
            }
        default:
            throw ConfigurationError(key: key, "unknown key")
        }
    }

    /// `CASEHUB_*` variables that name no configuration key: most likely typos, which would
    /// otherwise fall back to a default without a word.
    public static func unknownVariables(in environment: [String: String]) -> [String] {
        let known: Set<String> = [
            "CASEHUB_CONFIG", "CASEHUB_HOST", "CASEHUB_PORT", "CASEHUB_DATABASE_URL", "CASEHUB_SMTP_URL", "CASEHUB_SMTP_FROM",
            "CASEHUB_WEBHOOK_ALLOW_PRIVATE", "CASEHUB_RETRY_SCHEDULE", "CASEHUB_PUBLIC_URL", "CASEHUB_LOG_LEVEL",
            "CASEHUB_ENDPOINT_DISABLE_AFTER", "CASEHUB_WEBHOOK_CONCURRENCY", "CASEHUB_SMTP_CONCURRENCY", "CASEHUB_ACK_TIMEOUT",
            "CASEHUB_ACK_ESCALATION_INTERVAL", "CASEHUB_ACK_ESCALATION_LIMIT", "CASEHUB_MILESTONE_OVERDUE_GRACE", "CASEHUB_ESCALATION_CHANNELS",
            "CASEHUB_TIME_ZONE", "CASEHUB_ROUTING", "CASEHUB_RATE_LIMIT_PER_MINUTE", "CASEHUB_RATE_LIMIT_BURST",
        ]
        return environment.keys.filter { $0.hasPrefix("CASEHUB_") && !known.contains($0) && !$0.hasPrefix("CASEHUB_ACCESS_") }.sorted()
    }

    mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        for (name, value) in environment where name.hasPrefix("CASEHUB_") {
            switch name {
            case "CASEHUB_HOST": host = try Self.host(value, name)
            case "CASEHUB_PORT": port = try Self.port(Int(value), name)
            case "CASEHUB_DATABASE_URL": database = try DatabaseLocation(url: value)
            case "CASEHUB_SMTP_URL": smtpURL = value.isEmpty ? nil : try Self.smtpURL(value, name)
            case "CASEHUB_SMTP_FROM": if !value.isEmpty { smtpFrom = try Self.smtpFrom(value, name) }  // empty: the file's or the default
            case "CASEHUB_WEBHOOK_ALLOW_PRIVATE":
                guard let flag = Bool(value.lowercased()) else { throw ConfigurationError(key: name, "must be true or false") }
                webhookAllowPrivate = flag
            case "CASEHUB_RETRY_SCHEDULE": retrySchedule = try Self.retrySchedule(value, name)
            case "CASEHUB_PUBLIC_URL": publicURL = try Self.publicURL(value, name)
            case "CASEHUB_ENDPOINT_DISABLE_AFTER": endpointDisableAfter = try Self.delay(value, name)
            case "CASEHUB_WEBHOOK_CONCURRENCY": webhookConcurrency = try Self.concurrency(Int(value), name)
            case "CASEHUB_SMTP_CONCURRENCY": smtpConcurrency = try Self.concurrency(Int(value), name)
            case "CASEHUB_LOG_LEVEL": logLevel = try Self.logLevel(value, name)
            case "CASEHUB_ACK_TIMEOUT": coordination.ackTimeoutMillis = try Self.millis(value, name)
            case "CASEHUB_ACK_ESCALATION_INTERVAL": coordination.ackEscalationIntervalMillis = try Self.millis(value, name)
            case "CASEHUB_ACK_ESCALATION_LIMIT": coordination.ackEscalationLimit = try Self.escalationLimit(Int(value), name)
            case "CASEHUB_MILESTONE_OVERDUE_GRACE": coordination.overdueGraceMillis = try Self.millis(value, name)
            case "CASEHUB_ESCALATION_CHANNELS":
                coordination.escalationChannels = try Self.channels(
                    value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, name)
            case "CASEHUB_TIME_ZONE": timeZone = try Self.timeZone(value, name)
            case "CASEHUB_RATE_LIMIT_PER_MINUTE": rateLimitPerMinute = try Self.rateLimitPerMinute(Int(value), name)
            case "CASEHUB_RATE_LIMIT_BURST": rateLimitBurst = try Self.rateLimitBurst(Int(value), name)
            case "CASEHUB_ROUTING":
                // The same list as the file's `routing:`, written as YAML or JSON on one line.
                let node: Node?
                do { node = try Yams.compose(yaml: value) } catch { throw ConfigurationError(key: name, "is not valid YAML: \(error)") }
                coordination.routing = try RoutingRulesReader.read(node ?? .sequence([]), key: name)
            default:
                if name.hasPrefix("CASEHUB_ACCESS_") {
                    let role = name.dropFirst("CASEHUB_ACCESS_".count).lowercased()
                    let threads = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    try setAccess(role, threads: threads, key: name)
                }
            // Other CASEHUB_* names are not configuration keys: `serve` warns about them.
            }
        }
    }

    private mutating func setAccess(_ roleName: String, threads: [String], key: String) throws(ConfigurationError) {
        guard let role = Role(rawValue: roleName), role != .admin else {
            throw ConfigurationError(key: key, "'\(roleName)' is not a participant role (\(Role.participantRoles.map(\.rawValue).joined(separator: ", ")))")
        }
        var set = Set<ThreadName>()
        for name in threads where !name.isEmpty {
            guard let thread = ThreadName(rawValue: name) else {
                throw ConfigurationError(key: key, "'\(name)' is not a thread (patient, family, ppa, payer)")
            }
            set.insert(thread)
        }
        access.set(set, for: role)
    }

    private static func string(_ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard case .scalar = node, let text = node.string else { throw ConfigurationError(key: key, "must be a string") }
        return text
    }

    private static func port(_ value: Int?, _ key: String) throws(ConfigurationError) -> Int {
        guard let value, (0...65535).contains(value) else { throw ConfigurationError(key: key, "must be a port number from 0 to 65535") }
        return value
    }

    private static func retrySchedule(_ value: String, _ key: String) throws(ConfigurationError) -> [Duration] {
        guard let schedule = RetrySchedule.parse(value) else {
            throw ConfigurationError(key: key, "'\(value)' is not a comma-separated list of delays such as 5s,5m,30m,2h")
        }
        return schedule
    }

    private static func concurrency(_ value: Int?, _ key: String) throws(ConfigurationError) -> Int {
        guard let value, (1...256).contains(value) else { throw ConfigurationError(key: key, "must be a whole number from 1 to 256") }
        return value
    }

    private static func delay(_ value: String, _ key: String) throws(ConfigurationError) -> Duration {
        guard let delay = RetrySchedule.parseDelay(value) else {
            throw ConfigurationError(key: key, "'\(value)' is not a delay such as 90m, 5d")
        }
        return delay
    }

    private static func millis(_ value: String, _ key: String) throws(ConfigurationError) -> UInt64 {
        let delay = try Self.delay(value, key)
        return UInt64(delay.components.seconds) * 1000 + UInt64(delay.components.attoseconds / 1_000_000_000_000_000)
    }

    private static func escalationLimit(_ value: Int?, _ key: String) throws(ConfigurationError) -> Int {
        guard let value, (0...100).contains(value) else { throw ConfigurationError(key: key, "must be a whole number from 0 to 100") }
        return value
    }

    private static func rateLimitPerMinute(_ value: Int?, _ key: String) throws(ConfigurationError) -> Int {
        guard let value, (0...1_000_000).contains(value) else {
            throw ConfigurationError(key: key, "must be a whole number of requests a minute, 0 (no limit) to 1000000")
        }
        return value
    }

    private static func rateLimitBurst(_ value: Int?, _ key: String) throws(ConfigurationError) -> Int {
        guard let value, (1...1_000_000).contains(value) else {
            throw ConfigurationError(key: key, "must be a whole number of requests from 1 to 1000000")
        }
        return value
    }

    private static func channels(_ names: [String], _ key: String) throws(ConfigurationError) -> Set<RoutingRule.Channel> {
        var channels: Set<RoutingRule.Channel> = []
        for name in names where !name.isEmpty {
            guard let channel = RoutingRule.Channel(rawValue: name) else { throw ConfigurationError(key: key, "'\(name)' is not a channel (email, webhook)") }
            channels.insert(channel)
        }
        return channels
    }

    private static func timeZone(_ value: String, _ key: String) throws(ConfigurationError) -> String {
        guard TimeZone(identifier: value) != nil else { throw ConfigurationError(key: key, "'\(value)' is not a time zone such as Asia/Jakarta") }
        return value
    }

    private static func logLevel(_ value: String, _ key: String) throws(ConfigurationError) -> Logger.Level {
        guard let level = Logger.Level(rawValue: value.lowercased()) else {
            throw ConfigurationError(key: key, "must be one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }
}
