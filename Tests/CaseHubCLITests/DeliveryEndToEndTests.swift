import CaseHubTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// End-to-end tests of the delivery engine: the built `casehub serve` sends real signed
// webhooks to a real HTTP receiver (which checks each signature with the official Standard
// Webhooks library) and real e-mail to a real SMTP server (aiosmtpd), whose mails Python's
// `email` package parses. Everything runs on 127.0.0.1; the peers live in Tests/Peers.

// MARK: - API shapes the delivery tests read (snake_case keys decoded as camelCase)

struct EndpointView: Decodable, Sendable {
    let id: String
    let url: String
    let enabled: Bool
    let disabledReason: String?
    let includeText: Bool
    let roles: [String]
    let events: [String]
}

struct CreatedEndpoint: Decodable, Sendable {
    let endpoint: EndpointView
    let secret: String
}

struct EndpointList: Decodable, Sendable {
    let endpoints: [EndpointView]
}

struct ParticipantView: Decodable, Sendable {
    let id: String
    let role: String
    let name: String
    let email: String?
    let locale: String
}

struct CreatedParticipant: Decodable, Sendable {
    let participant: ParticipantView
    let token: String
}

struct DeliveryAttemptView: Decodable, Sendable {
    let at: String
    let code: Int?
    let error: String?
    let durationMs: Int
    let response: String?
}

struct DeliveryView: Decodable, Sendable, CustomStringConvertible {
    let id: String
    let eventId: String
    let eventType: String
    let eventSeq: Int
    let caseId: String
    let thread: String?
    let channel: String
    let target: String
    let endpointId: String?
    let participantId: String?
    let status: String
    let attempts: [DeliveryAttemptView]
    let nextAttemptAt: String?
    let waiting: String?

    /// Delivered or dead: nothing more will happen without a manual retry.
    var isSettled: Bool { status == "delivered" || status == "dead" }

    var codes: [Int?] { attempts.map(\.code) }

    var description: String {
        let tries = attempts.map { "\($0.code.map(String.init) ?? "-")\($0.error.map { " (\($0))" } ?? "")" }
        return "\(channel) \(id) → \(target): \(status) after [\(tries.joined(separator: ", "))]"
            + "\(waiting.map { ", waiting: \($0)" } ?? "")"
    }
}

struct DeliveryPage: Decodable, Sendable {
    let deliveries: [DeliveryView]
    let hasMore: Bool
}

/// A log entry with the fields of `delivery.*` entries (absent ones nil).
struct DeliveryLogEntry: Decodable, Sendable {
    struct Fields: Decodable, Sendable {
        let deliveryId: String?
        let code: Int?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            deliveryId = try? container.decodeIfPresent(String.self, forKey: .deliveryId)
            code = try? container.decodeIfPresent(Int.self, forKey: .code)
        }

        enum CodingKeys: String, CodingKey {
            case deliveryId, code
        }
    }

    let seq: Int
    let type: String
    let thread: String?
    let parentSeq: Int?
    let data: Fields
}

struct DeliveryLogPage: Decodable, Sendable {
    let entries: [DeliveryLogEntry]
    let hasMore: Bool
}

extension HubClient {
    /// `POST /v1/endpoints` (requires 201).
    func createEndpoint(url: String, roles: [String], events: [String] = ["*"], includeText: Bool = false) async throws -> CreatedEndpoint {
        let body: [String: Any] = ["url": url, "description": "test receiver", "events": events, "roles": roles, "include_text": includeText]
        let answer = try await post("/v1/endpoints", json: try jsonText(body))
        guard answer.status == 201 else { throw HarnessError("POST /v1/endpoints \(url): expected 201, got \(answer)") }
        return try answer.decode()
    }

    /// One endpoint as `GET /v1/endpoints` lists it.
    func endpoint(id: String) async throws -> EndpointView {
        let answer = try await get("/v1/endpoints")
        guard answer.status == 200 else { throw HarnessError("GET /v1/endpoints: \(answer)") }
        let list: EndpointList = try answer.decode()
        guard let endpoint = list.endpoints.first(where: { $0.id == id }) else { throw HarnessError("endpoint \(id) is not listed: \(answer)") }
        return endpoint
    }

    /// `POST /v1/cases/{case}/participants` (requires 201).
    func addParticipant(caseId: String, role: String, name: String, email: String? = nil, locale: String? = nil) async throws -> CreatedParticipant {
        var body: [String: Any] = ["role": role, "name": name]
        if let email { body["email"] = email }
        if let locale { body["locale"] = locale }
        let answer = try await post("/v1/cases/\(caseId)/participants", json: try jsonText(body))
        guard answer.status == 201 else { throw HarnessError("POST participant \(name): expected 201, got \(answer)") }
        return try answer.decode()
    }

    /// Posts one text message whose body may hold any text (JSON-encoded; requires 201).
    func postText(_ text: String, caseId: String, thread: String) async throws -> MessageView {
        let answer = try await post("/v1/cases/\(caseId)/threads/\(thread)/messages", json: try jsonText(["body": text]))
        guard answer.status == 201 else { throw HarnessError("POST message in \(thread): expected 201, got \(answer)") }
        return try answer.decode()
    }

    /// Every delivery of a case, newest first (pages of 200 followed with `before`).
    func deliveries(caseId: String) async throws -> [DeliveryView] {
        var all: [DeliveryView] = []
        var before: String?
        for _ in 0..<1000 {
            let answer = try await get("/v1/deliveries?case=\(caseId)&limit=200" + (before.map { "&before=\($0)" } ?? ""))
            guard answer.status == 200 else { throw HarnessError("GET /v1/deliveries: \(answer)") }
            let page: DeliveryPage = try answer.decode()
            all += page.deliveries
            guard page.hasMore, let last = page.deliveries.last else { return all }
            before = last.id
        }
        throw HarnessError("GET /v1/deliveries: more than 1000 pages")
    }

    /// The whole case log, with the fields of `delivery.*` entries.
    func deliveryLog(caseId: String) async throws -> [DeliveryLogEntry] {
        var all: [DeliveryLogEntry] = []
        for _ in 0..<1000 {
            let after = all.last?.seq ?? 0
            let answer = try await get("/v1/cases/\(caseId)/log?after=\(after)&limit=1000")
            guard answer.status == 200 else { throw HarnessError("GET log after \(after): \(answer)") }
            let page: DeliveryLogPage = try answer.decode()
            all += page.entries
            guard page.hasMore else { return all }
            guard let last = page.entries.last, last.seq > after else { throw HarnessError("log page after \(after) did not advance") }
        }
        throw HarnessError("GET log: more than 1000 pages")
    }
}

/// Calls `probe` every `interval` until it reports done, and answers its last value; throws
/// (naming `what` and that value) when `timeout` passes first.
func waitUntil<Value>(
    _ what: String, timeout: Duration, every interval: Duration = .milliseconds(50), _ probe: () async throws -> (done: Bool, value: Value)
) async throws -> Value {
    let deadline = ContinuousClock.now + timeout
    var last: Value?
    for _ in 0..<100_000 {
        let (done, value) = try await probe()
        if done { return value }
        last = value
        if ContinuousClock.now >= deadline { break }
        try await Task.sleep(for: interval)
    }
    throw HarnessError("\(what): not reached within \(timeout); last seen: \(last.map { "\($0)" } ?? "nothing")")
}

/// Milliseconds since 1970 of an RFC 3339 timestamp with milliseconds, as the hub writes them.
func epochMillis(_ timestamp: String) throws -> Double {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = formatter.date(from: timestamp) else { throw HarnessError("not an RFC 3339 timestamp: \(timestamp)") }
    return date.timeIntervalSince1970 * 1000
}

// MARK: - A hub with its peers

/// One test's world: a scratch folder, a webhook receiver, an SMTP sink when asked for, and
/// `casehub serve` configured to reach them, with an admin client.
struct DeliveryTestbed {
    let scratch: Scratch
    let environment: [String: String]
    let server: HubServer
    let token: String
    let admin: HubClient
    let receiver: WebhookReceiver
    let mailSink: SMTPSink?

    func requireMailSink() throws -> SMTPSink {
        guard let mailSink else { throw HarnessError("this testbed has no SMTP sink") }
        return mailSink
    }
}

/// Starts a receiver (and an SMTP sink when `mail` is set: then `CASEHUB_SMTP_URL` names it),
/// then a hub with `settings` as CASEHUB_* variables, and runs `body`. Stops every process by
/// PID and removes the folder afterwards, whether `body` succeeds or not.
func withDeliveryTestbed<T>(
    _ label: String, settings: [String: String] = [:], mail: Bool = false, _ body: (DeliveryTestbed) async throws -> T
) async throws -> T {
    let scratch = try Scratch(label)
    defer { scratch.remove() }
    let receiver = try await WebhookReceiver.start(in: scratch)
    defer { receiver.stop() }
    var mailSink: SMTPSink?
    defer { mailSink?.stop() }
    if mail { mailSink = try await SMTPSink.start(in: scratch) }
    var overrides = settings
    if let mailSink { overrides["CASEHUB_SMTP_URL"] = mailSink.url }
    let environment = scratch.environment(overrides)
    let server = try await HubServer.start(in: scratch, environment: environment)
    defer { server.stop() }
    let token = try await issueAdminToken(in: scratch, environment: environment)
    let admin = HubClient(port: server.port, token: token)
    defer { admin.close() }
    return try await body(
        DeliveryTestbed(
            scratch: scratch, environment: environment, server: server, token: token, admin: admin, receiver: receiver, mailSink: mailSink))
}

@Suite("Delivery end to end: real webhooks and e-mail from the casehub binary")
struct DeliveryEndToEndTests {
    static let allowPrivate = ["CASEHUB_WEBHOOK_ALLOW_PRIVATE": "true"]
    /// Three quick retries: a delivery is dead after four failed attempts.
    static let shortSchedule = ["CASEHUB_RETRY_SCHEDULE": "100ms,100ms,100ms"]
    static var privateAndShort: [String: String] { allowPrivate.merging(shortSchedule) { _, new in new } }

    // MARK: Helpers

    /// Waits until the case has `count` deliveries, all delivered or dead, and answers them.
    static func settledDeliveries(
        _ admin: HubClient, caseId: String, count: Int, timeout: Duration = .seconds(30)
    ) async throws -> [DeliveryView] {
        try await waitUntil("\(count) settled deliveries of case \(caseId)", timeout: timeout) {
            let deliveries = try await admin.deliveries(caseId: caseId)
            return (deliveries.count == count && deliveries.allSatisfy(\.isSettled), deliveries)
        }
    }

    /// Waits until the receiver has recorded at least `count` requests under `prefix`.
    static func receivedRequests(
        _ receiver: WebhookReceiver, under prefix: String = "/", count: Int, timeout: Duration = .seconds(15),
        every interval: Duration = .milliseconds(50)
    ) async throws -> [ReceivedWebhook] {
        try await waitUntil("\(count) requests under \(prefix) at the receiver", timeout: timeout, every: interval) {
            let requests = try receiver.requests(under: prefix)
            return (requests.count >= count, requests)
        }
    }

    /// Every attempt of every delivery wrote one `delivery.*` log entry, in order, under the
    /// causing entry (`parent_seq` = the event's seq, whose entry has the event's type), with
    /// the attempt's code: `delivery.failed` for each retried attempt, then
    /// `delivery.succeeded` or `delivery.dead` for the last when the delivery is settled.
    static func expectAttemptsLogged(_ deliveries: [DeliveryView], admin: HubClient, caseId: String) async throws {
        let log = try await admin.deliveryLog(caseId: caseId)
        let bySeq = Dictionary(log.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
        for delivery in deliveries {
            let entries = log.filter { $0.type.hasPrefix("delivery.") && $0.data.deliveryId == delivery.id }
            var expected = Array(repeating: "delivery.failed", count: delivery.attempts.count)
            if delivery.isSettled, !expected.isEmpty {
                expected[expected.count - 1] = delivery.status == "delivered" ? "delivery.succeeded" : "delivery.dead"
            }
            #expect(entries.map(\.type) == expected, "log entries of \(delivery)")
            #expect(entries.map(\.data.code) == delivery.codes, "codes logged for \(delivery)")
            #expect(entries.allSatisfy { $0.parentSeq == delivery.eventSeq }, "parent_seq of \(delivery): \(entries.map(\.parentSeq))")
            #expect(bySeq[delivery.eventSeq]?.type == delivery.eventType, "the causing entry of \(delivery) is \(bySeq[delivery.eventSeq]?.type ?? "missing")")
        }
    }

    /// Checks one received webhook against the Standard Webhooks rules and its delivery:
    /// verified by the official library, `webhook-id` = the event id = the payload's `id`,
    /// a `v1,` signature, a current timestamp, and the payload's event fields.
    static func expectSignedWebhook(_ request: ReceivedWebhook, for delivery: DeliveryView) throws {
        #expect(request.verified == true, "the standardwebhooks library did not verify \(request)")
        #expect(request.webhookId == delivery.eventId, "webhook-id of \(request) is not the event id \(delivery.eventId)")
        #expect(request.headers["webhook-signature"]?.hasPrefix("v1,") == true, "\(request.headers)")
        let timestamp = Double(request.headers["webhook-timestamp"] ?? "") ?? 0
        #expect(abs(timestamp - Date().timeIntervalSince1970) < 300, "webhook-timestamp \(timestamp) is not now")
        let payload = try request.payload()
        #expect(payload["id"] as? String == delivery.eventId, "\(request)")
        #expect(payload["type"] as? String == delivery.eventType, "\(request)")
        #expect(payload["seq"] as? Int == delivery.eventSeq, "\(request)")
        #expect(payload["case_id"] as? String == delivery.caseId, "\(request)")
        #expect(payload["thread"] as? String == delivery.thread, "\(request)")
        #expect(payload["created_at"] is String, "\(request)")
        #expect(payload["data"] is [String: Any], "\(request)")
    }

    /// Creates an endpoint (role ppa, every event) to `url`, tells the receiver its secret,
    /// posts one message in the PPA thread and waits until its one delivery is settled.
    static func deliverOneWebhook(
        _ bed: DeliveryTestbed, to url: String, timeout: Duration = .seconds(30)
    ) async throws -> (endpoint: EndpointView, delivery: DeliveryView, caseId: String) {
        let created = try await bed.admin.createEndpoint(url: url, roles: ["ppa"])
        if let path = URL(string: url)?.path, !path.isEmpty {
            try await bed.receiver.register(secrets: [path: created.secret])
        }
        let hubCase = try await bed.admin.createCase(mrn: "RM-\(UUID().uuidString.prefix(6))")
        _ = try await bed.admin.postText("Mohon evaluasi ulang", caseId: hubCase.id, thread: "ppa")
        let deliveries = try await settledDeliveries(bed.admin, caseId: hubCase.id, count: 1, timeout: timeout)
        let delivery = try #require(deliveries.first)
        #expect(delivery.endpointId == created.endpoint.id && delivery.channel == "webhook", "\(delivery)")
        return (created.endpoint, delivery, hubCase.id)
    }

    // MARK: 1. Signed, thin webhooks to the endpoints whose roles see the thread

    /// Every webhook is verified by the official Standard Webhooks library; its `webhook-id`
    /// is the delivery's event id; the payload is thin (no message text) unless the endpoint
    /// opted in with `include_text`; `events` filters by type; every attempt is logged.
    @Test(.timeLimit(.minutes(2)))
    func webhooksAreSignedThinAndCarryTheEventId() async throws {
        try await withDeliveryTestbed("webhook-signed", settings: Self.allowPrivate) { bed in
            let (admin, receiver) = (bed.admin, bed.receiver)
            let thin = try await admin.createEndpoint(url: receiver.url("/ok/thin"), roles: ["ppa"])
            let withText = try await admin.createEndpoint(
                url: receiver.url("/ok/text"), roles: ["ppa"], events: ["message.posted"], includeText: true)
            #expect(thin.secret.hasPrefix("whsec_") && withText.secret.hasPrefix("whsec_"))
            #expect(!thin.endpoint.includeText && withText.endpoint.includeText)
            try await receiver.register(secrets: ["/ok/thin": thin.secret, "/ok/text": withText.secret])

            let hubCase = try await admin.createCase(mrn: "RM-WH-1")
            let texts = ["Tekanan darah 150/90 mmHg, mohon evaluasi Sp.JP", "Hasil EKG: sinus takikardia \"ringan\"\nmohon konfirmasi"]
            var messages: [MessageView] = []
            for text in texts { messages.append(try await admin.postText(text, caseId: hubCase.id, thread: "ppa")) }
            let acked = try await admin.post("/v1/cases/\(hubCase.id)/messages/\(messages[0].id)/ack", json: "{}")
            #expect(acked.status == 200, "\(acked)")

            // thin: two message.posted and one message.acked; text: the two message.posted only.
            let deliveries = try await Self.settledDeliveries(admin, caseId: hubCase.id, count: 5)
            let requests = try await Self.receivedRequests(receiver, count: 5)
            #expect(deliveries.allSatisfy { $0.status == "delivered" && $0.codes == [204] }, "\(deliveries)")
            #expect(requests.count == 5, "\(requests)")
            let thinDeliveries = deliveries.filter { $0.endpointId == thin.endpoint.id }
            let textDeliveries = deliveries.filter { $0.endpointId == withText.endpoint.id }
            #expect(thinDeliveries.map(\.eventType).sorted() == ["message.acked", "message.posted", "message.posted"], "\(thinDeliveries)")
            #expect(textDeliveries.map(\.eventType) == ["message.posted", "message.posted"], "\(textDeliveries)")

            for delivery in deliveries {
                let prefix = delivery.endpointId == thin.endpoint.id ? "/ok/thin" : "/ok/text"
                let matching = requests.filter { $0.path.hasPrefix(prefix) && $0.webhookId == delivery.eventId }
                #expect(matching.count == 1, "requests for \(delivery): \(matching)")
                guard let request = matching.first else { continue }
                try Self.expectSignedWebhook(request, for: delivery)
                let data = try request.payload()["data"] as? [String: Any] ?? [:]
                let message = messages.first { $0.seq == delivery.eventSeq }
                if prefix == "/ok/thin" {
                    for word in ["Tekanan", "takikardia", "konfirmasi"] {
                        #expect(!request.body.contains(word), "a thin payload carries message text: \(request)")
                    }
                    #expect(data["message"] == nil && data["body"] == nil, "\(request)")
                } else {
                    let included = data["message"] as? [String: Any]
                    #expect(included?["body"] as? String == message?.body, "the include_text payload lacks the message text: \(request)")
                    #expect(included?["id"] as? String == message?.id, "\(request)")
                }
            }
            // A webhook-id names one event: the two endpoints got the same ids for the same events.
            let postedIds = Set(deliveries.filter { $0.eventType == "message.posted" }.map(\.eventId))
            #expect(postedIds.count == 2, "\(deliveries)")
            try await Self.expectAttemptsLogged(deliveries, admin: admin, caseId: hubCase.id)
        }
    }

    /// An endpoint hears only of threads its roles may read: a payer endpoint gets the payer
    /// thread and never the PPA thread; a PPA endpoint gets the PPA and family threads but
    /// not the payer thread.
    @Test(.timeLimit(.minutes(2)))
    func endpointRolesDecideWhichThreadsReachIt() async throws {
        try await withDeliveryTestbed("webhook-roles", settings: Self.allowPrivate) { bed in
            let (admin, receiver) = (bed.admin, bed.receiver)
            let payer = try await admin.createEndpoint(url: receiver.url("/ok/payer"), roles: ["payer"])
            let ppa = try await admin.createEndpoint(url: receiver.url("/ok/ppa"), roles: ["ppa"])
            try await receiver.register(secrets: ["/ok/payer": payer.secret, "/ok/ppa": ppa.secret])

            let hubCase = try await admin.createCase(mrn: "RM-WH-ROLES")
            for thread in ["ppa", "payer", "family"] {
                _ = try await admin.postText("Catatan untuk utas \(thread)", caseId: hubCase.id, thread: thread)
            }
            // Deliveries are queued with the message, so the full set exists already.
            let deliveries = try await Self.settledDeliveries(admin, caseId: hubCase.id, count: 3)
            let payerThreads = deliveries.filter { $0.endpointId == payer.endpoint.id }.compactMap(\.thread).sorted()
            let ppaThreads = deliveries.filter { $0.endpointId == ppa.endpoint.id }.compactMap(\.thread).sorted()
            #expect(payerThreads == ["payer"], "payer endpoint deliveries: \(deliveries)")
            #expect(ppaThreads == ["family", "ppa"], "ppa endpoint deliveries: \(deliveries)")
            #expect(deliveries.allSatisfy { $0.status == "delivered" }, "\(deliveries)")

            let requests = try await Self.receivedRequests(receiver, count: 3)
            let threadsAt = { (prefix: String) in try requests.filter { $0.path.hasPrefix(prefix) }.map { try $0.payload()["thread"] as? String ?? "?" }.sorted() }
            #expect(try threadsAt("/ok/payer") == ["payer"], "\(requests)")
            #expect(try threadsAt("/ok/ppa") == ["family", "ppa"], "\(requests)")
            #expect(requests.allSatisfy { $0.verified == true }, "\(requests)")
        }
    }

    // MARK: 2. Receiver faults, with a short schedule

    /// 500, 500, then 204: delivered on the third attempt, every attempt with the same webhook-id.
    @Test(.timeLimit(.minutes(2)))
    func flakyReceiverGetsTheSameWebhookIdUntilDelivered() async throws {
        try await withDeliveryTestbed("webhook-flaky", settings: Self.privateAndShort) { bed in
            let (_, delivery, caseId) = try await Self.deliverOneWebhook(bed, to: bed.receiver.url("/flaky/2/a"))
            #expect(delivery.status == "delivered" && delivery.codes == [500, 500, 204], "\(delivery)")
            let requests = try await Self.receivedRequests(bed.receiver, under: "/flaky/2/a", count: 3)
            #expect(requests.map(\.answered) == [500, 500, 204], "\(requests)")
            #expect(requests.allSatisfy { $0.webhookId == delivery.eventId && $0.verified == true }, "\(requests)")
            try await Self.expectAttemptsLogged([delivery], admin: bed.admin, caseId: caseId)
        }
    }

    /// A receiver that always answers 500: dead after the first attempt and the schedule's
    /// three retries, with the receiver's answer kept.
    @Test(.timeLimit(.minutes(2)))
    func serverErrorsEndDeadAfterTheSchedule() async throws {
        try await withDeliveryTestbed("webhook-500", settings: Self.privateAndShort) { bed in
            let (endpoint, delivery, caseId) = try await Self.deliverOneWebhook(bed, to: bed.receiver.url("/status/500/a"))
            #expect(delivery.status == "dead" && delivery.codes == [500, 500, 500, 500], "\(delivery)")
            #expect(delivery.nextAttemptAt == nil, "\(delivery)")
            #expect(delivery.attempts.allSatisfy { $0.response?.contains("500") == true }, "the receiver's answer is not kept: \(delivery.attempts)")
            let requests = try await Self.receivedRequests(bed.receiver, under: "/status/500/a", count: 4)
            #expect(requests.count == 4 && requests.allSatisfy { $0.webhookId == delivery.eventId }, "\(requests)")
            #expect(try await bed.admin.endpoint(id: endpoint.id).enabled, "a few 500s must not disable the endpoint")
            try await Self.expectAttemptsLogged([delivery], admin: bed.admin, caseId: caseId)
        }
    }

    /// 429 with `Retry-After: 1`: the next attempt waits about a second (not the 100 ms of
    /// the schedule), then succeeds.
    @Test(.timeLimit(.minutes(2)))
    func retryAfterIsHonoured() async throws {
        try await withDeliveryTestbed("webhook-429", settings: Self.privateAndShort) { bed in
            let (_, delivery, caseId) = try await Self.deliverOneWebhook(bed, to: bed.receiver.url("/retry-after/1/1/a"))
            #expect(delivery.status == "delivered" && delivery.codes == [429, 204], "\(delivery)")
            if delivery.attempts.count == 2 {
                let gap = try epochMillis(delivery.attempts[1].at) - epochMillis(delivery.attempts[0].at)
                #expect(gap >= 900, "the retry came \(gap) ms after the 429 with Retry-After: 1")
                #expect(gap < 10_000, "the retry came \(gap) ms after the 429 with Retry-After: 1")
            }
            let requests = try await Self.receivedRequests(bed.receiver, under: "/retry-after/1/1/a", count: 2)
            #expect(requests.map(\.answered) == [429, 204] && requests.allSatisfy { $0.webhookId == delivery.eventId }, "\(requests)")
            try await Self.expectAttemptsLogged([delivery], admin: bed.admin, caseId: caseId)
        }
    }

    /// 410 Gone: dead after one attempt, and the endpoint is disabled with a reason; later
    /// events queue nothing for it.
    @Test(.timeLimit(.minutes(2)))
    func goneDisablesTheEndpoint() async throws {
        try await withDeliveryTestbed("webhook-410", settings: Self.privateAndShort) { bed in
            let (endpoint, delivery, caseId) = try await Self.deliverOneWebhook(bed, to: bed.receiver.url("/status/410/a"))
            #expect(delivery.status == "dead" && delivery.codes == [410], "\(delivery)")
            let after = try await bed.admin.endpoint(id: endpoint.id)
            #expect(!after.enabled, "the endpoint is still enabled after 410 Gone")
            #expect(after.disabledReason?.contains("410") == true, "disabled_reason: \(after.disabledReason ?? "nil")")

            _ = try await bed.admin.postText("Setelah 410", caseId: caseId, thread: "ppa")
            let deliveries = try await bed.admin.deliveries(caseId: caseId)
            #expect(deliveries.count == 1, "a disabled endpoint still gets deliveries: \(deliveries)")
            #expect(try bed.receiver.requests().count == 1)
            try await Self.expectAttemptsLogged([delivery], admin: bed.admin, caseId: caseId)
        }
    }

    /// A port nothing listens on: each attempt fails without an HTTP status, is retried on
    /// the schedule, and the delivery ends dead.
    @Test(.timeLimit(.minutes(2)))
    func refusedConnectionIsRetried() async throws {
        try await withDeliveryTestbed("webhook-refused", settings: Self.privateAndShort) { bed in
            let port = try closedLoopbackPort()
            let (endpoint, delivery, caseId) = try await Self.deliverOneWebhook(bed, to: "http://127.0.0.1:\(port)/ok")
            #expect(delivery.status == "dead" && delivery.codes == [nil, nil, nil, nil], "\(delivery)")
            #expect(
                delivery.attempts.allSatisfy { $0.error?.lowercased().contains("connect") == true },
                "attempt errors do not say the connection failed: \(delivery.attempts.map(\.error))")
            #expect(try await bed.admin.endpoint(id: endpoint.id).enabled)
            try await Self.expectAttemptsLogged([delivery], admin: bed.admin, caseId: caseId)
        }
    }

    /// Twenty events (more than the per-endpoint limit of 16) to a receiver that takes 14 s per
    /// request and to a fast one: the fast endpoint has all twenty delivered long before the
    /// slow one answers anything. (14 s leaves room for a loaded machine: the suite starts
    /// dozens of tests at once, the browser test among them.)
    @Test(.timeLimit(.minutes(2)))
    func slowEndpointDoesNotDelayOthers() async throws {
        try await withDeliveryTestbed("webhook-slow", settings: Self.privateAndShort) { bed in
            let (admin, receiver) = (bed.admin, bed.receiver)
            // 14 s answers: under the webhook timeout (15 s), and long enough that a loaded test
            // machine still posts and delivers the fast ones first.
            let slow = try await admin.createEndpoint(url: receiver.url("/slow/14/a"), roles: ["ppa"])
            let fast = try await admin.createEndpoint(url: receiver.url("/ok/fast"), roles: ["ppa"])
            try await receiver.register(secrets: ["/slow/14/a": slow.secret, "/ok/fast": fast.secret])
            let hubCase = try await admin.createCase(mrn: "RM-SLOW")
            let count = 20
            let started = ContinuousClock.now
            for n in 1...count { _ = try await admin.postText("Pesan \(n)", caseId: hubCase.id, thread: "ppa") }

            let snapshot = try await waitUntil("\(count) fast deliveries delivered", timeout: .seconds(20)) {
                let deliveries = try await admin.deliveries(caseId: hubCase.id)
                let fastOnes = deliveries.filter { $0.endpointId == fast.endpoint.id }
                return (fastOnes.count == count && fastOnes.allSatisfy { $0.status == "delivered" }, deliveries)
            }
            let elapsed = ContinuousClock.now - started
            let slowOnes = snapshot.filter { $0.endpointId == slow.endpoint.id }
            // Within the slow endpoint's first 14 s answer: nothing waited for it.
            #expect(
                elapsed < .seconds(14),
                "the fast endpoint's \(count) deliveries took \(elapsed) beside a 14 s endpoint: \(snapshot.filter { $0.endpointId == fast.endpoint.id })")
            #expect(slowOnes.count == count && slowOnes.allSatisfy { $0.attempts.isEmpty }, "the slow endpoint finished something already: \(slowOnes)")

            // The slow ones are delivered too, in the end.
            let all = try await Self.settledDeliveries(admin, caseId: hubCase.id, count: 2 * count, timeout: .seconds(60))
            #expect(all.allSatisfy { $0.status == "delivered" }, "\(all)")
            #expect(try receiver.requests().allSatisfy { $0.verified == true })
        }
    }

    // MARK: 3. The private-network guard

    /// Without CASEHUB_WEBHOOK_ALLOW_PRIVATE, loopback (the live receiver) and 10.0.0.1 are
    /// refused on the first attempt: dead quickly, the error naming the address, nothing
    /// received.
    @Test(.timeLimit(.minutes(2)))
    func privateAddressesAreRefusedByDefault() async throws {
        try await withDeliveryTestbed("webhook-ssrf", settings: Self.shortSchedule) { bed in
            let (admin, receiver) = (bed.admin, bed.receiver)
            let loopback = try await admin.createEndpoint(url: receiver.url("/ok/ssrf"), roles: ["ppa"])
            let privateNetwork = try await admin.createEndpoint(url: "http://10.0.0.1/ok", roles: ["ppa"])
            try await receiver.register(secrets: ["/ok/ssrf": loopback.secret])
            let hubCase = try await admin.createCase(mrn: "RM-SSRF")
            let started = ContinuousClock.now
            _ = try await admin.postText("Jangan terkirim", caseId: hubCase.id, thread: "ppa")
            let deliveries = try await Self.settledDeliveries(admin, caseId: hubCase.id, count: 2, timeout: .seconds(20))
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(5), "refusing took \(elapsed)")
            for (endpoint, address) in [(loopback.endpoint, "127.0.0.1"), (privateNetwork.endpoint, "10.0.0.1")] {
                guard let delivery = deliveries.first(where: { $0.endpointId == endpoint.id }) else {
                    Issue.record("no delivery to \(endpoint.url): \(deliveries)")
                    continue
                }
                #expect(delivery.status == "dead" && delivery.codes == [nil], "\(delivery)")
                #expect(delivery.attempts.first?.error?.contains(address) == true, "the error does not name \(address): \(delivery)")
            }
            let received = try receiver.requests()
            #expect(received.isEmpty, "the receiver got requests: \(received)")
            try await Self.expectAttemptsLogged(deliveries, admin: admin, caseId: hubCase.id)
        }
    }

    // MARK: 4. E-mail through a real SMTP server

    /// Family members with an address get a mail when someone else posts in the family thread:
    /// correct MIME as Python's email package reads it, the author's non-ASCII name in the
    /// decoded subject, UTF-8 text and HTML parts in the recipient's locale, the HTML escaped,
    /// one conversation id per case, unique Message-IDs; no mail for one's own message.
    @Test(.timeLimit(.minutes(2)))
    func emailReachesFamilyInTheirLocaleAsOneConversationPerCase() async throws {
        let publicURL = "https://casehub.example.org"
        let from = "casehub@rs-harapan.example"
        let settings = ["CASEHUB_PUBLIC_URL": publicURL, "CASEHUB_SMTP_FROM": from]
        try await withDeliveryTestbed("email", settings: settings, mail: true) { bed in
            let (admin, sink) = (bed.admin, try bed.requireMailSink())
            let ready = try await admin.get("/readyz")
            #expect(ready.status == 200 && ready.text.contains(#""email":{"status":"configured""#), "\(ready)")

            let firstCase = try await admin.createCase(mrn: "RM-MAIL-1")
            let otherCase = try await admin.createCase(mrn: "RM-MAIL-2")
            let managerName = "Ners Ayu Ṡaraswati"
            let manager = try await admin.addParticipant(caseId: firstCase.id, role: "case_manager", name: managerName)
            let sari = try await admin.addParticipant(
                caseId: firstCase.id, role: "family", name: "Ibu Sari Wulandari", email: "sari@example.org", locale: "id")
            let anna = try await admin.addParticipant(
                caseId: firstCase.id, role: "family", name: "Anna Clarke", email: "anna@example.org", locale: "en")
            let joko = try await admin.addParticipant(caseId: otherCase.id, role: "family", name: "Pak Joko Susilo", email: "joko@example.org")
            #expect(joko.participant.locale == "id")

            let managerClient = HubClient(port: bed.server.port, token: manager.token)
            defer { managerClient.close() }
            let sariClient = HubClient(port: bed.server.port, token: sari.token)
            defer { sariClient.close() }
            let schedule = "Jadwal kontrol: Senin pukul 08.00 — mohon datang tepat waktu.\nBawa kartu BPJS & hasil lab <b>penting</b>"
            let results = "Hasil lab sudah keluar: semuanya normal ✓"
            let thanks = "Terima kasih banyak, Ners."
            let news = "Pasien dipindahkan ke ruang rawat inap."
            let first = try await managerClient.postText(schedule, caseId: firstCase.id, thread: "family")
            let second = try await managerClient.postText(results, caseId: firstCase.id, thread: "family")
            let own = try await sariClient.postText(thanks, caseId: firstCase.id, thread: "family")
            _ = try await admin.postText(news, caseId: otherCase.id, thread: "family")

            // Sari: the manager's two; Anna: those and Sari's; Joko: the other case's one.
            let deliveries = try await Self.settledDeliveries(admin, caseId: firstCase.id, count: 5)
            let otherDeliveries = try await Self.settledDeliveries(admin, caseId: otherCase.id, count: 1)
            #expect((deliveries + otherDeliveries).allSatisfy { $0.channel == "email" && $0.status == "delivered" }, "\(deliveries + otherDeliveries)")
            let toSari = deliveries.filter { $0.participantId == sari.participant.id }
            #expect(Set(toSari.map(\.eventSeq)) == [first.seq, second.seq], "Sari's mails: \(toSari)")
            #expect(!toSari.contains { $0.eventSeq == own.seq }, "Sari was mailed her own message")
            #expect(Set(deliveries.filter { $0.participantId == anna.participant.id }.map(\.eventSeq)) == [first.seq, second.seq, own.seq])
            #expect(toSari.allSatisfy { $0.target == "sari@example.org" })
            try await Self.expectAttemptsLogged(deliveries, admin: admin, caseId: firstCase.id)

            let raw = try await waitUntil("6 mails at the SMTP sink", timeout: .seconds(15)) {
                let mails = try sink.mails()
                return (mails.count >= 6, mails)
            }
            #expect(raw.count == 6, "\(raw.map(\.rcptTos))")
            var mails: [(to: String, body: String, mail: ParsedMail)] = []
            for received in raw {
                #expect(received.mailFrom == from, "envelope sender \(received.mailFrom)")
                #expect(received.rcptTos.count == 1, "\(received.rcptTos)")
                #expect(!received.data.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "a line of the mail does not end in CRLF")
                let mail = try await ParsedMail.parse(received.data, in: bed.scratch)
                let subjectLine = received.data.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject:") } ?? ""
                let rawSubjectIsASCII = subjectLine.allSatisfy { $0.isASCII }
                #expect(rawSubjectIsASCII, "a raw Subject line with 8-bit text: \(subjectLine)")
                if !mail.subject.allSatisfy({ $0.isASCII }) {
                    #expect(subjectLine.contains("=?UTF-8?"), "a non-ASCII subject not RFC 2047 encoded: \(subjectLine)")
                }
                let text = mail.part("text/plain")?.lines ?? ""
                let body = [schedule, results, thanks, news].first { text.contains($0) }
                #expect(body != nil, "the text part holds none of the messages: \(text)")
                mails.append((received.rcptTos.first ?? "", body ?? "", mail))
            }

            for (to, body, mail) in mails {
                let context = "mail to \(to) for \(body.prefix(20)): \(mail)"
                #expect(mail.defects.isEmpty, "\(context)")
                #expect(mail.contentType == "multipart/alternative", "\(context)")
                #expect(mail.parts.map(\.type) == ["text/plain", "text/html"], "\(context)")
                #expect(mail.parts.allSatisfy { $0.charset == "utf-8" }, "\(context)")
                #expect(!mail.date.isEmpty && !mail.messageId.isEmpty, "\(context)")
                #expect(mail.from.contains(from), "\(context)")
                let html = mail.part("text/html")?.text ?? ""
                let text = mail.part("text/plain")?.lines ?? ""
                if body == thanks {
                    #expect(mail.subject.contains("Ibu Sari Wulandari"), "\(context)")
                } else if body != news {
                    #expect(mail.subject.contains(managerName), "the decoded subject lacks the author's name: \(context)")
                    #expect(html.contains(managerName), "\(context)")
                }
                let caseId = body == news ? otherCase.id : firstCase.id
                #expect(text.contains("\(publicURL)/cases/\(caseId)"), "no link to the case: \(context)")
                switch to {
                case "anna@example.org":
                    #expect(mail.subject.contains("New message from") && text.contains("Dear Anna Clarke"), "not the English template: \(context)")
                    #expect(mail.toName == "Anna Clarke", "\(context)")
                case "sari@example.org":
                    #expect(mail.subject.contains("Pesan baru dari") && text.contains("Yth. Ibu Sari Wulandari"), "not the Indonesian template: \(context)")
                    #expect(mail.toName == "Ibu Sari Wulandari", "\(context)")
                case "joko@example.org":
                    #expect(mail.subject.contains("Pesan baru dari"), "not the Indonesian template: \(context)")
                default:
                    Issue.record("a mail to an unexpected recipient: \(context)")
                }
                if body == schedule {
                    #expect(html.contains("&lt;b&gt;penting&lt;/b&gt;") && !html.contains("<b>penting"), "the HTML part does not escape the text: \(html)")
                    #expect(html.contains("Bawa kartu BPJS &amp; hasil lab"), "\(html)")
                }
            }
            #expect(mails.filter { $0.to == "sari@example.org" }.map(\.body).sorted() == [results, schedule].sorted())
            #expect(mails.filter { $0.to == "anna@example.org" }.count == 3)

            // One conversation per case: In-Reply-To = References, the same for every mail of a
            // case and another for the other case; every Message-ID differs.
            let firstCaseMails = mails.filter { $0.body != news }.map(\.mail)
            let otherCaseMails = mails.filter { $0.body == news }.map(\.mail)
            let conversations = Set(firstCaseMails.map(\.inReplyTo))
            #expect(conversations.count == 1 && firstCaseMails.allSatisfy { $0.references == $0.inReplyTo }, "\(firstCaseMails.map { ($0.inReplyTo, $0.references) })")
            #expect(otherCaseMails.count == 1 && !conversations.contains(otherCaseMails[0].inReplyTo) && otherCaseMails[0].inReplyTo.hasPrefix("<"))
            #expect(Set(mails.map(\.mail.messageId)).count == mails.count, "Message-IDs repeat: \(mails.map(\.mail.messageId))")
            #expect(!conversations.contains { mails.map(\.mail.messageId).contains($0) }, "the conversation id is one mail's Message-ID")
        }
    }

    // MARK: 5. SMTP replies

    /// 451 then 250: delivered on the second attempt. 550: dead after one, the server's reply kept.
    @Test(.timeLimit(.minutes(2)))
    func smtpTemporaryFailureIsRetriedAndRejectionIsFinal() async throws {
        try await withDeliveryTestbed("email-faults", settings: Self.shortSchedule, mail: true) { bed in
            let (admin, sink) = (bed.admin, try bed.requireMailSink())
            let hubCase = try await admin.createCase(mrn: "RM-SMTP")
            let later = try await admin.addParticipant(caseId: hubCase.id, role: "family", name: "Keluarga Tunda", email: "temp-fail-1@example.org")
            let refused = try await admin.addParticipant(caseId: hubCase.id, role: "family", name: "Keluarga Tolak", email: "reject@example.org")
            _ = try await admin.postText("Kabar terbaru dari ruang rawat", caseId: hubCase.id, thread: "family")

            let deliveries = try await Self.settledDeliveries(admin, caseId: hubCase.id, count: 2)
            let retried = try #require(deliveries.first { $0.participantId == later.participant.id })
            let rejected = try #require(deliveries.first { $0.participantId == refused.participant.id })
            #expect(retried.status == "delivered" && retried.attempts.count == 2 && retried.codes.first == 451, "\(retried)")
            #expect(retried.attempts.first?.response?.contains("451 4.3.0 try again later") == true, "the 451 reply is not kept: \(retried.attempts)")
            #expect(rejected.status == "dead" && rejected.codes == [550], "\(rejected)")
            let kept = (rejected.attempts.first?.error ?? "") + " " + (rejected.attempts.first?.response ?? "")
            #expect(kept.contains("mailbox unavailable"), "the server's 550 reply is not kept: \(rejected.attempts)")
            try await Self.expectAttemptsLogged(deliveries, admin: admin, caseId: hubCase.id)

            let mails = try await waitUntil("the retried mail at the sink", timeout: .seconds(10)) {
                let mails = try sink.mails()
                return (!mails.isEmpty, mails)
            }
            #expect(mails.map(\.rcptTos) == [["temp-fail-1@example.org"]], "\(mails.map(\.rcptTos))")
        }
    }

    // MARK: 6. No SMTP server configured

    /// E-mail deliveries wait, saying why, while webhooks flow; /readyz reports it.
    @Test(.timeLimit(.minutes(2)))
    func emailWaitsWhenNoSMTPServerIsConfigured() async throws {
        try await withDeliveryTestbed("email-unconfigured", settings: Self.privateAndShort) { bed in
            let (admin, receiver) = (bed.admin, bed.receiver)
            let endpoint = try await admin.createEndpoint(url: receiver.url("/ok/nosmtp"), roles: ["ppa"])
            let hubCase = try await admin.createCase(mrn: "RM-NO-SMTP")
            let family = try await admin.addParticipant(caseId: hubCase.id, role: "family", name: "Ibu Rina", email: "rina@example.org")
            _ = try await admin.postText("Mohon hadir besok pagi", caseId: hubCase.id, thread: "family")

            _ = try await waitUntil("the webhook delivered", timeout: .seconds(15)) {
                let deliveries = try await admin.deliveries(caseId: hubCase.id)
                return (deliveries.contains { $0.endpointId == endpoint.endpoint.id && $0.status == "delivered" }, deliveries)
            }
            // Several of the worker's polls later, the e-mail has still not been tried.
            try await Task.sleep(for: .seconds(1))
            let deliveries = try await admin.deliveries(caseId: hubCase.id)
            let email = try #require(deliveries.first { $0.channel == "email" }, "no e-mail delivery: \(deliveries)")
            #expect(email.participantId == family.participant.id && email.target == "rina@example.org", "\(email)")
            #expect(email.status == "pending" && email.attempts.isEmpty, "\(email)")
            #expect(email.waiting?.contains("SMTP") == true, "waiting does not say why: \(email)")

            let ready = try await admin.get("/readyz")
            #expect(ready.status == 200, "\(ready)")
            let object = try JSONSerialization.jsonObject(with: ready.body) as? [String: Any]
            let emailState = object?["email"] as? [String: Any]
            #expect(emailState?["status"] as? String == "waiting", "\(ready)")
            #expect((emailState?["reason"] as? String)?.contains("SMTP") == true, "\(ready)")
        }
    }

    // MARK: 7. SIGKILL with a backlog

    /// 40 events to a receiver taking 0.5 s each; SIGKILL while deliveries are in flight;
    /// restart on the same database: every delivery ends delivered, each event reached the
    /// receiver, a re-sent event kept its webhook-id, and the log's chain holds.
    @Test(.timeLimit(.minutes(3)))
    func crashWithBacklogDeliversEverythingAfterRestart() async throws {
        let scratch = try Scratch("delivery-crash")
        defer { scratch.remove() }
        let receiver = try await WebhookReceiver.start(in: scratch)
        defer { receiver.stop() }
        let environment = scratch.environment(Self.allowPrivate.merging(["CASEHUB_RETRY_SCHEDULE": "200ms,500ms,1s,2s"]) { _, new in new })
        let token = try await issueAdminToken(in: scratch, environment: environment)

        let first = try await HubServer.start(in: scratch, environment: environment)
        defer { first.stop() }
        let client = HubClient(port: first.port, token: token)
        defer { client.close() }
        let path = "/slow/0.5/crash"
        let endpoint = try await client.createEndpoint(url: receiver.url(path), roles: ["ppa"])
        try await receiver.register(secrets: [path: endpoint.secret])
        let hubCase = try await client.createCase(mrn: "RM-CRASH")
        let count = 40
        for n in 1...count { _ = try await client.postText("Antrean \(n)", caseId: hubCase.id, thread: "ppa") }

        // A few answered, most still queued or in flight: SIGKILL.
        let beforeKill = try await Self.receivedRequests(receiver, under: path, count: 4, timeout: .seconds(20), every: .milliseconds(10))
        first.crash()
        #expect(first.child.process.terminationReason == .uncaughtSignal)
        #expect(Set(beforeKill.compactMap(\.webhookId)).count < count, "everything was delivered before the kill: no backlog")

        let second = try await HubServer.start(in: scratch, environment: environment)
        defer { second.stop() }
        let after = HubClient(port: second.port, token: token)
        defer { after.close() }
        let deliveries = try await Self.settledDeliveries(after, caseId: hubCase.id, count: count, timeout: .seconds(60))
        #expect(deliveries.allSatisfy { $0.status == "delivered" }, "not delivered after the restart: \(deliveries.filter { $0.status != "delivered" })")
        try await Self.expectAttemptsLogged(deliveries, admin: after, caseId: hubCase.id)

        // Requests cut off by the kill are recorded once the receiver's sleep ends.
        try await Task.sleep(for: .milliseconds(500))
        let requests = try receiver.requests(under: path)
        #expect(requests.allSatisfy { $0.verified == true }, "unverified: \(requests.filter { $0.verified != true })")
        let received = Set(requests.compactMap(\.webhookId))
        let missing = deliveries.filter { !received.contains($0.eventId) }
        #expect(missing.isEmpty, "\(missing.count) events never reached the receiver, e.g. \(missing.prefix(3))")
        // Grouped by the event's seq: one webhook-id per event, whichever attempt carried it.
        var idsBySeq: [Int: Set<String>] = [:]
        for request in requests {
            let payload = try request.payload()
            #expect(payload["id"] as? String == request.webhookId, "\(request)")
            idsBySeq[payload["seq"] as? Int ?? -1, default: []].insert(request.webhookId ?? "")
        }
        let mixed = idsBySeq.filter { $0.value.count != 1 }
        #expect(mixed.isEmpty, "events re-sent under another webhook-id: \(mixed)")
        let resent = requests.count - received.count
        #expect(resent >= 1, "no event in flight at the kill was sent again (\(requests.count) requests for \(received.count) events)")

        second.stop()
        let verify = try await runCaseHub(["log", "verify", hubCase.id], in: scratch, environment: environment)
        #expect(verify.status == 0, "\(verify)")
        print("delivery crash test: \(beforeKill.count) requests answered before SIGKILL, \(requests.count) in all for \(count) events (\(resent) re-sent)")
    }
}
