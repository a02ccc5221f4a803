import Foundation
import HTTPTypes
import Testing

/// Ending a participant's access (`DELETE …/participants/{id}`) and replacing a lost token
/// (`POST …/participants/{id}/token`).
@Suite("Participant access")
struct ParticipantAccessTests {
    func participantPath(_ caseId: String, _ participant: JSONObject) throws -> String {
        "/v1/cases/\(caseId)/participants/\(try #require(participant["id"] as? String))"
    }

    func logTypes(_ hub: HubClient, _ caseId: String) async throws -> [String] {
        try await hub.log(caseId: caseId).compactMap { $0["type"] as? String }
    }

    @Test("a removed participant's token answers 401; the participant stays listed with removed_at")
    func removal() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Selamat pagi", token: family.token)
            let path = try participantPath(caseId, family.participant)

            let removed = try await hub.request(.delete, path, token: hub.adminToken)
            #expect(removed.status == .ok, "\(removed.text)")
            let participant = try removed.json()
            #expect(isUTCTimestamp(participant["removed_at"]) && participant["id"] as? String == family.participant["id"] as? String)

            expectError(try await hub.get("/v1/cases/\(caseId)", token: family.token), .unauthorized, "unauthorized")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: family.token, json: #"{"body": "masih bisa?"}"#),
                .unauthorized, "unauthorized")
            let listed = try await hub.get("/v1/cases/\(caseId)/participants", token: hub.adminToken).json()
            let entry = try #require((listed["participants"] as? [JSONObject])?.first)
            #expect(entry["removed_at"] as? String == participant["removed_at"] as? String)
            // Their messages stay, and the log says who ended their access.
            #expect(try await hub.messages(caseId: caseId, thread: "family").count == 1)
            let log = try await hub.log(caseId: caseId)
            let record = try #require(log.last)
            #expect(record["type"] as? String == "participant.removed")
            #expect((record["data"] as? JSONObject)?["participant_id"] as? String == family.participant["id"] as? String)
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)

            // Removing again changes nothing.
            let again = try await hub.request(.delete, path, token: hub.adminToken)
            #expect(again.status == .ok)
            #expect(try again.json()["removed_at"] as? String == participant["removed_at"] as? String)
            #expect(try await logTypes(hub, caseId).filter { $0 == "participant.removed" }.count == 1)
        }
    }

    @Test("a removed family member is e-mailed no more")
    func noMailAfterRemoval() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            func mails() async throws -> Int {
                let list = try await hub.get("/v1/deliveries?case=\(caseId)", token: hub.adminToken).json()
                return (list["deliveries"] as? [JSONObject] ?? []).filter { $0["channel"] as? String == "email" }.count
            }
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal kontrol Senin")
            #expect(try await mails() == 1)
            #expect(try await hub.request(.delete, try participantPath(caseId, family.participant), token: hub.adminToken).status == .ok)
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal kontrol Selasa")
            #expect(try await mails() == 1)
        }
    }

    @Test("only admins and the case manager remove; an unknown participant is 404")
    func whoMayRemove() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let otherCase = try #require(try await hub.createCase()["id"] as? String)
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let stranger = try await hub.addParticipant(caseId: otherCase, role: "family")
            let path = try participantPath(caseId, family.participant)
            expectError(try await hub.request(.delete, path, token: ppa.token), .forbidden, "forbidden")
            expectError(try await hub.request(.delete, path, token: family.token), .forbidden, "forbidden")
            expectError(
                try await hub.request(.delete, try participantPath(caseId, stranger.participant), token: hub.adminToken), .notFound, "not_found")
            expectError(try await hub.request(.delete, "/v1/cases/\(caseId)/participants/nobody", token: hub.adminToken), .notFound, "not_found")
            expectError(try await hub.request(.delete, path, token: stranger.token), .notFound, "not_found")
            #expect(try await hub.get("/v1/cases/\(caseId)", token: family.token).status == .ok, "nothing was removed yet")
            #expect(try await hub.request(.delete, path, token: manager.token).status == .ok)
            let removal = try #require(try await hub.log(caseId: caseId).last)
            #expect((removal["actor"] as? JSONObject)?["id"] as? String == manager.participant["id"] as? String)
        }
    }

    @Test("a case manager removed from one case keeps the others it opened")
    func removalFromOneCaseOnly() async throws {
        try await withHub { hub in
            let first = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: first, role: "case_manager")
            let second = try #require(try await hub.createCase(token: manager.token)["id"] as? String)
            #expect(try await hub.request(.delete, try participantPath(first, manager.participant), token: hub.adminToken).status == .ok)
            expectError(try await hub.get("/v1/cases/\(first)", token: manager.token), .notFound, "not_found")
            #expect(try await hub.get("/v1/cases/\(second)", token: manager.token).status == .ok)
            let listed = try await hub.get("/v1/cases", token: manager.token).json()
            #expect((listed["cases"] as? [JSONObject])?.compactMap { $0["id"] as? String } == [second])
        }
    }

    @Test("a replaced token: the old one answers 401, the new one acts as the same participant")
    func tokenReplacement() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            #expect(try await hub.get("/v1/cases/\(caseId)", token: family.token).status == .ok, "the old token is cached now")
            let path = try participantPath(caseId, family.participant) + "/token"

            expectError(try await hub.post(path, token: family.token, json: "{}"), .forbidden, "forbidden")
            let replaced = try await hub.post(path, token: hub.adminToken, json: "{}")
            #expect(replaced.status == .created, "\(replaced.text)")
            let answer = try replaced.json()
            let token = try #require(answer["token"] as? String)
            #expect(token != family.token && (answer["participant"] as? JSONObject)?["id"] as? String == family.participant["id"] as? String)

            expectError(try await hub.get("/v1/cases/\(caseId)", token: family.token), .unauthorized, "unauthorized")
            let posted = try await hub.postMessage(caseId: caseId, thread: "family", body: "Token baru", token: token)
            #expect((posted["author"] as? JSONObject)?["id"] as? String == family.participant["id"] as? String)
            #expect(try await logTypes(hub, caseId).contains("participant.token_replaced"))
            #expect(!(try await hub.log(caseId: caseId).description.contains(token)), "the log never holds a token")

            // A removed participant gets no new token.
            #expect(try await hub.request(.delete, try participantPath(caseId, family.participant), token: hub.adminToken).status == .ok)
            expectError(try await hub.post(path, token: hub.adminToken, json: "{}"), .conflict, "conflict")
            expectError(try await hub.get("/v1/cases/\(caseId)", token: token), .unauthorized, "unauthorized")
        }
    }

    @Test("a case manager's new token reaches only the case it was replaced in; another case manager may not replace it")
    func tokenReplacementForACaseManagerWithTwoCases() async throws {
        try await withHub { hub in
            let first = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: first, role: "case_manager")
            let colleague = try await hub.addParticipant(caseId: first, role: "case_manager")
            let second = try #require(try await hub.createCase(token: manager.token)["id"] as? String)
            let path = try participantPath(first, manager.participant) + "/token"

            expectError(try await hub.post(path, token: colleague.token, json: "{}"), .forbidden, "forbidden")
            #expect(try await hub.get("/v1/cases/\(second)", token: manager.token).status == .ok, "the refusal changed nothing")

            let replaced = try await hub.post(path, token: hub.adminToken, json: "{}")
            #expect(replaced.status == .created, "\(replaced.text)")
            let token = try #require(try replaced.json()["token"] as? String)
            // The old token keeps the case it opened; the new one holds the first case only.
            #expect(try await hub.get("/v1/cases/\(second)", token: manager.token).status == .ok)
            expectError(try await hub.get("/v1/cases/\(first)", token: manager.token), .notFound, "not_found")
            #expect(try await hub.get("/v1/cases/\(first)", token: token).status == .ok)
            expectError(try await hub.get("/v1/cases/\(second)", token: token), .notFound, "not_found")
        }
    }
}
