import CaseHubCore
import CaseHubStore
import Foundation
import Logging
import Synchronization
import Testing

/// One test's database. The API tests run on SQLite files by default; with
/// `CASEHUB_TEST_STORE=postgres` (as `scripts/test`'s second pass sets) each test gets a fresh
/// schema on the PostgreSQL server named by `CASEHUB_TEST_POSTGRES_URL` instead, so every
/// statement of the shared store commands runs on both databases.
final class TestDatabase: Sendable {
    static let onPostgres = ProcessInfo.processInfo.environment["CASEHUB_TEST_STORE"] == "postgres"

    /// For tests that read or change the SQLite file itself (tampering, dumps).
    static let sqliteFileOnly = ConditionTrait.enabled(if: !onPostgres, "works on the SQLite file itself")

    let directory: URL
    /// The SQLite file (unused on PostgreSQL).
    let path: String
    private let postgresURL: String?
    private let services = Mutex<[Task<Void, any Error>]>([])

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("casehub.sqlite").path
        if Self.onPostgres {
            guard let base = ProcessInfo.processInfo.environment["CASEHUB_TEST_POSTGRES_URL"], !base.isEmpty else {
                throw TestDatabaseError(description: "CASEHUB_TEST_STORE=postgres needs CASEHUB_TEST_POSTGRES_URL")
            }
            let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            postgresURL = base + (base.contains("?") ? "&" : "?") + "search_path=\(schema)&pool_size=4"
        } else {
            postgresURL = nil
        }
    }

    /// Runs `body` with a fresh database, closed and removed afterwards.
    static func with<T>(_ body: (TestDatabase) async throws -> T) async throws -> T {
        let database = try TestDatabase()
        defer { database.close() }
        return try await body(database)
    }

    /// A migrated store on this database; opening it again is what a restart, or a second
    /// hub instance, does.
    func open(policy: AccessPolicy = .default, coordination: CoordinationSettings = .default, label: String = "test") async throws -> any Store {
        let logger = Logger(label: label)
        let store: any Store
        if let postgresURL {
            let postgres = try PostgresStore(location: PostgresLocation(url: postgresURL), logger: logger, policy: policy, coordination: coordination)
            services.withLock { $0.append(Task { try await postgres.run() }) }
            store = postgres
        } else {
            store = try SQLiteStore(path: path, logger: logger, policy: policy, coordination: coordination)
        }
        try await store.migrate()
        return store
    }

    private func close() {
        for service in services.withLock({ $0 }) { service.cancel() }
        try? FileManager.default.removeItem(at: directory)
    }
}

struct TestDatabaseError: Error, CustomStringConvertible {
    let description: String
}
