import CaseHubCore
import Foundation
import HTTPTypes
import Testing

/// The outbox as the API shows it. No delivery worker runs here, so every delivery stays
/// `pending` with no attempts.
@Suite("Deliveries")
struct DeliveriesTests {
    static let smtpMissing = "no SMTP server is configured (CASEHUB_SMTP_URL)"

    static func ids(_ list: [JSONObject]) -> [String] {
        list.compactMap { $0["id"] as? String }
    }

    /// The `notification.queued` entry under the entry at `seq`.
    static func notification(_ log: [JSONObject], under seq: Int) -> [JSONObject] {
        log.filter { $0["type"] as? String == "notification.queued" && $0["parent_seq"] as? Int == seq }
    }

    @Test("posting a message queues its deliveries in the same transaction, shown pending by GET /v1/deliveries")
    func queuedWithTheMessage() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let endpoint = try await hub.createWebhookEndpoint(url: "https://ppa.example.org/hook", events: ["message.posted"], roles: ["ppa"])
            #expect(try await hub.deliveries().deliveries.isEmpty)

            let message = try await hub.postMessage(caseId: caseId, thread: "ppa", body: marker("clinical"))
            let seq = try #require(message["seq"] as? Int)
            let page = try await hub.deliveries()
            #expect(page.hasMore == false)
            #expect(page.deliveries.count == 1)
            let delivery = try #require(page.deliveries.first)
            #expect(Set(delivery.keys) == deliveryFields, "fields: \(delivery.keys.sorted())")
            #expect((delivery["id"] as? String)?.isEmpty == false)
            #expect(delivery["status"] as? String == "pending")
            #expect(delivery["channel"] as? String == "webhook")
            #expect(delivery["target"] as? String == "https://ppa.example.org/hook")
            #expect(delivery["endpoint_id"] as? String == endpoint.endpoint["id"] as? String)
            #expect(isNull(delivery["participant_id"]))
            #expect((delivery["event_id"] as? String)?.hasPrefix("evt_") == true, "event_id: \(delivery["event_id"] ?? "nil")")
            #expect(delivery["event_type"] as? String == "message.posted")
            #expect(delivery["event_seq"] as? Int == seq)
            #expect(delivery["case_id"] as? String == caseId)
            #expect(delivery["thread"] as? String == "ppa")
            #expect((delivery["attempts"] as? [Any])?.isEmpty == true)
            #expect(isUTCTimestamp(delivery["next_attempt_at"]), "due at once: \(delivery["next_attempt_at"] ?? "nil")")
            #expect(isUTCTimestamp(delivery["created_at"]))
            #expect(isNull(delivery["waiting"]))

            // The notification.queued entry sits right after the message in the log (written in
            // its transaction), under it, naming the delivery.
            let log = try await hub.log(caseId: caseId)
            let queued = Self.notification(log, under: seq)
            #expect(queued.count == 1, "one notification.queued under seq \(seq)")
            let entry = try #require(queued.first)
            #expect(entry["seq"] as? Int == seq + 1)
            #expect(entry["thread"] as? String == "ppa")
            #expect((entry["actor"] as? JSONObject)?["role"] as? String == "system")
            let data = try #require(entry["data"] as? JSONObject)
            #expect(data["event_id"] as? String == delivery["event_id"] as? String)
            #expect(data["event_type"] as? String == "message.posted")
            let listed = try #require(data["deliveries"] as? [JSONObject])
            #expect(listed.count == 1)
            #expect(listed.first?["id"] as? String == delivery["id"] as? String)
            #expect(listed.first?["channel"] as? String == "webhook")
            #expect(listed.first?["target"] as? String == "https://ppa.example.org/hook")
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)

            // A message that is refused queues nothing.
            let badReply = try await hub.post(
                "/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken,
                json: #"{"body": "x", "reply_to": "\#(UUID().uuidString.lowercased())"}"#)
            expectError(badReply, .badRequest, "invalid_request", naming: "reply_to")
            #expect(try await hub.post("/v1/cases/\(caseId)/close", token: hub.adminToken, json: "{}").status == .ok)
            let closed = try await hub.post("/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken, json: #"{"body": "late"}"#)
            expectError(closed, .conflict, "conflict")
            #expect(Self.ids(try await hub.deliveries().deliveries) == [delivery["id"] as? String ?? ""])
            #expect(Self.notification(try await hub.log(caseId: caseId), under: seq).count == 1)
            #expect(try await hub.log(caseId: caseId).filter { $0["type"] as? String == "notification.queued" }.count == 1)
        }
    }

    @Test("one event queues one delivery per target under one event id and one notification.queued")
    func oneEventManyTargets() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            let first = try await hub.createWebhookEndpoint(roles: ["ppa"])
            let second = try await hub.createWebhookEndpoint(roles: ["case_manager"])
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal kunjungan besok")
            let seq = try #require(message["seq"] as? Int)
            let all = try await hub.deliveries().deliveries
            #expect(all.count == 3, "two webhooks and one e-mail: \(all)")
            #expect(Set(all.compactMap { $0["event_id"] as? String }).count == 1, "one event id for the event")
            #expect(all.allSatisfy { $0["event_seq"] as? Int == seq && $0["thread"] as? String == "family" })
            #expect(Set(all.compactMap { $0["target"] as? String }) == [
                first.endpoint["url"] as? String ?? "", second.endpoint["url"] as? String ?? "", "sari@example.org",
            ])
            let email = try #require(all.first { $0["channel"] as? String == "email" })
            #expect(email["participant_id"] as? String == family.participant["id"] as? String)
            #expect(isNull(email["endpoint_id"]))

            let entry = try #require(Self.notification(try await hub.log(caseId: caseId), under: seq).first)
            let data = try #require(entry["data"] as? JSONObject)
            let listed = try #require(data["deliveries"] as? [JSONObject])
            #expect(Set(Self.ids(listed)) == Set(Self.ids(all)))
            #expect(data["event_id"] as? String == all.first?["event_id"] as? String)
            for delivery in all {
                let named = try #require(listed.first { $0["id"] as? String == delivery["id"] as? String })
                #expect(named["channel"] as? String == delivery["channel"] as? String)
                #expect(named["target"] as? String == delivery["target"] as? String)
            }
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)

            // The same Idempotency-Key answers the first message and queues nothing more.
            var headers = HTTPFields()
            headers[HubClient.idempotencyKey] = "key-1"
            let once = try await hub.post("/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken, json: #"{"body": "a"}"#, headers: headers)
            #expect(once.status == .created)
            let count = try await hub.deliveries().deliveries.count
            let replay = try await hub.post("/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken, json: #"{"body": "a"}"#, headers: headers)
            #expect(replay.status == .ok)
            #expect(try await hub.deliveries().deliveries.count == count)
        }
    }

    @Test("an endpoint hears of a thread only when one of its roles may see it")
    func roleByThread() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let payer = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["payer"])
            let ppa = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["ppa"])
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: marker("ppa only"))
            let afterPPA = try await hub.deliveries().deliveries
            #expect(deliveries(afterPPA, endpoint: payer.endpoint).isEmpty, "a payer endpoint never hears of the PPA thread")
            #expect(deliveries(afterPPA, endpoint: ppa.endpoint).count == 1)

            // Every role against every thread, and a combination of roles.
            var endpoints: [(roles: Set<String>, endpoint: JSONObject)] = [(["payer"], payer.endpoint), (["ppa"], ppa.endpoint)]
            for role in participantRoles + ["admin"] where role != "payer" && role != "ppa" {
                endpoints.append(([role], try await hub.createWebhookEndpoint(events: ["message.posted"], roles: [role]).endpoint))
            }
            let pair = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["family", "payer"])
            endpoints.append((["family", "payer"], pair.endpoint))
            for thread in allThreads {
                _ = try await hub.postMessage(caseId: caseId, thread: thread, body: "to \(thread)")
            }
            let earlier = Set(Self.ids(afterPPA))
            let all = try await hub.deliveries("limit=200").deliveries.filter { !earlier.contains($0["id"] as? String ?? "") }
            for (roles, endpoint) in endpoints {
                let expected = roles.reduce(into: Set<String>()) { $0.formUnion(expectedAccess[$1] ?? []) }
                let threads = deliveries(all, endpoint: endpoint).compactMap { $0["thread"] as? String }
                #expect(Set(threads) == expected, "roles \(roles.sorted()) heard of \(threads.sorted()), expected \(expected.sorted())")
                #expect(threads.count == expected.count, "one delivery per message for \(roles.sorted()): \(threads)")
            }
        }
    }

    @Test("an endpoint gets only the event types it subscribes to")
    func eventTypes() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let acked = try await hub.createWebhookEndpoint(events: ["message.acked"], roles: ["case_manager"])
            let posted = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["case_manager"])
            let every = try await hub.createWebhookEndpoint(events: ["*"], roles: ["case_manager"])

            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "please confirm", extra: #""requires_ack": true"#)
            let id = try #require(message["id"] as? String)
            var all = try await hub.deliveries().deliveries
            #expect(deliveries(all, endpoint: acked.endpoint).isEmpty, "no delivery before the ack")
            #expect(deliveries(all, endpoint: posted.endpoint).count == 1)

            let ack = try await hub.post("/v1/cases/\(caseId)/messages/\(id)/ack", token: manager.token, json: "{}")
            #expect(ack.status == .ok, "\(ack)")
            let log = try await hub.log(caseId: caseId)
            let ackEntry = try #require(entry(log, type: "message.acked", messageId: id))
            let ackSeq = try #require(ackEntry["seq"] as? Int)
            all = try await hub.deliveries().deliveries
            let onAck = deliveries(all, endpoint: acked.endpoint)
            #expect(onAck.count == 1)
            #expect(onAck.first?["event_type"] as? String == "message.acked")
            #expect(onAck.first?["event_seq"] as? Int == ackSeq)
            #expect(onAck.first?["thread"] as? String == "family")
            #expect(deliveries(all, endpoint: posted.endpoint).count == 1, "the ack is not a post")
            #expect(Self.notification(log, under: ackSeq).count == 1)

            // The same caller acking again adds no ack, so queues nothing.
            _ = try await hub.post("/v1/cases/\(caseId)/messages/\(id)/ack", token: manager.token, json: "{}")
            #expect(deliveries(try await hub.deliveries().deliveries, endpoint: acked.endpoint).count == 1)

            // Edits, relays and redactions: "*" hears them all, the others none.
            let edit = try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(id)", token: hub.adminToken, json: #"{"body": "edited"}"#)
            #expect(edit.status == .ok, "\(edit)")
            let relay = try await hub.post("/v1/cases/\(caseId)/messages/\(id)/relay", token: manager.token, json: #"{"to": "ppa"}"#)
            #expect(relay.status == .created, "\(relay)")
            let redact = try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(id)", token: manager.token)
            #expect(redact.status == .ok, "\(redact)")
            all = try await hub.deliveries().deliveries
            #expect(deliveries(all, endpoint: acked.endpoint).count == 1)
            let postedThreads = deliveries(all, endpoint: posted.endpoint).compactMap { $0["thread"] as? String }
            #expect(postedThreads.sorted() == ["family", "ppa"], "the relayed copy is a post in the target thread")
            // Redacting the source redacts its relayed copy too: one message.redacted per message.
            let heard = deliveries(all, endpoint: every.endpoint)
            let types = heard.compactMap { $0["event_type"] as? String }
            #expect(types.sorted() == [
                "message.acked", "message.edited", "message.posted", "message.posted", "message.redacted", "message.redacted", "message.relayed",
            ])
            let redactedThreads = heard.filter { $0["event_type"] as? String == "message.redacted" }.compactMap { $0["thread"] as? String }
            #expect(redactedThreads.sorted() == ["family", "ppa"])
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("a disabled endpoint gets no deliveries; its queued ones say why they wait")
    func disabledEndpoint() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let endpoint = try await hub.createWebhookEndpoint(roles: ["admin"])
            let other = try await hub.createWebhookEndpoint(roles: ["admin"])
            let id = try #require(endpoint.endpoint["id"] as? String)
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "before")
            let disable = try await hub.request(.patch, "/v1/endpoints/\(id)", token: hub.adminToken, json: #"{"enabled": false}"#)
            #expect(disable.status == .ok)

            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "while disabled")
            let all = try await hub.deliveries().deliveries
            let mine = deliveries(all, endpoint: endpoint.endpoint)
            #expect(mine.count == 1, "only the delivery queued before disabling")
            #expect(mine.first?["event_seq"] as? Int != message["seq"] as? Int)
            #expect(mine.first?["waiting"] as? String == "the endpoint is disabled")
            #expect(mine.first?["status"] as? String == "pending")
            #expect(deliveries(all, endpoint: other.endpoint).count == 2, "the enabled one hears both")
            #expect(deliveries(all, endpoint: other.endpoint).allSatisfy { isNull($0["waiting"]) })

            let enable = try await hub.request(.patch, "/v1/endpoints/\(id)", token: hub.adminToken, json: #"{"enabled": true}"#)
            #expect(enable.status == .ok)
            let after = try await hub.postMessage(caseId: caseId, thread: "family", body: "enabled again")
            let now = deliveries(try await hub.deliveries().deliveries, endpoint: endpoint.endpoint)
            #expect(now.count == 2)
            #expect(now.contains { $0["event_seq"] as? Int == after["seq"] as? Int })
            #expect(now.allSatisfy { isNull($0["waiting"]) })
        }
    }

    @Test("e-mail goes to family and patient participants with an address who may see the thread, not the author")
    func emailRecipients() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let sari = try await hub.addParticipant(caseId: caseId, role: "family", name: "Ibu Sari", email: "sari@example.org")
            let dewi = try await hub.addParticipant(caseId: caseId, role: "family", name: "Dewi", email: "dewi@example.org")
            _ = try await hub.addParticipant(caseId: caseId, role: "family", name: "Tanpa Surel")
            let patient = try await hub.addParticipant(caseId: caseId, role: "patient", email: "budi@example.org")
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa", email: "ppa@example.org")
            _ = try await hub.addParticipant(caseId: caseId, role: "payer", email: "payer@example.org")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager", email: "rina@example.org")

            func emails(for message: JSONObject) async throws -> [JSONObject] {
                try await hub.deliveries("limit=200").deliveries.filter {
                    $0["channel"] as? String == "email" && $0["event_seq"] as? Int == message["seq"] as? Int
                }
            }

            // Someone else posts in the family thread: both family members with an address hear.
            let fromManager = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal besok", token: manager.token)
            let toFamily = try await emails(for: fromManager)
            #expect(Set(toFamily.compactMap { $0["target"] as? String }) == ["sari@example.org", "dewi@example.org"])
            #expect(toFamily.count == 2)
            let toSari = try #require(toFamily.first { $0["target"] as? String == "sari@example.org" })
            #expect(Set(toSari.keys) == deliveryFields)
            #expect(toSari["participant_id"] as? String == sari.participant["id"] as? String)
            #expect(isNull(toSari["endpoint_id"]))
            #expect(toSari["status"] as? String == "pending")
            #expect(toSari["thread"] as? String == "family")
            #expect(toSari["event_type"] as? String == "message.posted")
            #expect(isNull(toSari["waiting"]), "no emailWaiting given: nothing holds it back")

            // The author hears nothing of their own message.
            let fromSari = try await hub.postMessage(caseId: caseId, thread: "family", body: "Terima kasih", token: sari.token)
            let fromSariEmails = try await emails(for: fromSari)
            #expect(fromSariEmails.compactMap { $0["target"] as? String } == ["dewi@example.org"])
            #expect(fromSariEmails.first?["participant_id"] as? String == dewi.participant["id"] as? String)

            // The PPA and payer threads reach no family or patient; the patient thread the patient.
            let inPPA = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "internal", token: ppa.token)
            #expect(try await emails(for: inPPA).isEmpty)
            let inPayer = try await hub.postMessage(caseId: caseId, thread: "payer", body: "claim")
            #expect(try await emails(for: inPayer).isEmpty, "payer participants get no e-mail")
            let inPatient = try await hub.postMessage(caseId: caseId, thread: "patient", body: "Selamat pagi")
            let toPatient = try await emails(for: inPatient)
            #expect(toPatient.compactMap { $0["target"] as? String } == ["budi@example.org"])
            #expect(toPatient.first?["participant_id"] as? String == patient.participant["id"] as? String)

            // Only new messages are e-mailed: an edit or an ack queues no e-mail.
            let total = try await hub.deliveries("limit=200").deliveries.count
            let id = try #require(fromManager["id"] as? String)
            let edit = try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(id)", token: manager.token, json: #"{"body": "Jadwal lusa"}"#)
            #expect(edit.status == .ok)
            #expect(try await hub.post("/v1/cases/\(caseId)/messages/\(id)/ack", token: sari.token, json: "{}").status == .ok)
            #expect(try await hub.deliveries("limit=200").deliveries.count == total)

            // The log names each e-mail under its message, and stays intact.
            let log = try await hub.log(caseId: caseId)
            let managerSeq = try #require(fromManager["seq"] as? Int)
            let entry = try #require(Self.notification(log, under: managerSeq).first)
            let listed = try #require((entry["data"] as? JSONObject)?["deliveries"] as? [JSONObject])
            #expect(Set(listed.compactMap { $0["target"] as? String }) == ["sari@example.org", "dewi@example.org"])
            #expect(listed.allSatisfy { $0["channel"] as? String == "email" })
            let ppaSeq = try #require(inPPA["seq"] as? Int)
            #expect(Self.notification(log, under: ppaSeq).isEmpty, "nothing queued, no entry")
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("waiting says why e-mail waits when no SMTP server is configured, and /readyz says so too")
    func emailWaiting() async throws {
        try await withHub(emailWaiting: Self.smtpMissing) { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            _ = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            let endpoint = try await hub.createWebhookEndpoint(roles: ["family"])
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "hello")
            let all = try await hub.deliveries().deliveries
            let email = try #require(all.first { $0["channel"] as? String == "email" })
            #expect(email["waiting"] as? String == Self.smtpMissing)
            #expect(email["status"] as? String == "pending")
            let webhook = try #require(deliveries(all, endpoint: endpoint.endpoint).first)
            #expect(isNull(webhook["waiting"]), "webhooks do not wait for SMTP")

            let retried = try await hub.post("/v1/deliveries/\(email["id"] as? String ?? "")/retry", token: hub.adminToken, json: "{}")
            #expect(retried.status == .ok)
            #expect(try retried.json()["waiting"] as? String == Self.smtpMissing)

            let ready = try await hub.get("/readyz", token: nil)
            #expect(ready.status == .ok)
            let object = try ready.json()
            #expect(object["status"] as? String == "ready")
            let mail = try #require(object["email"] as? JSONObject, "\(ready)")
            #expect(mail["status"] as? String == "waiting")
            #expect(mail["reason"] as? String == Self.smtpMissing)
        }
        try await withHub { hub in
            let object = try await hub.get("/readyz", token: nil).json()
            #expect(object["status"] as? String == "ready")
            let mail = try #require(object["email"] as? JSONObject)
            #expect(mail["status"] as? String == "configured")
            #expect(mail["reason"] == nil)
        }
    }

    @Test("GET /v1/deliveries filters by status, case and endpoint")
    func filters() async throws {
        try await withHub { hub in
            let caseA = try #require(try await hub.createCase()["id"] as? String)
            let caseB = try #require(try await hub.createCase()["id"] as? String)
            let one = try await hub.createWebhookEndpoint(roles: ["admin"])
            let two = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["family"])
            for caseId in [caseA, caseB] {
                _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "f")
                _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "p")
            }
            let all = try await hub.deliveries().deliveries
            #expect(all.count == 6, "one: 4, two: 2 (family thread only)")
            let allIds = Self.ids(all)
            #expect(allIds == allIds.sorted(by: >), "newest first")

            let pending = try await hub.deliveries("status=pending")
            #expect(Self.ids(pending.deliveries) == allIds)
            for status in ["delivered", "failed", "dead"] {
                let page = try await hub.deliveries("status=\(status)")
                #expect(page.deliveries.isEmpty && page.hasMore == false, "status=\(status)")
            }
            expectError(try await hub.get("/v1/deliveries?status=sent", token: hub.adminToken), .badRequest, "invalid_request", naming: "status")

            let inA = try await hub.deliveries("case=\(caseA)").deliveries
            #expect(inA.count == 3)
            #expect(inA.allSatisfy { $0["case_id"] as? String == caseA })
            let ofTwo = try await hub.deliveries("endpoint=\(two.endpoint["id"] as? String ?? "")").deliveries
            #expect(ofTwo.count == 2)
            #expect(ofTwo.allSatisfy { $0["endpoint_id"] as? String == two.endpoint["id"] as? String && $0["thread"] as? String == "family" })
            let both = try await hub.deliveries("case=\(caseB)&endpoint=\(one.endpoint["id"] as? String ?? "")&status=pending").deliveries
            #expect(both.count == 2)
            #expect(both.allSatisfy { $0["case_id"] as? String == caseB && $0["endpoint_id"] as? String == one.endpoint["id"] as? String })
            #expect(try await hub.deliveries("case=\(UUID().uuidString.lowercased())").deliveries.isEmpty)
            #expect(try await hub.deliveries("endpoint=\(UUID().uuidString.lowercased())").deliveries.isEmpty)
        }
    }

    @Test("limit, has_more and before page through deliveries newest first; the default page is 50")
    func paging() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            _ = try await hub.createWebhookEndpoint(roles: ["admin"])
            _ = try await hub.createWebhookEndpoint(roles: ["admin"])
            for index in 0..<26 {
                _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "m\(index)")
            }
            let everything = try await hub.deliveries("limit=200")
            #expect(everything.deliveries.count == 52)
            #expect(everything.hasMore == false)
            let allIds = Self.ids(everything.deliveries)
            #expect(allIds == allIds.sorted(by: >))
            #expect(Set(allIds).count == 52)

            let first = try await hub.deliveries()
            #expect(first.deliveries.count == 50, "default limit 50")
            #expect(first.hasMore == true)
            #expect(Self.ids(first.deliveries) == Array(allIds.prefix(50)))

            // Walk in pages of 7 with before = the last id of the previous page.
            var walked: [String] = []
            var before: String?
            var pages = 0
            repeat {
                let page = try await hub.deliveries("limit=7" + (before.map { "&before=\($0)" } ?? ""))
                walked += Self.ids(page.deliveries)
                pages += 1
                #expect(page.deliveries.count == (page.hasMore ? 7 : 52 - 7 * 7))
                before = page.hasMore ? Self.ids(page.deliveries).last : nil
            } while before != nil && pages < 20
            #expect(pages == 8)
            #expect(walked == allIds)

            let exact = try await hub.deliveries("limit=52")
            #expect(exact.deliveries.count == 52 && exact.hasMore == false)
            let short = try await hub.deliveries("limit=51")
            #expect(short.deliveries.count == 51 && short.hasMore == true)
            let oldest = try await hub.deliveries("before=\(allIds[51])")
            #expect(oldest.deliveries.isEmpty && oldest.hasMore == false)
            let lastTwo = try await hub.deliveries("before=\(allIds[49])")
            #expect(Self.ids(lastTwo.deliveries) == [allIds[50], allIds[51]])
            #expect(lastTwo.hasMore == false)

            for bad in ["0", "201", "-1", "ten", ""] {
                expectError(try await hub.get("/v1/deliveries?limit=\(bad)", token: hub.adminToken), .badRequest, "invalid_request", naming: "limit")
            }
            #expect(try await hub.deliveries("limit=1").deliveries.count == 1)
        }
    }

    @Test("POST /v1/deliveries/{id}/retry answers the bare delivery, requeued; an unknown id answers 404")
    func retry() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let endpoint = try await hub.createWebhookEndpoint(roles: ["admin"])
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "x")
            let queued = try #require(try await hub.deliveries().deliveries.first)
            let id = try #require(queued["id"] as? String)
            let started = UInt64(Date().timeIntervalSince1970 * 1000)

            let reply = try await hub.post("/v1/deliveries/\(id)/retry", token: hub.adminToken, json: "{}")
            #expect(reply.status == .ok, "\(reply)")
            let delivery = try reply.json()
            #expect(Set(delivery.keys) == deliveryFields, "the bare delivery: \(delivery.keys.sorted())")
            #expect(delivery["id"] as? String == id)
            #expect(delivery["status"] as? String == "pending", "never tried: still pending")
            #expect(delivery["event_id"] as? String == queued["event_id"] as? String)
            #expect(delivery["target"] as? String == endpoint.endpoint["url"] as? String)
            #expect((delivery["attempts"] as? [Any])?.isEmpty == true)
            let due = try #require((delivery["next_attempt_at"] as? String).flatMap(Timestamp.parseMillis))
            #expect(due + 1000 >= started && due <= UInt64(Date().timeIntervalSince1970 * 1000) + 1000, "due now")
            #expect(try await hub.deliveries().deliveries.count == 1, "a retry queues no second delivery")

            // Without a body as well.
            #expect(try await hub.request(.post, "/v1/deliveries/\(id)/retry", token: hub.adminToken).status == .ok)

            // A delivery of a disabled endpoint says why it waits.
            let endpointId = try #require(endpoint.endpoint["id"] as? String)
            _ = try await hub.request(.patch, "/v1/endpoints/\(endpointId)", token: hub.adminToken, json: #"{"enabled": false}"#)
            let held = try await hub.post("/v1/deliveries/\(id)/retry", token: hub.adminToken, json: "{}")
            #expect(try held.json()["waiting"] as? String == "the endpoint is disabled")

            let log = try await hub.log(caseId: caseId)
            expectError(
                try await hub.post("/v1/deliveries/\(UUID().uuidString.lowercased())/retry", token: hub.adminToken, json: "{}"), .notFound,
                "not_found")
            #expect(try await hub.log(caseId: caseId).count == log.count)
            expectError(try await hub.post("/v1/deliveries/\(id)/retry", token: nil, json: "{}"), .unauthorized, "unauthorized")
        }
    }

    @Test("a case manager lists and retries the deliveries of its own case only; other roles may not")
    func access() async throws {
        try await withHub { hub in
            let mine = try #require(try await hub.createCase()["id"] as? String)
            let theirs = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: mine, role: "case_manager")
            _ = try await hub.createWebhookEndpoint(roles: ["admin"])
            _ = try await hub.postMessage(caseId: mine, thread: "family", body: "mine")
            _ = try await hub.postMessage(caseId: theirs, thread: "family", body: "theirs")
            let all = try await hub.deliveries().deliveries
            let ownDelivery = try #require(all.first { $0["case_id"] as? String == mine })
            let otherDelivery = try #require(all.first { $0["case_id"] as? String == theirs })

            let own = try await hub.deliveries("case=\(mine)", token: manager.token)
            #expect(Self.ids(own.deliveries) == [ownDelivery["id"] as? String ?? ""])
            expectError(try await hub.get("/v1/deliveries", token: manager.token), .badRequest, "invalid_request", naming: "case")
            expectError(try await hub.get("/v1/deliveries?status=pending", token: manager.token), .badRequest, "invalid_request", naming: "case")
            expectError(try await hub.get("/v1/deliveries?case=\(theirs)", token: manager.token), .notFound, "not_found")
            expectError(
                try await hub.get("/v1/deliveries?case=\(UUID().uuidString.lowercased())", token: manager.token), .notFound, "not_found")

            let retried = try await hub.post("/v1/deliveries/\(ownDelivery["id"] as? String ?? "")/retry", token: manager.token, json: "{}")
            #expect(retried.status == .ok, "\(retried)")
            let other = try await hub.post("/v1/deliveries/\(otherDelivery["id"] as? String ?? "")/retry", token: manager.token, json: "{}")
            expectError(other, .notFound, "not_found")

            for role in ["family", "patient", "ppa", "payer"] {
                let token = try await hub.addParticipant(caseId: mine, role: role).token
                expectError(try await hub.get("/v1/deliveries", token: token), .forbidden, "forbidden")
                expectError(try await hub.get("/v1/deliveries?case=\(mine)", token: token), .forbidden, "forbidden")
                expectError(try await hub.get("/v1/deliveries?case=\(theirs)", token: token), .notFound, "not_found")
                let ownRetry = try await hub.post("/v1/deliveries/\(ownDelivery["id"] as? String ?? "")/retry", token: token, json: "{}")
                // The delivery is of a family-thread event: a role that may not read that
                // thread is not told it exists.
                if ["family", "ppa"].contains(role) {
                    expectError(ownRetry, .forbidden, "forbidden")
                } else {
                    expectError(ownRetry, .notFound, "not_found")
                }
                let otherRetry = try await hub.post("/v1/deliveries/\(otherDelivery["id"] as? String ?? "")/retry", token: token, json: "{}")
                expectError(otherRetry, .notFound, "not_found")
            }
            expectError(try await hub.get("/v1/deliveries", token: nil), .unauthorized, "unauthorized")
        }
    }
}

/// Under an access table that keeps case managers out of the PPA thread, the deliveries of
/// that thread's events stay out of their view too.
@Suite struct DeliveriesAccessPolicyTests {
    @Test func aCaseManagerSeesOnlyDeliveriesOfThreadsItsRoleMaySee() async throws {
        var policy = AccessPolicy.default
        policy.set([.patient, .family, .payer], for: .caseManager)
        try await withHub(emailWaiting: nil, policy: policy) { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            _ = try await hub.createWebhookEndpoint(roles: ["ppa"])
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "Serah terima shift")
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal edukasi")
            let all = try await hub.deliveries("case=\(caseId)").deliveries
            #expect(Set(all.compactMap { $0["thread"] as? String }) == ["ppa", "family"])
            let seen = try await hub.deliveries("case=\(caseId)", token: manager.token).deliveries
            #expect(seen.compactMap { $0["thread"] as? String } == ["family"])
            // A case manager sees where a webhook went, not the URL's path (often a credential).
            #expect(seen.first?["target"] as? String == "https://hooks.example.org")
            #expect((all.first { $0["thread"] as? String == "family" }?["target"] as? String)?.hasPrefix("https://hooks.example.org/") == true)
            let hidden = try #require(all.first { $0["thread"] as? String == "ppa" }?["id"] as? String)
            let retry = try await hub.post("/v1/deliveries/\(hidden)/retry", token: manager.token, json: "{}")
            #expect(retry.status == .notFound)
        }
    }
}
