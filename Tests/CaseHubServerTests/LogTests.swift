import CaseHubCore
import Foundation
import HTTPTypes
import Testing

@Suite("Case log")
struct LogTests {
    static let entryFields: Set<String> = ["seq", "at", "type", "thread", "parent_seq", "actor", "data", "hash", "prev_hash"]
    static let knownTypes: Set<String> = [
        "case.opened", "participant.added", "message.posted", "message.edited", "message.redacted", "message.relayed", "message.acked",
        "milestone.created", "milestone.reminder", "milestone.due", "milestone.overdue", "milestone.done", "milestone.cancelled",
        "notification.queued", "delivery.succeeded", "delivery.failed", "delivery.dead", "case.closed", "message.routed",
        "message.escalated", "authorization.decided", "participant.preferences_changed", "milestone.rescheduled",
    ]

    static func isHash(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return text.utf8.count == 64 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// A case with some of everything: participants, messages, a reply, an edit, an ack, a
    /// relay; returns the case id and the ids of the messages posted.
    static func busyCase(_ hub: HubClient) async throws -> (caseId: String, parent: JSONObject, reply: JSONObject) {
        let caseId = try #require(try await hub.createCase(payer: "BPJS Kesehatan")["id"] as? String)
        let family = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
        let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
        let parent = try await hub.postMessage(caseId: caseId, thread: "family", body: "Kapan jadwal kontrol?", token: family.token)
        let parentId = try #require(parent["id"] as? String)
        let reply = try await hub.postMessage(
            caseId: caseId, thread: "family", body: "Senin pukul 09.00", token: manager.token, extra: #""reply_to": "\#(parentId)""#)
        let replyId = try #require(reply["id"] as? String)
        #expect(try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(replyId)", token: manager.token, json: #"{"body": "Senin pukul 10.00"}"#).status == .ok)
        #expect(try await hub.post("/v1/cases/\(caseId)/messages/\(replyId)/ack", token: family.token, json: "{}").status == .ok)
        #expect(try await hub.post("/v1/cases/\(caseId)/messages/\(parentId)/relay", token: manager.token, json: #"{"to": "ppa"}"#).status == .created)
        return (caseId, parent, reply)
    }

    @Test("every entry has the contract's fields and the hash chain links up")
    func shapeAndChain() async throws {
        try await withHub { hub in
            let (caseId, parent, reply) = try await Self.busyCase(hub)
            let response = try await hub.get("/v1/cases/\(caseId)/log", token: hub.adminToken)
            #expect(response.status == .ok)
            let object = try response.json()
            #expect(Set(object.keys) == ["entries", "has_more"])
            #expect(object["has_more"] as? Bool == false)
            let entries = try #require(object["entries"] as? [JSONObject])
            #expect(entries.count >= 9)

            var previous = String(repeating: "0", count: 64)
            for (index, entry) in entries.enumerated() {
                #expect(Self.entryFields.isSubset(of: Set(entry.keys)), "entry \(index): \(entry.keys.sorted())")
                #expect(entry["seq"] as? Int == index + 1)
                #expect(isUTCTimestamp(entry["at"]))
                #expect(Self.knownTypes.contains(entry["type"] as? String ?? ""), "type \(entry["type"] ?? "nil")")
                #expect(entry["thread"] is String || isNull(entry["thread"]))
                #expect(entry["parent_seq"] is Int || isNull(entry["parent_seq"]))
                let actor = try #require(entry["actor"] as? JSONObject)
                #expect(actor["id"] is String)
                #expect(actor["role"] is String)
                #expect(entry["data"] is JSONObject)
                #expect(Self.isHash(entry["hash"]))
                #expect(Self.isHash(entry["prev_hash"]))
                #expect(entry["prev_hash"] as? String == previous, "entry \(index + 1) prev_hash")
                previous = entry["hash"] as? String ?? ""
            }
            #expect(entries.first?["prev_hash"] as? String == String(repeating: "0", count: 64))
            #expect(entries.first?["type"] as? String == "case.opened")
            #expect(isNull(entries.first?["thread"]))
            #expect(isNull(entries.first?["parent_seq"]))
            #expect(Set(entries.compactMap { $0["hash"] as? String }).count == entries.count)

            let types = entries.compactMap { $0["type"] as? String }
            for type in ["participant.added", "message.posted", "message.edited", "message.acked", "message.relayed"] {
                #expect(types.contains(type), "missing \(type)")
            }

            // parent_seq of a reply is the replied message's seq.
            let replyEntry = try #require(entry(entries, type: "message.posted", messageId: reply["id"] as? String ?? ""))
            #expect(replyEntry["parent_seq"] as? Int == parent["seq"] as? Int)
            #expect(replyEntry["seq"] as? Int == reply["seq"] as? Int)
            let parentEntry = try #require(entry(entries, type: "message.posted", messageId: parent["id"] as? String ?? ""))
            #expect(isNull(parentEntry["parent_seq"]))
            #expect(parentEntry["thread"] as? String == "family")
            let ackEntry = try #require(entry(entries, type: "message.acked", messageId: reply["id"] as? String ?? ""))
            #expect(ackEntry["parent_seq"] as? Int == reply["seq"] as? Int)

            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == true)
            #expect(verdict["entries"] as? Int == entries.count)
            #expect(Set(verdict.keys) == ["ok", "entries"])
        }
    }

    @Test("GET log pages with after, limit and has_more")
    func pagination() async throws {
        try await withHub { hub in
            let (caseId, _, _) = try await Self.busyCase(hub)
            let all = try await hub.log(caseId: caseId)
            let first = try await hub.get("/v1/cases/\(caseId)/log?limit=3", token: hub.adminToken).json()
            #expect((first["entries"] as? [JSONObject])?.compactMap { $0["seq"] as? Int } == [1, 2, 3])
            #expect(first["has_more"] as? Bool == true)
            let rest = try await hub.get("/v1/cases/\(caseId)/log?after=3&limit=1000", token: hub.adminToken).json()
            #expect((rest["entries"] as? [JSONObject])?.compactMap { $0["seq"] as? Int } == Array(4...all.count))
            #expect(rest["has_more"] as? Bool == false)
        }
    }

    @Test("closing a case appends case.closed and the chain still verifies")
    func closeEntry() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            _ = try await hub.postMessage(caseId: caseId, thread: "patient", body: "hi")
            #expect(try await hub.post("/v1/cases/\(caseId)/close", token: hub.adminToken, json: "{}").status == .ok)
            let log = try await hub.log(caseId: caseId)
            #expect(log.compactMap { $0["type"] as? String } == ["case.opened", "message.posted", "case.closed"])
            #expect(try await hub.verify(caseId: caseId)["entries"] as? Int == 3)
        }
    }

    @Test("a changed log row makes verify answer ok false with its seq", TestDatabase.sqliteFileOnly)
    func tamperData() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            for index in 0..<4 {
                _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "message \(index)")
            }
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
            let changed = try sqlite3(
                hub.databasePath,
                "UPDATE log_entries SET data = replace(data, 'routine', 'urgent') WHERE case_id = '\(caseId)' AND seq = 3; SELECT changes();")
            #expect(changed == "1")
            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == false)
            #expect(verdict["first_bad_seq"] as? Int == 3)
            #expect(Set(verdict.keys) == ["ok", "first_bad_seq"])
        }
    }

    @Test("changed message text held in the log is caught by verify", TestDatabase.sqliteFileOnly)
    func tamperContent() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            for index in 0..<4 {
                _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "dosis \(index) mg")
            }
            let changed = try sqlite3(
                hub.databasePath,
                "UPDATE log_entries SET content = replace(content, 'dosis 2 mg', 'dosis 20 mg') WHERE case_id = '\(caseId)' AND seq = 4; SELECT changes();")
            #expect(changed == "1")
            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == false)
            #expect(verdict["first_bad_seq"] as? Int == 4)
        }
    }

    @Test("a changed row after a redacted message is named by verify, not the redacted one", TestDatabase.sqliteFileOnly)
    func tamperAfterARedaction() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let first = try await hub.postMessage(caseId: caseId, thread: "family", body: "salah kirim")
            let second = try await hub.postMessage(caseId: caseId, thread: "family", body: "kontrol hari Senin")
            let firstId = try #require(first["id"] as? String)
            let secondSeq = try #require(second["seq"] as? Int)
            #expect(try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(firstId)", token: hub.adminToken).status == .ok)
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
            let changed = try sqlite3(
                hub.databasePath,
                "UPDATE log_entries SET at = replace(at, '.', ',') WHERE case_id = '\(caseId)' AND seq = \(secondSeq); SELECT changes();")
            #expect(changed == "1")
            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == false)
            #expect(verdict["first_bad_seq"] as? Int == secondSeq)
        }
    }

    @Test("a removed last entry is caught by verify", TestDatabase.sqliteFileOnly)
    func tamperTruncate() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            for index in 0..<3 {
                _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "m\(index)")
            }
            let changed = try sqlite3(hub.databasePath, "DELETE FROM log_entries WHERE case_id = '\(caseId)' AND seq = 4; SELECT changes();")
            #expect(changed == "1")
            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == false)
            #expect(verdict["first_bad_seq"] as? Int == 4)
        }
    }

    @Test("a tampered case does not disturb another case's chain", TestDatabase.sqliteFileOnly)
    func tamperIsolated() async throws {
        try await withHub { hub in
            let first = try #require(try await hub.createCase()["id"] as? String)
            let second = try #require(try await hub.createCase()["id"] as? String)
            for caseId in [first, second] {
                for index in 0..<3 { _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "m\(index)") }
            }
            _ = try sqlite3(hub.databasePath, "UPDATE log_entries SET at = '2020-01-01T00:00:00.000Z' WHERE case_id = '\(first)' AND seq = 2")
            #expect(try await hub.verify(caseId: first)["first_bad_seq"] as? Int == 2)
            let intact = try await hub.verify(caseId: second)
            #expect(intact["ok"] as? Bool == true)
            #expect(intact["entries"] as? Int == 4)
        }
    }

    @Test("each entry's hash is SHA-256 over prev_hash and its canonical JSON")
    func hashesRecompute() async throws {
        try await withHub { hub in
            let (caseId, _, reply) = try await Self.busyCase(hub)
            let replyId = try #require(reply["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            #expect(try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(replyId)", token: manager.token).status == .ok)
            #expect(try await hub.post("/v1/cases/\(caseId)/close", token: hub.adminToken, json: "{}").status == .ok)
            let response = try await hub.get("/v1/cases/\(caseId)/log", token: hub.adminToken)
            guard case .array(let entries)? = try JSONValue.parse(response.bytes)["entries"] else {
                Issue.record("no entries: \(response)")
                return
            }
            var checked: [String] = []
            for entry in entries {
                // Every entry is recomputed from what the API shows: `data` exactly as hashed,
                // and the redactable `content` beside it, covered through data.content_sha256.
                let data = entry["data"] ?? .null
                if let content = entry["content"], !content.isNull {
                    #expect(data["content_sha256"]?.stringValue == HashChain.sha256Hex(content.canonicalBytes))
                }
                let covered: JSONValue = [
                    "actor": entry["actor"] ?? .null, "at": entry["at"] ?? .null, "data": data, "parent_seq": entry["parent_seq"] ?? .null,
                    "seq": entry["seq"] ?? .null, "thread": entry["thread"] ?? .null, "type": entry["type"] ?? .null,
                ]
                let prevHash = entry["prev_hash"]?.stringValue ?? ""
                let expected = HashChain.sha256Hex(Array(prevHash.utf8) + covered.canonicalBytes)
                #expect(entry["hash"]?.stringValue == expected, "entry \(entry["seq"] ?? .null) \(entry["type"] ?? .null)")
                checked.append(entry["type"]?.stringValue ?? "")
            }
            for type in ["case.opened", "participant.added", "message.posted", "message.acked", "message.redacted", "case.closed"] {
                #expect(checked.contains(type), "\(type) was not recomputed: \(checked)")
            }
        }
    }
}
