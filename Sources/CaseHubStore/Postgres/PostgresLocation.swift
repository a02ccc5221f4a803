import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL database is, from a `postgres://user:pass@host:port/db` URL.
///
/// Query parameters: `sslmode` (`disable`, the default, or `require`), `pool_size` (the most
/// connections this instance opens, 16 unless given) and `search_path` (the schema to work
/// in, for running several hubs, or tests, in one database).
public struct PostgresLocation: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool
    public var poolSize: Int
    public var searchPath: String?

    public init(url: String) throws {
        guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql" else {
            throw PostgresURLError("not a postgres:// URL")
        }
        guard let host = parts.host, !host.isEmpty else { throw PostgresURLError("the URL names no host") }
        guard let username = parts.user, !username.isEmpty else { throw PostgresURLError("the URL names no user") }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw PostgresURLError("the URL names no database") }
        self.host = host
        self.port = parts.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = parts.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        self.requireTLS = false
        self.poolSize = 16
        for item in parts.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard ["disable", "require"].contains(value) else { throw PostgresURLError("sslmode must be disable or require") }
                requireTLS = value == "require"
            case "pool_size":
                guard let size = Int(value), (2...500).contains(size) else { throw PostgresURLError("pool_size must be 2 to 500") }
                poolSize = size
            case "search_path":
                guard !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw PostgresURLError("search_path must be one schema name")
                }
                searchPath = value
            default:
                throw PostgresURLError("unknown parameter '\(item.name)' (sslmode, pool_size, search_path)")
            }
        }
    }

    /// One connection apart from the pool, with a connect timeout (for probing the server).
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        return configuration
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = min(2, poolSize - 1)
        if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
        return configuration
    }
}

/// A `postgres://` URL the hub cannot use.
public struct PostgresURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
