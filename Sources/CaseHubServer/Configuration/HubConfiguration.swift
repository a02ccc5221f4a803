import CaseHubCore
import Foundation
import Logging

/// Everything `casehub serve` can be told, with the defaults of the API contract.
///
/// Read from `config/casehub.yaml` (see `HubConfiguration+Loading.swift`); every key can be
/// overridden by a `CASEHUB_*` environment variable.
public struct HubConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database = DatabaseLocation.sqlite(path: "./data/casehub.sqlite")
    public var smtpURL: String?
    public var smtpFrom = "casehub@localhost"
    public var webhookAllowPrivate = false
    public var retrySchedule: [Duration] = RetrySchedule.default
    public var publicURL = "http://127.0.0.1:8080"
    /// A webhook endpoint failing without a success for this long is disabled.
    public var endpointDisableAfter: Duration = .seconds(5 * 86_400)
    /// Transfers at once to one webhook endpoint, and to the SMTP server.
    public var webhookConcurrency = 16
    public var smtpConcurrency = 8
    public var logLevel = Logger.Level.info
    public var access = AccessPolicy.default
    /// Routing rules and the timings of escalations and milestone notices.
    public var coordination = CoordinationSettings.default
    /// The zone times are written in, in e-mails and the hub's messages.
    public var timeZone = QuietHours.defaultTimeZone
    /// Requests a minute each participant token may make (`rate_limit_per_minute`, 0: no
    /// limit) and at once (`rate_limit_burst`).
    public var rateLimitPerMinute = 0
    public var rateLimitBurst = 60
    /// The limit those two set, if any.
    public var rateLimit: RateLimit? {
        rateLimitPerMinute > 0 ? RateLimit(perMinute: rateLimitPerMinute, burst: rateLimitBurst) : nil
    }

    public init() {}
}

/// Where the store lives, from `CASEHUB_DATABASE_URL` or `--database`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    /// Accepts `sqlite:///absolute/path`, `sqlite://./relative/path` and `postgres://…`.
    public init(url: String) throws(ConfigurationError) {
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty, !path.hasSuffix("/") else {
                throw ConfigurationError(key: "database_url", "'\(Self.redactingPassword(url))' names no SQLite file")
            }
            self = .sqlite(path: path)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            self = .postgres(url: url)
        } else {
            throw ConfigurationError(key: "database_url", "'\(Self.redactingPassword(url))' is neither sqlite://PATH nor postgres://…")
        }
    }

    /// The URL with any password replaced, fit for an error line or a log.
    static func redactingPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex),
            let colon = url.range(of: ":", range: scheme.upperBound..<at.lowerBound)
        else { return url }
        return url.replacingCharacters(in: colon.upperBound..<at.lowerBound, with: "***")
    }
}

/// The delays between delivery attempts, written `5s,5m,30m,2h,5h,10h,10h` (`ms` and `d` too).
public enum RetrySchedule {
    public static let `default`: [Duration] = [.seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18000), .seconds(36000), .seconds(36000)]

    public static func parse(_ text: String) -> [Duration]? {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { return nil }
        var delays: [Duration] = []
        for part in parts {
            guard let delay = parseDelay(part) else { return nil }
            delays.append(delay)
        }
        return delays
    }

    /// One delay: a whole number and a unit, `ms`, `s`, `m`, `h` or `d`.
    public static func parseDelay(_ text: String) -> Duration? {
        let unitMillis: [(String, Int)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        guard let (unit, perUnit) = unitMillis.first(where: { unit, _ in text.hasSuffix(unit) && Int(text.dropLast(unit.count)) != nil }),
            let amount = Int(text.dropLast(unit.count)), amount >= 0
        else { return nil }
        // A delay beyond a year is a typo, not a schedule (and keeps the arithmetic bounded).
        let (millis, overflow) = amount.multipliedReportingOverflow(by: perUnit)
        guard !overflow, millis <= 366 * 86_400_000 else { return nil }
        return .milliseconds(millis)
    }
}

/// A configuration problem, named precisely enough for an operator to fix it from one line.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    /// Always one line, whatever the problem's source text (YAML parser errors span several).
    public var description: String {
        "configuration error: \(key): " + problem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
    }
}
