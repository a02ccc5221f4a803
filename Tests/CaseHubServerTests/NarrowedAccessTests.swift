import CaseHubCore
import Foundation
import HTTPTypes
import Testing

/// What a log entry tells of a thread stays with that thread's readers: a relay names the
/// thread it copied into, a milestone its audience, and their deliveries follow them. Here the
/// access table narrows the case manager to every thread but the payer's.
@Suite struct NarrowedAccessTests {
    static let policy: AccessPolicy = {
        var policy = AccessPolicy.default
        policy.set([.patient, .family, .ppa], for: .caseManager)
        return policy
    }()

    @Test func aNarrowedCaseManagerSeesNoMilestoneRelayOrDeliveryOfAHiddenThread() async throws {
        try await withHub(emailWaiting: nil, policy: Self.policy) { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let endpoint = try await hub.post(
                "/v1/endpoints", token: hub.adminToken, json: #"{"url": "https://hooks.example.org/payer", "events": ["*"], "roles": ["payer"]}"#)
            #expect(endpoint.status == .created, "\(endpoint)")
            let hidden = try await hub.createMilestone(caseId: caseId, title: "Otorisasi rahasia", dueAt: "2030-01-02T03:04:05Z", audience: ["payer"])
            let hiddenId = try #require(hidden["id"] as? String)
            let cancelled = try await hub.patch("/v1/cases/\(caseId)/milestones/\(hiddenId)", token: hub.adminToken, json: #"{"status": "cancelled"}"#)
            #expect(cancelled.status == .ok, "\(cancelled)")
            let shared = try await hub.createMilestone(caseId: caseId, title: "Edukasi keluarga", dueAt: "2030-01-02T03:04:05Z", audience: ["family", "payer"])
            // The routing rule copies the PPA's authorization request into the payer thread.
            let request = try await hub.post(
                "/v1/cases/\(caseId)/threads/ppa/messages", token: ppa.token,
                json: "{" + #""body": "Mohon otorisasi", "# + RoutingTests.authorizationRequest() + "}")
            #expect(request.status == .created, "\(request)")

            let everything = try await hub.log(caseId: caseId)
            #expect(everything.contains { $0["type"] as? String == "message.relayed" && ($0["data"] as? JSONObject)?["to"] as? String == "payer" })
            #expect(everything.contains { $0["type"] as? String == "message.routed" })
            let log = try #require(try await hub.get("/v1/cases/\(caseId)/log", token: manager.token).json()["entries"] as? [JSONObject])
            let milestoneIds = Set(log.compactMap { ($0["data"] as? JSONObject)?["milestone_id"] as? String })
            #expect(milestoneIds == [try #require(shared["id"] as? String)], "the payer-only milestone is hidden")
            #expect(!log.contains { ["message.relayed", "message.routed"].contains($0["type"] as? String) }, "\(log)")
            #expect(log.contains { $0["type"] as? String == "message.posted" && $0["thread"] as? String == "ppa" })
            let text = String(decoding: try JSONSerialization.data(withJSONObject: log), as: UTF8.self)
            #expect(!text.contains("Otorisasi rahasia"))

            // Deliveries of case-level events (the milestones') are the whole case's business.
            let all = try #require(try await hub.get("/v1/deliveries?case=\(caseId)", token: hub.adminToken).json()["deliveries"] as? [JSONObject])
            let milestoneDelivery = try #require(all.first { $0["event_type"] as? String == "milestone.cancelled" }?["id"] as? String, "\(all)")
            let seen = try #require(try await hub.get("/v1/deliveries?case=\(caseId)", token: manager.token).json()["deliveries"] as? [JSONObject])
            #expect(seen.allSatisfy { ["patient", "family", "ppa"].contains($0["thread"] as? String) }, "\(seen)")
            let retry = try await hub.post("/v1/deliveries/\(milestoneDelivery)/retry", token: manager.token, json: "{}")
            expectError(retry, .notFound, "not_found")
        }
    }

    @Test func aDeliveriesCursorMustBeADeliveryId() async throws {
        try await withHub { hub in
            expectError(try await hub.get("/v1/deliveries?before=garbage", token: hub.adminToken), .badRequest, "invalid_request", naming: "before")
        }
    }
}
