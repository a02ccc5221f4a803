import CaseHubCore
import CaseHubStore
import Foundation
import Logging
import Synchronization
import Testing

@testable import CaseHubDelivery

/// The worker on a real SQLite store, sending through libcurl to a real receiver.
@Suite struct DeliveryWorkerTests {
    static let admin = Principal(tokenId: "tok-admin", role: .admin, name: "ops", memberships: [:])
    static let nurse = Actor(id: "p-nurse", role: "ppa", name: "Ns. Rina")

    /// A fresh store with one open case, and a worker on it while `body` runs; `beforeStart`
    /// prepares the store before the worker starts.
    func withWorker(
        schedule: [Duration] = [.milliseconds(50), .milliseconds(50)], configure: (inout DeliverySettings) -> Void = { _ in },
        beforeStart: (any Store, String) async throws -> Void = { _, _ in },
        _ body: @Sendable (any Store, String) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-worker-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("hub.sqlite").path, logger: Logger(label: "test"))
        try await store.migrate()
        let caseValue = try await store.createCase(NewCase(mrn: "RM-7", patient: ["name": "Budi"], payer: .null), by: Self.admin)
        try await beforeStart(store, caseValue.id)
        var settings = DeliverySettings(retrySchedule: schedule, allowPrivateNetworks: true, smtpURL: nil, smtpFrom: "hub@rs.example")
        settings.pollInterval = .milliseconds(20)
        configure(&settings)
        let composer = EmailComposer(templates: try await TemplateCatalog(), from: settings.smtpFrom, publicURL: "http://127.0.0.1:8080")
        let worker = DeliveryWorker(
            store: store, engine: CurlEngineTests.engine, composer: composer, settings: settings, logger: Logger(label: "test"))
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        try await body(store, caseValue.id)
    }

    func endpoint(_ store: any Store, _ url: String, events: [String] = ["*"], roles: [Role] = [.ppa]) async throws -> WebhookEndpoint {
        try await store.createEndpoint(
            NewEndpoint(url: url, description: "", events: events, roles: roles, includeText: false), secret: WebhookSignature.newSecret())
    }

    @discardableResult
    func post(_ store: any Store, _ caseId: String, _ body: String = "Pasien stabil") async throws -> Message {
        guard case .created(let message, _) = try await store.postMessage(
            NewMessage(body: body, kind: .text, data: [:], replyTo: nil, priority: .routine, requiresAck: false), caseId: caseId,
            thread: .ppa, by: Self.nurse, idempotency: nil)
        else { throw CaseHubError.conflict("expected a new message") }
        return message
    }

    /// Polls until `condition` holds, for at most `limit`.
    /// Waits for `condition`, at most `limit`: generous, because it ends as soon as the
    /// condition holds, and the suite's start runs dozens of tests at once on two cores.
    func eventually(within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func aFailingDeliveryFollowsTheScheduleThenDiesEachAttemptLoggedUnderItsEvent() async throws {
        try await TestReceiver.run { receiver, port in
            try await withWorker { store, caseId in
                _ = try await endpoint(store, "http://127.0.0.1:\(port)/status/500")
                let message = try await post(store, caseId)
                #expect(try await eventually { try await store.deliveries(DeliveryQuery(status: .dead)).count == 1 })
                let delivery = try #require(try await store.deliveries(DeliveryQuery()).first)
                #expect(delivery.attempts.map(\.code) == [500, 500, 500])
                #expect(receiver.requests.count == 3)
                // Every attempt carried the same webhook-id: the event's.
                #expect(Set(receiver.requests.map { $0.headers["webhook-id"] }) == [delivery.eventId])
                let log = try await store.logEntries(caseId: caseId, after: 0, limit: 100, threads: Set(ThreadName.allCases)).entries
                let deliveryEntries = log.filter { $0.type.hasPrefix("delivery.") }
                #expect(deliveryEntries.map(\.type) == ["delivery.failed", "delivery.failed", "delivery.dead"])
                #expect(deliveryEntries.allSatisfy { $0.parentSeq == message.seq })
                #expect(try await store.verifyLog(caseId: caseId) == .intact(entries: log.count))
            }
        }
    }

    @Test func oneSlowEndpointDoesNotHoldUpAnother() async throws {
        try await TestReceiver.run { receiver, port in
            try await withWorker(configure: { $0.perEndpointConcurrency = 2 }) { store, caseId in
                _ = try await endpoint(store, "http://127.0.0.1:\(port)/slow/3000", events: ["message.posted"])
                _ = try await endpoint(store, "http://127.0.0.1:\(port)/ok", events: ["message.acked"])
                var last: Message?
                for index in 0..<8 { last = try await post(store, caseId, "pesan \(index)") }
                _ = try await store.ackMessage(caseId: caseId, id: last!.id, by: Self.nurse)
                // Judged by order, not by a time limit (a loaded test machine may be slow): eight
                // 3 s answers, two at a time, end after 3, 6, 9 and 12 s. Behind them the fast
                // delivery would come last; beside them it is through while most still wait.
                let fastDelivered = try await eventually(within: .seconds(11)) {
                    try await store.deliveries(DeliveryQuery(status: .delivered)).contains { $0.eventType == "message.acked" }
                }
                #expect(fastDelivered)
                #expect(try await store.deliveries(DeliveryQuery(status: .delivered)).filter { $0.eventType == "message.posted" }.count <= 4)
                #expect(try await eventually(within: .seconds(20)) { try await store.deliveries(DeliveryQuery(status: .delivered)).count == 9 })
                #expect(receiver.maxConcurrent <= 3)
            }
        }
    }

    @Test func goneDisablesTheEndpointAndItsOtherDeliveriesWait() async throws {
        try await TestReceiver.run { receiver, port in
            try await withWorker { store, caseId in
                let gone = try await endpoint(store, "http://127.0.0.1:\(port)/status/410")
                try await post(store, caseId)
                #expect(try await eventually { try await store.deliveries(DeliveryQuery(status: .dead)).count == 1 })
                let endpoint = try #require(try await store.endpoints().first { $0.id == gone.id })
                #expect(!endpoint.enabled && endpoint.disabledReason?.contains("410") == true)
                // Nothing more is queued for a disabled endpoint, and nothing more is sent to it.
                try await post(store, caseId)
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await store.deliveries(DeliveryQuery(endpointId: gone.id)).count == 1)
                #expect(receiver.requests.count == 1)
            }
        }
    }

    @Test func aDeliveryTheEndpointNoLongerSubscribesToIsNotSent() async throws {
        try await TestReceiver.run { receiver, port in
            try await withWorker(schedule: [], beforeStart: { store, caseId in
                let mistaken = try await endpoint(store, "http://127.0.0.1:\(port)/ok", roles: [.ppa])
                try await post(store, caseId)
                // The endpoint turns out to be the payer's system: its PPA-thread backlog must not go.
                _ = try await store.updateEndpoint(id: mistaken.id, EndpointChange(roles: [.payer]))
            }) { store, _ in
                #expect(try await eventually { try await store.deliveries(DeliveryQuery(status: .dead)).count == 1 })
                let error = try await store.deliveries(DeliveryQuery()).first?.attempts.first?.error
                #expect(error?.contains("no longer subscribes") == true)
                #expect(receiver.requests.isEmpty)
            }
        }
    }

    @Test func anEndpointFailingLongerThanAllowedIsDisabled() async throws {
        try await TestReceiver.run { _, port in
            try await withWorker(configure: { $0.disableFailingEndpointAfter = .zero }) { store, caseId in
                let failing = try await endpoint(store, "http://127.0.0.1:\(port)/status/500")
                try await post(store, caseId)
                #expect(try await eventually { try await store.endpoints().first { $0.id == failing.id }?.enabled == false })
                let reason = try await store.endpoints().first { $0.id == failing.id }?.disabledReason
                #expect(reason?.contains("no successful delivery since") == true)
            }
        }
    }

    @Test func aRotatedSecretSignsBesideTheNewOneAndBothVerify() async throws {
        try await TestReceiver.run { receiver, port in
            try await withWorker { store, caseId in
                let oldSecret = WebhookSignature.newSecret()
                let created = try await store.createEndpoint(
                    NewEndpoint(url: "http://127.0.0.1:\(port)/ok", description: "", events: ["*"], roles: [.ppa], includeText: false),
                    secret: oldSecret)
                let newSecret = WebhookSignature.newSecret()
                _ = try await store.rotateEndpointSecret(id: created.id, newSecret: newSecret, overlapMillis: 60_000)
                try await post(store, caseId)
                #expect(try await eventually { receiver.requests.count == 1 })
                let request = try #require(receiver.requests.first)
                let id = try #require(request.headers["webhook-id"])
                let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int($0) })
                #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 10)
                let signatures = request.headers["webhook-signature"]?.split(separator: " ").map(String.init)
                #expect(signatures == [
                    WebhookSignature.sign(id: id, timestamp: timestamp, body: request.body, secret: newSecret)!,
                    WebhookSignature.sign(id: id, timestamp: timestamp, body: request.body, secret: oldSecret)!,
                ])
            }
        }
    }

    @Test func aDeliveryLeasedByAWorkerThatDiedIsSentWhenTheNextOneStarts() async throws {
        try await TestReceiver.run { receiver, port in
            let claimedEvent = Mutex<String?>(nil)
            try await withWorker(schedule: [], beforeStart: { store, caseId in
                _ = try await endpoint(store, "http://127.0.0.1:\(port)/ok")
                try await post(store, caseId)
                // A worker claims the row and dies before sending: the lease would hold it for a minute.
                let claimed = try await store.claimDeliveries(
                    DeliveryClaim(
                        nowMillis: Timestamp.nowMillis(), limit: 10, leaseMillis: 60_000, freeSlots: [:], perTargetLimit: 8, channels: [.webhook]))
                #expect(claimed.count == 1)
                claimedEvent.withLock { $0 = claimed.first?.delivery.eventId }
            }) { store, _ in
                let delivered = try await eventually { try await store.deliveries(DeliveryQuery(status: .delivered)).count == 1 }
                #expect(delivered)
                let claimedId = claimedEvent.withLock { $0 }
                #expect(receiver.requests.first?.headers["webhook-id"] == claimedId)
            }
        }
    }
}
