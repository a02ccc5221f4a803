import CaseHubCore
import CaseHubServer
import Foundation
import HTTPTypes
import Testing

/// The shipped routing rules end to end (the right threads, e-mails and endpoints, and
/// nothing to anyone else), closed-loop handoffs and payer authorizations.
@Suite("Routing") struct RoutingTests {
    static let handoff = #""kind": "handoff", "data": {"situation": "Post-op hari 2, nyeri 6/10", "background": "DM tipe 2", "assessment": "Luka bersih", "recommendation": "Ganti balutan tiap 12 jam"}"#

    static func authorizationRequest(dueAt: String? = nil) -> String {
        let due = dueAt.map { #", "due_at": "\#($0)""# } ?? ""
        return #""kind": "authorization_request", "data": {"service": "MRI lumbal", "reason": "Nyeri radikular", "urgency": "routine"\#(due)}"#
    }

    /// A case with one participant per role (family and case manager with addresses) and
    /// one webhook endpoint per role, each subscribed only to `milestone.due`: what they
    /// receive of messages comes from the rules alone.
    struct Scene {
        let caseId: String
        let manager: (participant: JSONObject, token: String)
        let ppa: (participant: JSONObject, token: String)
        let family: (participant: JSONObject, token: String)
        let patient: (participant: JSONObject, token: String)
        let payer: (participant: JSONObject, token: String)
        let endpoints: [String: JSONObject]

        init(_ hub: HubClient) async throws {
            caseId = try #require(try await hub.createCase(payer: "BPJS Kesehatan")["id"] as? String)
            manager = try await hub.addParticipant(caseId: caseId, role: "case_manager", name: "Rina", email: "rina@rs.example")
            ppa = try await hub.addParticipant(caseId: caseId, role: "ppa", name: "dr. Andi", email: "andi@rs.example")
            family = try await hub.addParticipant(caseId: caseId, role: "family", name: "Ibu Sari", email: "sari@example.org")
            patient = try await hub.addParticipant(caseId: caseId, role: "patient", name: "Budi", email: "budi@example.org")
            payer = try await hub.addParticipant(caseId: caseId, role: "payer", name: "Verifikator", email: "verif@bpjs.example")
            var endpoints: [String: JSONObject] = [:]
            for role in ["ppa", "payer", "family", "case_manager"] {
                endpoints[role] = try await hub.createWebhookEndpoint(url: "https://\(role).example/hook", events: ["milestone.due"], roles: [role]).endpoint
            }
            self.endpoints = endpoints
        }

        func post(_ hub: HubClient, thread: String, token: String, fields: String, sourceLocation: SourceLocation = #_sourceLocation) async throws
            -> JSONObject
        {
            let reply = try await hub.post("/v1/cases/\(caseId)/threads/\(thread)/messages", token: token, json: "{\(fields)}")
            #expect(reply.status == .created, "\(reply)", sourceLocation: sourceLocation)
            return try reply.json(sourceLocation: sourceLocation)
        }

        /// Deliveries of events of `message`, as (channel, target, reason).
        func deliveries(_ hub: HubClient, of message: JSONObject) async throws -> [(channel: String, target: String, reason: String?)] {
            try await hub.deliveries("case=\(caseId)&limit=200").deliveries.filter { $0["event_seq"] as? Int == message["seq"] as? Int }
                .map { ($0["channel"] as! String, $0["target"] as! String, $0["reason"] as? String) }
        }
    }

    @Test("authorization_request from the PPA thread is relayed to the payer thread and sent to payer endpoints only")
    func authorizationRequestRule() async throws {
        try await withHub { hub in
            let scene = try await Scene(hub)
            let request = try await scene.post(hub, thread: "ppa", token: scene.ppa.token, fields: #""body": "Mohon otorisasi", "# + Self.authorizationRequest())
            let requestId = try #require(request["id"] as? String)
            #expect((request["authorization"] as? JSONObject)?["status"] as? String == "requested")

            let payerThread = try await hub.messages(caseId: scene.caseId, thread: "payer")
            let copy = try #require(payerThread.first)
            #expect(payerThread.count == 1)
            #expect(copy["relayed_from"] as? String == requestId)
            #expect(copy["kind"] as? String == "authorization_request")
            #expect((copy["author"] as? JSONObject)?["role"] as? String == "system", "authored by the hub")
            #expect((copy["data"] as? JSONObject)?["service"] as? String == "MRI lumbal")

            // The payer endpoint hears of the copy (in its thread), by the rule; nobody hears of the original.
            #expect(try await scene.deliveries(hub, of: request).isEmpty)
            let toPayer = try await scene.deliveries(hub, of: copy)
            #expect(toPayer.map(\.target) == ["https://payer.example/hook"])
            #expect(toPayer.first?.reason == "authorization_request_to_payer")

            let log = try await hub.log(caseId: scene.caseId)
            let routed = try #require(log.first { $0["type"] as? String == "message.routed" })
            #expect(routed["parent_seq"] as? Int == request["seq"] as? Int)
            #expect((routed["data"] as? JSONObject)?["rule"] as? String == "authorization_request_to_payer")
            let relayed = try #require(log.first { $0["type"] as? String == "message.relayed" })
            #expect((relayed["data"] as? JSONObject)?["rule"] as? String == "authorization_request_to_payer")
            #expect(relayed["parent_seq"] as? Int == request["seq"] as? Int)
            #expect(try await hub.verify(caseId: scene.caseId)["ok"] as? Bool == true)
        }
    }

    @Test("a payer decision naming the copy sets the request's state everywhere and is relayed to the PPA thread")
    func authorizationDecisionRule() async throws {
        try await withHub { hub in
            let scene = try await Scene(hub)
            let request = try await scene.post(hub, thread: "ppa", token: scene.ppa.token, fields: Self.authorizationRequest())
            let copy = try #require(try await hub.messages(caseId: scene.caseId, thread: "payer").first)
            let copyId = try #require(copy["id"] as? String)
            let decision = try await scene.post(
                hub, thread: "payer", token: scene.payer.token,
                fields: #""body": "Disetujui", "kind": "authorization_decision", "data": {"request_id": "\#(copyId)", "decision": "approved", "note": "SEP terbit"}"#)

            let ppaThread = try await hub.messages(caseId: scene.caseId, thread: "ppa")
            let original = try #require(ppaThread.first { $0["id"] as? String == request["id"] as? String })
            let state = try #require(original["authorization"] as? JSONObject)
            #expect(state["status"] as? String == "approved" && state["decision_id"] as? String == decision["id"] as? String)
            let relayedDecision = try #require(ppaThread.first { $0["relayed_from"] as? String == decision["id"] as? String })
            #expect(relayedDecision["kind"] as? String == "authorization_decision")
            let relayedData = try #require(relayedDecision["data"] as? JSONObject)
            #expect(relayedData["request_id"] as? String == request["id"] as? String, "the PPA copy names the request in the PPA thread")
            #expect(relayedData["note"] as? String == "SEP terbit" && relayedData["decision"] as? String == "approved")
            #expect(try await hub.get("/v1/cases/\(scene.caseId)/messages/\(request["id"] as? String ?? "")", token: scene.ppa.token).status == .ok)
            let payerCopy = try #require(try await hub.messages(caseId: scene.caseId, thread: "payer").first { $0["id"] as? String == copyId })
            #expect((payerCopy["authorization"] as? JSONObject)?["status"] as? String == "approved")

            let decided = try #require(try await hub.log(caseId: scene.caseId).first { $0["type"] as? String == "authorization.decided" })
            #expect(decided["parent_seq"] as? Int == request["seq"] as? Int)
            #expect((decided["data"] as? JSONObject)?["to"] as? String == "approved")
            // Nothing of it reaches the family.
            #expect(try await hub.messages(caseId: scene.caseId, thread: "family").isEmpty)
        }
    }

    @Test("a handoff in the PPA thread requires an ack and reaches PPA endpoints only")
    func handoffRule() async throws {
        try await withHub { hub in
            let scene = try await Scene(hub)
            let handoff = try await scene.post(hub, thread: "ppa", token: scene.manager.token, fields: Self.handoff)
            #expect(handoff["requires_ack"] as? Bool == true, "the rule turns requires_ack on")
            let sent = try await scene.deliveries(hub, of: handoff)
            #expect(sent.map(\.target) == ["https://ppa.example/hook"])
            #expect(sent.first?.reason == "handoff_to_ppa")
            let routed = try #require(try await hub.log(caseId: scene.caseId).first { $0["type"] as? String == "message.routed" })
            #expect((routed["data"] as? JSONObject)?["requires_ack"] as? Bool == true)
        }
    }

    @Test("education in the family thread is e-mailed to family participants; others hear nothing")
    func educationRule() async throws {
        try await withHub { hub in
            let scene = try await Scene(hub)
            let education = try await scene.post(
                hub, thread: "family", token: scene.ppa.token,
                fields: #""body": "Cara merawat luka di rumah", "kind": "education", "data": {"topic": "Perawatan luka", "material_url": "https://rs.example/luka.pdf"}"#)
            let sent = try await scene.deliveries(hub, of: education)
            #expect(sent.map(\.channel) == ["email"])
            #expect(sent.map(\.target) == ["sari@example.org"])
            #expect(sent.first?.reason == "education_to_family", "the first rule that e-mails a person wins")
            let types = try await hub.logTypes(caseId: scene.caseId)
            #expect(!types.contains("message.routed"), "a rule that only notifies is logged by its deliveries")

            // A plain message to the patient thread e-mails the patient (the general rule).
            let toPatient = try await hub.postMessage(caseId: scene.caseId, thread: "patient", body: "Selamat pagi", token: scene.manager.token)
            let patientMail = try await scene.deliveries(hub, of: toPatient)
            #expect(patientMail.map(\.target) == ["budi@example.org"] && patientMail.first?.reason == "new_message_email")
        }
    }

    @Test("rules come from the configuration: without a rule, no e-mail; a custom rule relays and notifies")
    func customRules() async throws {
        var coordination = CoordinationSettings()
        coordination.routing = [
            RoutingRule(
                name: "urgent_family_to_ppa", threads: [.family], priorities: [.urgent], relayTo: [.ppa],
                notify: [RoutingRule.Notification(channel: .email, roles: [.ppa, .family])])
        ]
        try await withCoordinatedHub(coordination: coordination) { coordinated in
            let hub = coordinated.hub
            let scene = try await Scene(hub)
            let routine = try await hub.postMessage(caseId: scene.caseId, thread: "family", body: "Terima kasih", token: scene.family.token)
            #expect(try await scene.deliveries(hub, of: routine).isEmpty, "no rule e-mails routine family messages now")
            let urgent = try await hub.postMessage(
                caseId: scene.caseId, thread: "family", body: "Ayah sesak napas", token: scene.family.token, extra: #""priority": "urgent""#)
            let copy = try #require(try await hub.messages(caseId: scene.caseId, thread: "ppa").first)
            #expect(copy["relayed_from"] as? String == urgent["id"] as? String)
            // The PPA reads the family thread, so it hears of the original; the author hears nothing.
            let mail = try await scene.deliveries(hub, of: urgent)
            #expect(mail.map(\.target) == ["andi@rs.example"])
            #expect(try await scene.deliveries(hub, of: copy).isEmpty)
        }
    }

    @Test("an unacknowledged handoff escalates to the case manager on schedule, at most N times, and stops at the first ack")
    func closedLoop() async throws {
        var coordination = CoordinationSettings()
        coordination.ackEscalationLimit = 3
        try await withCoordinatedHub(coordination: coordination) { coordinated in
            let hub = coordinated.hub
            let scene = try await Scene(hub)
            let posted = Timestamp.nowMillis()
            let first = try await scene.post(hub, thread: "ppa", token: scene.manager.token, fields: Self.handoff)
            let second = try await scene.post(hub, thread: "ppa", token: scene.manager.token, fields: Self.handoff)

            #expect(await coordinated.fire(at: posted + 29 * minute) == 0)
            #expect(await coordinated.fire(at: posted + 31 * minute) == 2, "both handoffs escalate after ack_timeout")
            let ack = try await hub.post("/v1/cases/\(scene.caseId)/messages/\(first["id"]!)/ack", token: scene.ppa.token, json: "{}")
            #expect(ack.status == .ok)
            #expect(await coordinated.fire(at: posted + 62 * minute) == 1, "the acknowledged one stops; the other escalates again")
            #expect(await coordinated.fire(at: posted + 93 * minute) == 1)
            #expect(await coordinated.fire(at: posted + 24 * 60 * minute) == 0, "at most three rounds")

            let escalations = try await hub.log(caseId: scene.caseId).filter { $0["type"] as? String == "message.escalated" }
            let rounds = escalations.filter { ($0["data"] as? JSONObject)?["message_id"] as? String == second["id"] as? String }
                .compactMap { ($0["data"] as? JSONObject)?["round"] as? Int }
            #expect(rounds == [1, 2, 3])
            #expect(escalations.allSatisfy { isNull($0["thread"]) && ($0["data"] as? JSONObject)?["reason"] as? String == "ack_timeout" })
            #expect(escalations.count == 4)

            // Each escalation: an e-mail to the case manager at once, and the case manager's endpoint
            // if it subscribes (this one does not: it asked for milestone.due only).
            let all = try await hub.deliveries("case=\(scene.caseId)&limit=200").deliveries
            let escalationMail = all.filter { $0["event_type"] as? String == "message.escalated" }
            #expect(escalationMail.count == 4 && escalationMail.allSatisfy { $0["target"] as? String == "rina@rs.example" })
            // The family and the PPA never hear of escalations.
            #expect(!all.contains { $0["event_type"] as? String == "message.escalated" && $0["target"] as? String != "rina@rs.example" })
        }
    }

    @Test("a case manager endpoint subscribed to message.escalated hears of escalations; others never do")
    func escalationWebhooks() async throws {
        try await withCoordinatedHub { coordinated in
            let hub = coordinated.hub
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let (manager, _) = try await hub.createWebhookEndpoint(url: "https://mpp.example/hook", events: ["message.escalated"], roles: ["case_manager"])
            let (ppa, _) = try await hub.createWebhookEndpoint(url: "https://ppa.example/hook", events: ["*"], roles: ["ppa"])
            let posted = Timestamp.nowMillis()
            _ = try await hub.post("/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken, json: "{\(Self.handoff)}")
            #expect(await coordinated.fire(at: posted + 31 * minute) == 1)
            let all = try await hub.deliveries("limit=200").deliveries
            #expect(deliveries(all, endpoint: manager).compactMap { $0["event_type"] as? String } == ["message.escalated"])
            #expect(!deliveries(all, endpoint: ppa).contains { $0["event_type"] as? String == "message.escalated" })
        }
    }

    @Test("escalation_channels chooses how escalations reach the case manager; they are logged either way", arguments: ["email", "webhook"])
    func escalationChannels(only channel: String) async throws {
        var coordination = CoordinationSettings()
        coordination.escalationChannels = [RoutingRule.Channel(rawValue: channel)!]
        try await withCoordinatedHub(coordination: coordination) { coordinated in
            let hub = coordinated.hub
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            _ = try await hub.addParticipant(caseId: caseId, role: "case_manager", email: "rina@rs.example")
            _ = try await hub.createWebhookEndpoint(url: "https://mpp.example/hook", events: ["message.escalated"], roles: ["case_manager"])
            let posted = Timestamp.nowMillis()
            _ = try await hub.post("/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken, json: "{\(Self.handoff)}")
            #expect(await coordinated.fire(at: posted + 31 * minute) == 1)
            #expect(try await hub.logTypes(caseId: caseId).contains("message.escalated"))
            let sent = try await hub.deliveries("case=\(caseId)&limit=50").deliveries.filter { $0["event_type"] as? String == "message.escalated" }
            #expect(sent.compactMap { $0["channel"] as? String } == [channel], "\(sent)")
        }
    }

    @Test("an authorization request undecided by its due_at escalates once; a decided one does not")
    func authorizationDue() async throws {
        try await withCoordinatedHub { coordinated in
            let hub = coordinated.hub
            let scene = try await Scene(hub)
            let due = Timestamp.nowMillis() + 4 * hour
            let waiting = try await scene.post(hub, thread: "ppa", token: scene.ppa.token, fields: Self.authorizationRequest(dueAt: rfc3339(due)))
            let answered = try await scene.post(hub, thread: "ppa", token: scene.ppa.token, fields: Self.authorizationRequest(dueAt: rfc3339(due)))
            let answeredId = try #require(answered["id"] as? String)
            let payerThread = try await hub.messages(caseId: scene.caseId, thread: "payer")
            let answeredCopyId = try #require(payerThread.first { $0["relayed_from"] as? String == answeredId }?["id"] as? String)
            _ = try await scene.post(
                hub, thread: "payer", token: scene.payer.token,
                fields: #""kind": "authorization_decision", "data": {"request_id": "\#(answeredCopyId)", "decision": "denied"}"#)

            #expect(await coordinated.fire(at: due - 1) == 0)
            #expect(await coordinated.fire(at: due) == 1)
            #expect(await coordinated.fire(at: due + 10 * hour) == 0)
            let escalated = try await hub.log(caseId: scene.caseId).filter { $0["type"] as? String == "message.escalated" }
            #expect(escalated.compactMap { ($0["data"] as? JSONObject)?["message_id"] as? String } == [waiting["id"] as? String])
            #expect((escalated.first?["data"] as? JSONObject)?["reason"] as? String == "authorization_overdue")
            let request = try #require(try await hub.messages(caseId: scene.caseId, thread: "ppa").first { $0["id"] as? String == waiting["id"] as? String })
            let state = try #require(request["authorization"] as? JSONObject)
            #expect(state["status"] as? String == "requested" && isUTCTimestamp(state["escalated_at"]))
        }
    }

    @Test("only the payer, the case manager or an admin decides, on a request they can see, once it is final no more")
    func whoDecides() async throws {
        try await withHub { hub in
            let scene = try await Scene(hub)
            let request = try await scene.post(hub, thread: "ppa", token: scene.ppa.token, fields: Self.authorizationRequest())
            let copy = try #require(try await hub.messages(caseId: scene.caseId, thread: "payer").first)
            func decide(_ token: String, thread: String, requestId: Any?, _ decision: String) async throws -> Reply {
                try await hub.post(
                    "/v1/cases/\(scene.caseId)/threads/\(thread)/messages", token: token,
                    json: #"{"kind": "authorization_decision", "data": {"request_id": "\#(requestId ?? "")", "decision": "\#(decision)"}}"#)
            }
            expectError(try await decide(scene.ppa.token, thread: "ppa", requestId: request["id"], "approved"), .forbidden, "forbidden")
            expectError(
                try await decide(scene.payer.token, thread: "payer", requestId: request["id"], "approved"), .badRequest, "invalid_request",
                naming: "data.request_id")
            #expect(try await decide(scene.payer.token, thread: "payer", requestId: copy["id"], "more_info").status == .created)
            #expect(try await decide(scene.payer.token, thread: "payer", requestId: copy["id"], "denied").status == .created)
            expectError(try await decide(scene.manager.token, thread: "ppa", requestId: request["id"], "approved"), .conflict, "conflict")
            let state = try #require(try await hub.messages(caseId: scene.caseId, thread: "ppa").first?["authorization"] as? JSONObject)
            #expect(state["status"] as? String == "denied")
        }
    }

    @Test("one closed loop per message and its copies: an ack on a copy closes it, the author's own ack does not")
    func closedLoopAcrossCopies() async throws {
        try await withCoordinatedHub { coordinated in
            let hub = coordinated.hub
            let scene = try await Scene(hub)
            let posted = Timestamp.nowMillis()
            let handoff = try await scene.post(hub, thread: "ppa", token: scene.manager.token, fields: Self.handoff)
            // The case manager relays it to the family thread: the copy joins the same loop.
            let relay = try await hub.post(
                "/v1/cases/\(scene.caseId)/messages/\(handoff["id"]!)/relay", token: scene.manager.token, json: #"{"to": "family"}"#)
            #expect(relay.status == .created)
            let copy = try relay.json()
            #expect(copy["requires_ack"] as? Bool == true)
            // The author's own ack does not close the loop.
            #expect(try await hub.post("/v1/cases/\(scene.caseId)/messages/\(handoff["id"]!)/ack", token: scene.manager.token, json: "{}").status == .ok)
            #expect(await coordinated.fire(at: posted + 31 * minute) == 1, "one escalation for the message and its copy")
            #expect(try await hub.post("/v1/cases/\(scene.caseId)/messages/\(copy["id"]!)/ack", token: scene.family.token, json: "{}").status == .ok)
            #expect(await coordinated.fire(at: posted + 10 * 60 * minute) == 0, "the family's ack on the copy closed the loop")
        }
    }

    @Test("a request relayed by hand to the patient thread is not sent to the payer a second time")
    func oneCopyPerThread() async throws {
        try await withHub { hub in
            let scene = try await Scene(hub)
            let request = try await scene.post(hub, thread: "ppa", token: scene.ppa.token, fields: Self.authorizationRequest())
            let relay = try await hub.post(
                "/v1/cases/\(scene.caseId)/messages/\(request["id"]!)/relay", token: scene.manager.token, json: #"{"to": "patient"}"#)
            #expect(relay.status == .created)
            #expect(try await hub.messages(caseId: scene.caseId, thread: "payer").count == 1)
            // A decision on the payer's copy reaches the original and every copy.
            let copy = try #require(try await hub.messages(caseId: scene.caseId, thread: "payer").first)
            _ = try await scene.post(
                hub, thread: "payer", token: scene.payer.token,
                fields: #""kind": "authorization_decision", "data": {"request_id": "\#(copy["id"]!)", "decision": "approved"}"#)
            for thread in ["ppa", "patient", "payer"] {
                let requests = try await hub.messages(caseId: scene.caseId, thread: thread).filter { $0["kind"] as? String == "authorization_request" }
                #expect(requests.allSatisfy { ($0["authorization"] as? JSONObject)?["status"] as? String == "approved" }, "\(thread)")
                #expect(requests.count == 1, "\(thread)")
            }
        }
    }
}
