import CaseHubCore
import CaseHubStore
import Foundation
import Logging
import Testing

/// The stores the contract suite runs against. Every `@Test(arguments: StoreBackend.all)`
/// body runs once per backend, so a new store proves itself by being added here.
///
/// PostgreSQL runs when `CASEHUB_TEST_POSTGRES_URL` names a server (`scripts/test` starts one
/// and sets it); with `CASEHUB_REQUIRE_POSTGRES=1` (CI) its absence fails the run instead.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    static let all: [StoreBackend] = TestPostgres.url == nil ? [.sqlite] : [.sqlite, .postgres]

    var testDescription: String { rawValue }

    /// A fresh, migrated store in its own temporary place, removed when `body` returns.
    func withStore<T: Sendable>(_ body: @escaping @Sendable (any Store, StoreFixture) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let fixture = StoreFixture(folder: folder)
            let store = try fixture.open()
            try await store.migrate()
            return try await body(store, fixture)
        case .postgres:
            return try await TestPostgres.withStore { store in try await body(store, StoreFixture(folder: URL(fileURLWithPath: "/nonexistent"))) }
        }
    }
}

struct StoreFixture: Sendable {
    let folder: URL
    var databasePath: String { folder.appendingPathComponent("hub.sqlite").path }

    func open() throws -> any Store {
        try SQLiteStore(path: databasePath, logger: Logger(label: "casehub.test"))
    }
}

@Suite struct TestPostgresIsThere {
    @Test func postgresRunsWhenRequired() {
        if ProcessInfo.processInfo.environment["CASEHUB_REQUIRE_POSTGRES"] == "1" {
            #expect(TestPostgres.url != nil, "CASEHUB_REQUIRE_POSTGRES=1 but CASEHUB_TEST_POSTGRES_URL is not set")
        }
    }
}

/// Small builders shared by the store tests.
enum Sample {
    static let admin = Principal(tokenId: "tok-admin", role: .admin, name: "ops", memberships: [:])

    static func openCase(_ store: any Store, mrn: String = "RM-00123") async throws -> Case {
        try await store.createCase(
            NewCase(mrn: mrn, patient: ["name": "Budi Santoso"], payer: ["name": "BPJS Kesehatan", "member_id": "0001234567890"]),
            by: admin)
    }

    static func nurse(in caseId: String) -> Actor {
        Actor(id: "p-nurse-\(caseId)", role: "ppa", name: "Ns. Rina")
    }

    static func text(_ body: String, replyTo: String? = nil) -> NewMessage {
        NewMessage(body: body, kind: .text, data: [:], replyTo: replyTo, priority: .routine, requiresAck: false)
    }

    @discardableResult
    static func post(_ store: any Store, _ caseId: String, _ body: String, thread: ThreadName = .ppa, replyTo: String? = nil) async throws -> Message {
        guard case .created(let message, _) = try await store.postMessage(
            text(body, replyTo: replyTo), caseId: caseId, thread: thread, by: nurse(in: caseId), idempotency: nil)
        else { throw CaseHubError.conflict("expected a new message") }
        return message
    }

    static func allEntries(_ store: any Store, _ caseId: String) async throws -> [LogEntry] {
        var entries: [LogEntry] = []
        while true {
            let page = try await store.logEntries(
                caseId: caseId, after: entries.last?.seq ?? 0, limit: 500, threads: Set(ThreadName.allCases))
            entries += page.entries
            if !page.hasMore { return entries }
        }
    }
}
