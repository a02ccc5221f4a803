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
    public var logLevel = Logger.Level.info
    public var access = AccessPolicy.default

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
                throw ConfigurationError(key: "database_url", "'\(url)' names no SQLite file")
            }
            self = .sqlite(path: path)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            self = .postgres(url: url)
        } else {
            throw ConfigurationError(key: "database_url", "'\(url)' is neither sqlite://PATH nor postgres://…")
        }
    }
}

/// The delays between delivery attempts, written `5s,5m,30m,2h,5h,10h,10h`.
public enum RetrySchedule {
    public static let `default`: [Duration] = [.seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18000), .seconds(36000), .seconds(36000)]

    public static func parse(_ text: String) -> [Duration]? {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { return nil }
        var delays: [Duration] = []
        for part in parts {
            guard let unit = part.last, let amount = Int(part.dropLast()), amount >= 0 else { return nil }
            switch unit {
            case "s": delays.append(.seconds(amount))
            case "m": delays.append(.seconds(amount * 60))
            case "h": delays.append(.seconds(amount * 3600))
            case "d": delays.append(.seconds(amount * 86400))
            default: return nil
            }
        }
        return delays
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

    public var description: String { "configuration error: \(key): \(problem)" }
}
