import Foundation
import HTTPTypes
import Testing

/// Thread pages are kept in memory while their case is unchanged (on the SQLite store); a
/// page read again must still show every change made since, through every command that
/// changes messages.
@Suite("Message pages read again")
struct MessagePageFreshnessTests {
    @Test("a page read again shows each new, edited, acknowledged, redacted and relayed message")
    func everyChangeShows() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa", name: "Ns. Dewi")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager", name: "Bu Rina")
            let page = "/v1/cases/\(caseId)/threads/ppa/messages"
            func read(_ query: String = "") async throws -> [JSONObject] {
                let reply = try await hub.get(page + query, token: ppa.token)
                #expect(reply.status == .ok)
                return try #require(reply.json()["messages"] as? [JSONObject])
            }
            let first = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "pertama", extra: #""requires_ack": true"#)
            let firstId = try #require(first["id"] as? String)
            let firstSeq = try #require(first["seq"] as? Int)
            let unchanged = try await hub.get(page, token: ppa.token)
            #expect(try await hub.get(page, token: ppa.token).bytes == unchanged.bytes)
            #expect(try await read("?after=\(firstSeq)").isEmpty)

            let second = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "kedua")
            #expect(try await read().map { $0["body"] as? String } == ["pertama", "kedua"])
            #expect(try await read("?after=\(firstSeq)").map { $0["id"] as? String } == [second["id"] as? String])

            let edited = try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(firstId)", token: hub.adminToken, json: #"{"body": "pertama (ralat)"}"#)
            #expect(edited.status == .ok)
            #expect(try await read().first?["body"] as? String == "pertama (ralat)")

            let acked = try await hub.post("/v1/cases/\(caseId)/messages/\(firstId)/ack", token: ppa.token, json: "{}")
            #expect(acked.status == .ok)
            #expect((try await read().first?["acks"] as? [Any])?.count == 1)

            let secondId = try #require(second["id"] as? String)
            let redacted = try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(secondId)", token: manager.token)
            #expect(redacted.status == .ok)
            #expect(try await read().last?["redacted"] as? Bool == true)

            let family = try await hub.postMessage(caseId: caseId, thread: "family", body: "dari keluarga")
            let familyId = try #require(family["id"] as? String)
            let relayed = try await hub.post(
                "/v1/cases/\(caseId)/messages/\(familyId)/relay", token: manager.token, json: #"{"to": "ppa", "note": "mohon dijawab"}"#)
            #expect(relayed.status == .created, "\(relayed)")
            let afterRelay = try await read()
            #expect(afterRelay.count == 3)
            #expect(afterRelay.last?["relayed_from"] as? String == familyId)
        }
    }

    @Test("a page of an unchanged case is answered from memory until the case changes", TestDatabase.sqliteFileOnly)
    func answeredFromMemory() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "asli")
            let page = "/v1/cases/\(caseId)/threads/ppa/messages"
            let before = try await hub.get(page, token: hub.adminToken)
            #expect(before.contains("asli"))
            // Changed behind the hub's back: the kept answer does not see it ...
            let changed = try sqlite3(
                hub.databasePath, "UPDATE messages SET rendered = replace(rendered, 'asli', 'ubah') WHERE case_id = '\(caseId)'; SELECT changes();")
            #expect(changed == "1")
            #expect(try await hub.get(page, token: hub.adminToken).bytes == before.bytes)
            // ... until the case changes, and the page is read from the file again.
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "baru")
            let after = try await hub.get(page, token: hub.adminToken)
            #expect(after.contains("ubah"))
            #expect(after.contains("baru"))
        }
    }
}
