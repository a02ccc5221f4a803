import CaseHubCore
import CaseHubDelivery
import CaseHubServer
import CaseHubStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// A clock the test moves by hand: the scheduler fires what is due at its time, at once.
final class ManualClock: HubClock {
    private let now: Mutex<UInt64>

    init(startingAt millis: UInt64 = Timestamp.nowMillis()) {
        now = Mutex(millis)
    }

    func nowMillis() -> UInt64 { now.withLock { $0 } }

    /// Moves the clock on; it never goes back.
    func advance(by millis: UInt64) {
        now.withLock { $0 += millis }
    }

    func set(_ millis: UInt64) {
        now.withLock { $0 = max($0, millis) }
    }

    /// Tests call ``FiringScheduler/fireDue()`` themselves; a sleeping scheduler waits to be cancelled.
    func sleep(untilMillis millis: UInt64) async throws {
        try await Task.sleep(for: .seconds(3600))
    }
}

/// A hub whose firings the test drives: the API router and a scheduler on a manual clock,
/// both on one SQLite file.
struct CoordinatedHub: Sendable {
    let hub: HubClient
    let scheduler: FiringScheduler
    let clock: ManualClock
    let store: any Store
    let database: TestDatabase

    /// Moves the clock to `millis` and fires what is due; returns how many fired.
    @discardableResult
    func fire(at millis: UInt64) async -> Int {
        clock.set(millis)
        return await scheduler.fireDue().fired
    }
}

/// Runs `body` against a fresh hub with `coordination`, its scheduler on a manual clock.
func withCoordinatedHub(
    coordination: CoordinationSettings = .default, policy: AccessPolicy = .default, _ body: @Sendable (CoordinatedHub) async throws -> Void
) async throws {
    try await TestDatabase.with { database in
    let store = try await database.open(policy: policy, coordination: coordination)
    let path = database.path
    let token = Token.make()
    _ = try await store.issueAdminToken(name: "ops", tokenHash: Token.hash(token))
    let clock = ManualClock()
    let scheduler = FiringScheduler(
        store: store, texts: MilestoneTexts(templates: try await TemplateCatalog()), clock: clock, logger: Logger(label: "test"))
    let app = Application(router: buildRouter(store: store, policy: policy))
    try await app.test(.router) { client in
        let hub = HubClient(client: client, adminToken: token, databasePath: path)
        try await body(CoordinatedHub(hub: hub, scheduler: scheduler, clock: clock, store: store, database: database))
    }
    }
}

extension HubClient {
    /// Sends PATCH with a JSON body.
    func patch(_ uri: String, token: String?, json: String) async throws -> Reply {
        try await request(.patch, uri, token: token, json: json)
    }

    /// Plans a milestone as admin (or `token`); expects 201.
    func createMilestone(
        caseId: String, title: String = "Edukasi perawatan luka", kind: String = "education", dueAt: String, audience: [String] = ["family"],
        reminders: [String] = [], token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONObject {
        let json = """
            {"title": \(quoted(title)), "kind": \(quoted(kind)), "due_at": \(quoted(dueAt)), \
            "audience": [\(audience.map(quoted).joined(separator: ", "))], "reminders": [\(reminders.map(quoted).joined(separator: ", "))]}
            """
        let reply = try await post("/v1/cases/\(caseId)/milestones", token: token ?? adminToken, json: json)
        #expect(reply.status == .created, "POST milestones: \(reply.text)", sourceLocation: sourceLocation)
        return try reply.json(sourceLocation: sourceLocation)
    }

    /// Entry types of the case log, in order.
    func logTypes(caseId: String) async throws -> [String] {
        try await log(caseId: caseId).compactMap { $0["type"] as? String }
    }
}

/// RFC 3339 text for a moment `millis` after the epoch.
func rfc3339(_ millis: UInt64) -> String { Timestamp.format(millis: millis) }

let minute: UInt64 = 60_000
let hour: UInt64 = 3_600_000
