import CaseHubCore
import CaseHubStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests use, from `CASEHUB_TEST_POSTGRES_URL`. Each store gets a
/// schema of its own (through the URL's `search_path`), dropped when the test is done, so
/// tests run in parallel on one database.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["CASEHUB_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The URL with a fresh schema to work in.
    static func freshURL() throws -> (url: String, schema: String) {
        guard let url else { throw NoTestPostgres() }
        let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return (url + (url.contains("?") ? "&" : "?") + "search_path=\(schema)&pool_size=6", schema)
    }

    /// A running, migrated store in a fresh schema.
    static func withStore<T: Sendable>(
        policy: AccessPolicy = .default, coordination: CoordinationSettings = .default,
        _ body: @escaping @Sendable (PostgresStore) async throws -> T
    ) async throws -> T {
        let (url, schema) = try freshURL()
        let store = try PostgresStore(location: PostgresLocation(url: url), logger: Logger(label: "casehub.test"), policy: policy, coordination: coordination)
        defer { dropSchema(schema) }
        return try await store.whileRunning {
            try await store.migrate()
            return try await body(store)
        }
    }

    /// Drops a test's schema and everything in it.
    static func dropSchema(_ schema: String) {
        guard let url, let location = try? PostgresLocation(url: url) else { return }
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password, database: location.database,
            tls: .disable)
        let logger = Logger(label: "casehub.test")
        let dropped = PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger
        ).flatMap { connection in
            connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
                .flatMap { _ in connection.close() }
        }
        try? dropped.wait()
    }
}

struct NoTestPostgres: Error, CustomStringConvertible {
    var description: String { "CASEHUB_TEST_POSTGRES_URL is not set: start a server with scripts/postgres start" }
}
