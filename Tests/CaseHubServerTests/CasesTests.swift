import Foundation
import HTTPTypes
import Testing

@Suite("Cases")
struct CasesTests {
    static let caseFields: Set<String> = ["id", "mrn", "patient", "payer", "status", "created_at", "closed_at"]

    @Test("POST /v1/cases answers 201 with every Case field")
    func createCase() async throws {
        try await withHub { hub in
            let reply = try await hub.post(
                "/v1/cases", token: hub.adminToken,
                json: #"{"mrn": "RM-00123", "patient": {"name": "Budi Santoso"}, "payer": {"name": "BPJS Kesehatan", "member_id": "0001234567890"}}"#)
            #expect(reply.status == .created)
            let created = try reply.json()
            #expect(Self.caseFields.isSubset(of: Set(created.keys)), "fields: \(created.keys.sorted())")
            let id = try #require(created["id"] as? String)
            #expect(!id.isEmpty)
            #expect(created["mrn"] as? String == "RM-00123")
            #expect((created["patient"] as? JSONObject)?["name"] as? String == "Budi Santoso")
            let payer = try #require(created["payer"] as? JSONObject)
            #expect(payer["name"] as? String == "BPJS Kesehatan")
            #expect(payer["member_id"] as? String == "0001234567890")
            #expect(created["status"] as? String == "open")
            #expect(isUTCTimestamp(created["created_at"]))
            #expect(isNull(created["closed_at"]))
            #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)

            // GET answers the same case.
            let fetched = try await hub.get("/v1/cases/\(id)", token: hub.adminToken)
            #expect(fetched.status == .ok)
            let again = try fetched.json()
            #expect(again["id"] as? String == id)
            #expect(again["mrn"] as? String == "RM-00123")
            #expect(again["status"] as? String == "open")
            #expect(again["created_at"] as? String == created["created_at"] as? String)
            #expect(Self.caseFields.isSubset(of: Set(again.keys)))
        }
    }

    @Test("a case without payer has payer null")
    func createCaseWithoutPayer() async throws {
        try await withHub { hub in
            let created = try await hub.createCase(mrn: "RM-1")
            #expect(created.keys.contains("payer"))
            #expect(isNull(created["payer"]))
            let id = try #require(created["id"] as? String)
            let fetched = try await hub.get("/v1/cases/\(id)", token: hub.adminToken).json()
            #expect(fetched.keys.contains("payer"))
            #expect(isNull(fetched["payer"]))
            #expect(isNull(fetched["closed_at"]))
        }
    }

    @Test("GET an unknown case answers 404 not_found")
    func unknownCase() async throws {
        try await withHub { hub in
            expectError(try await hub.get("/v1/cases/\(UUID().uuidString.lowercased())", token: hub.adminToken), .notFound, "not_found")
        }
    }

    @Test("GET /v1/cases filters by status and pages with a cursor, every case exactly once")
    func listFilterAndPagination() async throws {
        try await withHub { hub in
            var ids: [String] = []
            for index in 0..<5 {
                ids.append(try #require(try await hub.createCase(mrn: "RM-\(index)")["id"] as? String))
            }
            // Close two of them.
            for id in ids.prefix(2) {
                #expect(try await hub.post("/v1/cases/\(id)/close", token: hub.adminToken, json: "{}").status == .ok)
            }

            // limit=2 over 5 cases: 2 + 2 + 1, next_cursor null at the end.
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/v1/cases?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await hub.get(uri, token: hub.adminToken)
                #expect(reply.status == .ok)
                let page = try reply.json()
                #expect(page.keys.contains("next_cursor"))
                let cases = try #require(page["cases"] as? [JSONObject])
                #expect(cases.count <= 2)
                for item in cases { #expect(Self.caseFields.isSubset(of: Set(item.keys))) }
                seen += cases.compactMap { $0["id"] as? String }
                cursor = page["next_cursor"] as? String
                if cursor == nil { #expect(isNull(page["next_cursor"])) }
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen.count == 5)
            #expect(Set(seen) == Set(ids))
            // A cursor the API did not give answers 400 rather than a silent first or empty page.
            for bad in ["", "garbage", "deadbeef", "../x", ids[0].uppercased(), String(ids[0].dropLast()) + "g"] {
                expectError(try await hub.get("/v1/cases?cursor=\(bad)", token: hub.adminToken), .badRequest, "invalid_request", naming: "cursor")
            }

            // status filter.
            let open = try await hub.get("/v1/cases?status=open", token: hub.adminToken).json()
            let openIds = (open["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            #expect(Set(openIds) == Set(ids.suffix(3)))
            #expect((open["cases"] as? [JSONObject] ?? []).allSatisfy { $0["status"] as? String == "open" })
            #expect(isNull(open["next_cursor"]))

            let closed = try await hub.get("/v1/cases?status=closed", token: hub.adminToken).json()
            let closedIds = (closed["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            #expect(Set(closedIds) == Set(ids.prefix(2)))
            #expect((closed["cases"] as? [JSONObject] ?? []).allSatisfy { $0["status"] as? String == "closed" })

            // A filtered walk with limit=1 also sees each open case once.
            var openSeen: [String] = []
            cursor = nil
            pages = 0
            repeat {
                let page = try await hub.get("/v1/cases?status=open&limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), token: hub.adminToken).json()
                openSeen += (page["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
                cursor = page["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(openSeen.count == 3)
            #expect(Set(openSeen) == Set(ids.suffix(3)))

            expectError(try await hub.get("/v1/cases?status=archived", token: hub.adminToken), .badRequest, "invalid_request", naming: "status")
        }
    }

    @Test("POST close answers the closed case; posting to it then answers 409")
    func closeCase() async throws {
        try await withHub { hub in
            let id = try #require(try await hub.createCase()["id"] as? String)
            let reply = try await hub.post("/v1/cases/\(id)/close", token: hub.adminToken, json: "{}")
            #expect(reply.status == .ok)
            let closed = try reply.json()
            #expect(Self.caseFields.isSubset(of: Set(closed.keys)))
            #expect(closed["id"] as? String == id)
            #expect(closed["status"] as? String == "closed")
            #expect(isUTCTimestamp(closed["closed_at"]))

            let fetched = try await hub.get("/v1/cases/\(id)", token: hub.adminToken).json()
            #expect(fetched["status"] as? String == "closed")
            #expect(fetched["closed_at"] as? String == closed["closed_at"] as? String)

            let before = try await hub.log(caseId: id).count
            let post = try await hub.post("/v1/cases/\(id)/threads/family/messages", token: hub.adminToken, json: #"{"body": "late"}"#)
            expectError(post, .conflict, "conflict")
            #expect(try await hub.messages(caseId: id, thread: "family").isEmpty)
            #expect(try await hub.log(caseId: id).count == before)

            let log = try await hub.log(caseId: id)
            #expect(log.last?["type"] as? String == "case.closed")
        }
    }

    @Test("a closed case refuses every change with 409 conflict")
    func closedCaseRefusesChanges() async throws {
        try await withHub { hub in
            let id = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: id, role: "case_manager")
            let message = try await hub.postMessage(caseId: id, thread: "ppa", body: "before closing", token: manager.token)
            let messageId = try #require(message["id"] as? String)
            #expect(try await hub.post("/v1/cases/\(id)/close", token: hub.adminToken, json: "{}").status == .ok)
            let before = try await hub.snapshot()

            expectError(try await hub.post("/v1/cases/\(id)/threads/ppa/messages", token: manager.token, json: #"{"body": "x"}"#), .conflict, "conflict")
            expectError(
                try await hub.request(.patch, "/v1/cases/\(id)/messages/\(messageId)", token: manager.token, json: #"{"body": "y"}"#),
                .conflict, "conflict")
            expectError(try await hub.request(.delete, "/v1/cases/\(id)/messages/\(messageId)", token: manager.token), .conflict, "conflict")
            expectError(
                try await hub.post("/v1/cases/\(id)/messages/\(messageId)/relay", token: manager.token, json: #"{"to": "family"}"#),
                .conflict, "conflict")
            expectError(try await hub.post("/v1/cases/\(id)/messages/\(messageId)/ack", token: manager.token, json: "{}"), .conflict, "conflict")
            expectError(
                try await hub.post("/v1/cases/\(id)/participants", token: hub.adminToken, json: #"{"role": "family", "name": "Late"}"#),
                .conflict, "conflict")
            #expect(try await hub.snapshot() == before)

            // Reading stays possible.
            #expect(try await hub.get("/v1/cases/\(id)/threads/ppa/messages", token: manager.token).status == .ok)
            #expect(try await hub.verify(caseId: id)["ok"] as? Bool == true)
        }
    }

    @Test("a case_manager token may close its case; a family token may not")
    func closeRoles() async throws {
        try await withHub { hub in
            let id = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: id, role: "family")
            expectError(try await hub.post("/v1/cases/\(id)/close", token: family.token, json: "{}"), .forbidden, "forbidden")
            #expect(try await hub.get("/v1/cases/\(id)", token: hub.adminToken).json()["status"] as? String == "open")
            let manager = try await hub.addParticipant(caseId: id, role: "case_manager")
            let reply = try await hub.post("/v1/cases/\(id)/close", token: manager.token, json: "{}")
            #expect(reply.status == .ok)
            #expect(try reply.json()["status"] as? String == "closed")
        }
    }

    @Test("only admin and case_manager may open cases", arguments: ["ppa", "family", "patient", "payer"])
    func onlyAdminAndCaseManagerCreate(role: String) async throws {
        try await withHub { hub in
            let existing = try #require(try await hub.createCase()["id"] as? String)
            let member = try await hub.addParticipant(caseId: existing, role: role)
            let before = try await hub.allCaseIds()
            let reply = try await hub.post("/v1/cases", token: member.token, json: #"{"mrn": "RM-9", "patient": {"name": "X"}}"#)
            expectError(reply, .forbidden, "forbidden")
            #expect(try await hub.allCaseIds() == before)
        }
    }

    @Test("a case_manager token opens a case and then sees it")
    func caseManagerCreates() async throws {
        try await withHub { hub in
            let first = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: first, role: "case_manager")
            let created = try await hub.createCase(mrn: "RM-CM", token: manager.token)
            let id = try #require(created["id"] as? String)
            #expect(created["status"] as? String == "open")
            #expect(try await hub.get("/v1/cases/\(id)", token: manager.token).status == .ok)
            let listed = try await hub.get("/v1/cases", token: manager.token).json()
            let ids = Set((listed["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String })
            #expect(ids == [first, id])
            // The manager can work in the case it opened.
            _ = try await hub.postMessage(caseId: id, thread: "ppa", body: "hello", token: manager.token)
        }
    }

    @Test("a participant token lists only its own case", arguments: participantRoles)
    func participantListsOwnCase(role: String) async throws {
        try await withHub { hub in
            let mine = try #require(try await hub.createCase(mrn: "RM-A")["id"] as? String)
            let other = try #require(try await hub.createCase(mrn: "RM-B")["id"] as? String)
            _ = try await hub.addParticipant(caseId: other, role: role)
            let member = try await hub.addParticipant(caseId: mine, role: role)
            let reply = try await hub.get("/v1/cases", token: member.token)
            #expect(reply.status == .ok)
            let page = try reply.json()
            let ids = (page["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [mine])
            #expect(!reply.contains(other))
            #expect(!reply.contains("RM-B"))
            #expect(isNull(page["next_cursor"]))

            // The admin sees both.
            #expect(Set(try await hub.allCaseIds()) == [mine, other])
        }
    }
}
