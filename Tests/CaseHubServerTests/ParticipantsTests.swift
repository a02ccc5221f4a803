import Foundation
import HTTPTypes
import Testing

@Suite("Participants")
struct ParticipantsTests {
    @Test("POST participants answers 201 with the participant and a token shown once")
    func addParticipant() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let reply = try await hub.post(
                "/v1/cases/\(caseId)/participants", token: hub.adminToken,
                json: #"{"role": "family", "name": "Ibu Sari", "email": "sari@example.org", "locale": "id"}"#)
            #expect(reply.status == .created)
            let object = try reply.json()
            #expect(Set(object.keys) == ["participant", "token"])
            let participant = try #require(object["participant"] as? JSONObject)
            #expect(participant["id"] as? String != nil)
            #expect(participant["case_id"] as? String == caseId)
            #expect(participant["role"] as? String == "family")
            #expect(participant["name"] as? String == "Ibu Sari")
            #expect(participant["email"] as? String == "sari@example.org")
            #expect(participant["locale"] as? String == "id")
            let token = try #require(object["token"] as? String)
            #expect(token.count >= 20)

            // The token works: it reads its own case.
            let fetched = try await hub.get("/v1/cases/\(caseId)", token: token)
            #expect(fetched.status == .ok)
            #expect(try fetched.json()["id"] as? String == caseId)

            // The token is not stored in clear: the list does not show it.
            let list = try await hub.get("/v1/cases/\(caseId)/participants", token: hub.adminToken)
            #expect(!list.contains(token))
        }
    }

    @Test("a participant token reaches its own case only", arguments: participantRoles)
    func tokenReachesOwnCaseOnly(role: String) async throws {
        try await withHub { hub in
            let mine = try #require(try await hub.createCase()["id"] as? String)
            let other = try #require(try await hub.createCase()["id"] as? String)
            let member = try await hub.addParticipant(caseId: mine, role: role)
            #expect(try await hub.get("/v1/cases/\(mine)", token: member.token).status == .ok)
            expectError(try await hub.get("/v1/cases/\(other)", token: member.token), .notFound, "not_found")
            expectError(try await hub.get("/v1/cases/\(other)/threads", token: member.token), .notFound, "not_found")
        }
    }

    @Test("role admin answers 400 naming role and stores nothing")
    func adminRoleRefused() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let before = try await hub.snapshot()
            let reply = try await hub.post(
                "/v1/cases/\(caseId)/participants", token: hub.adminToken, json: #"{"role": "admin", "name": "Root"}"#)
            expectError(reply, .badRequest, "invalid_request", naming: "role")
            let unknown = try await hub.post(
                "/v1/cases/\(caseId)/participants", token: hub.adminToken, json: #"{"role": "surgeon", "name": "Dr"}"#)
            expectError(unknown, .badRequest, "invalid_request", naming: "role")
            // The answer lists the roles a participant may have, and admin is not one of them.
            #expect(unknown.text.contains("case_manager, ppa, family, patient, payer") && !unknown.text.contains("admin"), "\(unknown.text)")
            let noName = try await hub.post("/v1/cases/\(caseId)/participants", token: hub.adminToken, json: #"{"role": "family"}"#)
            expectError(noName, .badRequest, "invalid_request", naming: "name")
            let badEmail = try await hub.post(
                "/v1/cases/\(caseId)/participants", token: hub.adminToken, json: #"{"role": "family", "name": "A", "email": "nope"}"#)
            expectError(badEmail, .badRequest, "invalid_request", naming: "email")
            #expect(try await hub.snapshot() == before)
            let list = try await hub.get("/v1/cases/\(caseId)/participants", token: hub.adminToken).json()
            #expect((list["participants"] as? [JSONObject])?.isEmpty == true)
        }
    }

    @Test("GET participants lists everyone added, and the log records each addition")
    func listParticipants() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            var added: [String: String] = [:]
            for role in participantRoles {
                let member = try await hub.addParticipant(caseId: caseId, role: role, name: "Name \(role)")
                added[try #require(member.participant["id"] as? String)] = role
            }
            let reply = try await hub.get("/v1/cases/\(caseId)/participants", token: hub.adminToken)
            #expect(reply.status == .ok)
            let participants = try #require(try reply.json()["participants"] as? [JSONObject])
            #expect(participants.count == participantRoles.count)
            for participant in participants {
                let id = try #require(participant["id"] as? String)
                #expect(added[id] == participant["role"] as? String)
                #expect(participant["name"] as? String == "Name \(added[id] ?? "")")
                #expect(participant["case_id"] as? String == caseId)
            }
            let log = try await hub.log(caseId: caseId)
            let additions = log.filter { $0["type"] as? String == "participant.added" }
            #expect(additions.count == participantRoles.count)
        }
    }

    @Test("a case_manager token adds participants to its case")
    func caseManagerAddsParticipants() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let reply = try await hub.post(
                "/v1/cases/\(caseId)/participants", token: manager.token, json: #"{"role": "ppa", "name": "Ns. Dewi", "locale": "en"}"#)
            #expect(reply.status == .created)
            let token = try #require(try reply.json()["token"] as? String)
            #expect(try await hub.get("/v1/cases/\(caseId)/threads", token: token).status == .ok)
        }
    }

    @Test("tokens are stored hashed: the database file never holds a token", TestDatabase.sqliteFileOnly)
    func tokensStoredHashed() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let member = try await hub.addParticipant(caseId: caseId, role: "ppa")
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "hello", token: member.token)
            let dump = try sqlite3(hub.databasePath, ".dump")
            #expect(dump.contains("CREATE TABLE"))
            #expect(!dump.contains(member.token))
            #expect(!dump.contains(hub.adminToken))
        }
    }
}
