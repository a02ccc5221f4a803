import CaseHubCore
import Foundation
import HTTPTypes
import Testing

/// What the console's case list and "seen by" line read: case search and read markers.
@Suite("Case search and read markers") struct CaseSearchAndReadMarkerTests {
    @Test("GET /v1/cases?q= finds cases by MRN or patient name, only among the caller's cases, wildcards taken literally")
    func search() async throws {
        try await withHub { hub in
            let budi = try #require(try await hub.createCase(mrn: "RM-0042", patient: "Budi Santoso")["id"] as? String)
            let siti = try #require(try await hub.createCase(mrn: "RM-0777", patient: "Siti Aminah")["id"] as? String)
            _ = try await hub.createCase(mrn: "RM-50%", patient: "Wayan")
            func found(_ query: String, token: String? = nil) async throws -> [String] {
                let reply = try await hub.get("/v1/cases?q=\(query)", token: token ?? hub.adminToken)
                #expect(reply.status == .ok, "\(reply)")
                return (try reply.json()["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            }
            #expect(try await found("santoso") == [budi], "patient name, any case")
            #expect(try await found("0777") == [siti], "MRN")
            #expect(try await found("RM-").count == 3)
            #expect(try await found("%25").count == 1, "a % in the query is a literal %")
            #expect(try await found("nobody").isEmpty)
            let family = try await hub.addParticipant(caseId: siti, role: "family")
            #expect(try await found("RM-", token: family.token) == [siti], "only the caller's cases")
            expectError(
                try await hub.get("/v1/cases?q=" + String(repeating: "x", count: 101), token: hub.adminToken), .badRequest, "invalid_request",
                naming: "q")
        }
    }

    @Test("GET read-markers lists who has read a thread how far, by name and role, for those who may see the thread")
    func readMarkers() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager", name: "Rina")
            let family = try await hub.addParticipant(caseId: caseId, role: "family", name: "Ibu Sari")
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "Halo")
            let seq = try #require(message["seq"] as? Int)
            for token in [manager.token, family.token] {
                #expect(try await hub.post("/v1/cases/\(caseId)/threads/family/read", token: token, json: #"{"up_to_seq": \#(seq)}"#).status == .noContent)
            }
            let reply = try await hub.get("/v1/cases/\(caseId)/threads/family/read-markers", token: family.token)
            #expect(reply.status == .ok, "\(reply)")
            let markers = try #require(try reply.json()["read_markers"] as? [JSONObject])
            #expect(Set(markers.compactMap { $0["name"] as? String }) == ["Rina", "Ibu Sari"])
            #expect(markers.allSatisfy { $0["up_to_seq"] as? Int == seq })
            #expect(Set(markers.compactMap { $0["role"] as? String }) == ["case_manager", "family"])
            expectError(try await hub.get("/v1/cases/\(caseId)/threads/ppa/read-markers", token: family.token), .notFound, "not_found")

            // A marker past the end of the log means "everything so far": it stops at the log's end,
            // so messages posted later still count as unread.
            let logEnd = try await hub.log(caseId: caseId).count
            #expect(
                try await hub.post("/v1/cases/\(caseId)/threads/family/read", token: family.token, json: #"{"up_to_seq": 99999}"#).status
                    == .noContent)
            let after = try #require(try await hub.get("/v1/cases/\(caseId)/threads/family/read-markers", token: family.token).json()["read_markers"] as? [JSONObject])
            #expect(after.first { $0["name"] as? String == "Ibu Sari" }?["up_to_seq"] as? Int == logEnd)
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Kabar terbaru")
            let threads = try #require(try await hub.get("/v1/cases/\(caseId)/threads", token: family.token).json()["threads"] as? [JSONObject])
            #expect(threads.first { $0["name"] as? String == "family" }?["unread"] as? Int == 1)
        }
    }
}
