import Foundation
import HTTPTypes
import Testing

@Suite("Messages")
struct MessagesTests {
    static let messageFields: Set<String> = [
        "id", "case_id", "thread", "seq", "author", "kind", "body", "data", "reply_to", "relayed_from", "priority", "requires_ack",
        "acks", "created_at", "edited_at", "redacted",
    ]

    @Test("POST a message answers 201 with every Message field, seq = its message.posted entry")
    func postMessage() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family", name: "Ibu Sari")
            let reply = try await hub.post(
                "/v1/cases/\(caseId)/threads/family/messages", token: family.token,
                json: #"{"body": "Bagaimana kondisi bapak?", "kind": "text", "reply_to": null, "priority": "urgent", "requires_ack": true, "data": {"k": 1}}"#)
            #expect(reply.status == .created)
            let message = try reply.json()
            #expect(Self.messageFields.isSubset(of: Set(message.keys)), "fields: \(message.keys.sorted())")
            let id = try #require(message["id"] as? String)
            #expect(message["case_id"] as? String == caseId)
            #expect(message["thread"] as? String == "family")
            let author = try #require(message["author"] as? JSONObject)
            #expect(author["id"] as? String == family.participant["id"] as? String)
            #expect(author["role"] as? String == "family")
            #expect(author["name"] as? String == "Ibu Sari")
            #expect(message["kind"] as? String == "text")
            #expect(message["body"] as? String == "Bagaimana kondisi bapak?")
            #expect((message["data"] as? JSONObject)?["k"] as? Int == 1)
            #expect(isNull(message["reply_to"]))
            #expect(isNull(message["relayed_from"]))
            #expect(message["priority"] as? String == "urgent")
            #expect(message["requires_ack"] as? Bool == true)
            #expect((message["acks"] as? [Any])?.isEmpty == true)
            #expect(isUTCTimestamp(message["created_at"]))
            #expect(isNull(message["edited_at"]))
            #expect(message["redacted"] as? Bool == false)

            // The answer is the message as it is stored and read back.
            let readBack = try await hub.get("/v1/cases/\(caseId)/messages/\(id)", token: family.token)
            #expect(readBack.bytes == reply.bytes, "\(readBack.text) != \(reply.text)")

            let seq = try #require(message["seq"] as? Int)
            let log = try await hub.log(caseId: caseId)
            let posted = try #require(entry(log, type: "message.posted", messageId: id))
            #expect(posted["seq"] as? Int == seq)
            #expect(posted["thread"] as? String == "family")

            // Defaults: kind text, priority routine, requires_ack false, data {}.
            let plain = try await hub.postMessage(caseId: caseId, thread: "family", body: "second")
            #expect(plain["priority"] as? String == "routine")
            #expect(plain["requires_ack"] as? Bool == false)
            #expect((plain["data"] as? JSONObject)?.isEmpty == true)
            #expect(plain["seq"] as? Int == seq + 1)

            // GET by thread shows both.
            let listed = try await hub.messages(caseId: caseId, thread: "family")
            #expect(listed.map { $0["id"] as? String } == [id, plain["id"] as? String])
        }
    }

    @Test("a handoff message keeps its SBAR data")
    func handoff() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let reply = try await hub.post(
                "/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken,
                json: #"{"body": "", "kind": "handoff", "data": {"situation": "S", "background": "B", "assessment": "A", "recommendation": "R"}}"#)
            #expect(reply.status == .created, "\(reply.text)")
            let message = try reply.json()
            #expect(message["kind"] as? String == "handoff")
            let data = try #require(message["data"] as? JSONObject)
            #expect(data["situation"] as? String == "S")
            #expect(data["recommendation"] as? String == "R")
        }
    }

    @Test("GET messages pages with after, before, limit and has_more, ascending by seq")
    func listPagination() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            var seqs: [Int] = []
            for index in 0..<7 {
                let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "m\(index)")
                seqs.append(try #require(message["seq"] as? Int))
                // Interleave another thread so the family seqs are not consecutive.
                _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "p\(index)")
            }
            let base = "/v1/cases/\(caseId)/threads/family/messages"
            func page(_ query: String) async throws -> (seqs: [Int], hasMore: Bool?) {
                let reply = try await hub.get(base + query, token: hub.adminToken)
                #expect(reply.status == .ok, "\(query): \(reply.text)")
                let object = try reply.json()
                #expect(Set(object.keys) == ["messages", "has_more"])
                let messages = object["messages"] as? [JSONObject] ?? []
                #expect(messages.allSatisfy { $0["thread"] as? String == "family" })
                return (messages.compactMap { $0["seq"] as? Int }, object["has_more"] as? Bool)
            }

            let all = try await page("")
            #expect(all.seqs == seqs)
            #expect(all.hasMore == false)

            let first = try await page("?limit=3")
            #expect(first.seqs == Array(seqs[0..<3]))
            #expect(first.hasMore == true)
            let second = try await page("?limit=3&after=\(first.seqs.last ?? 0)")
            #expect(second.seqs == Array(seqs[3..<6]))
            #expect(second.hasMore == true)
            let third = try await page("?limit=3&after=\(second.seqs.last ?? 0)")
            #expect(third.seqs == [seqs[6]])
            #expect(third.hasMore == false)

            // before: the newest messages below it, still ascending.
            let back = try await page("?limit=2&before=\(seqs[4])")
            #expect(back.seqs == [seqs[2], seqs[3]])
            #expect(back.hasMore == true)
            let backAll = try await page("?before=\(seqs[2])")
            #expect(backAll.seqs == [seqs[0], seqs[1]])
            #expect(backAll.hasMore == false)

            // after and before together: strictly between.
            let between = try await page("?after=\(seqs[1])&before=\(seqs[5])")
            #expect(between.seqs == [seqs[2], seqs[3], seqs[4]])
            #expect(between.hasMore == false)

            let exact = try await page("?limit=7")
            #expect(exact.seqs == seqs)
            #expect(exact.hasMore == false)

            let tail = try await page("?after=\(seqs[6])")
            #expect(tail.seqs.isEmpty)
            #expect(tail.hasMore == false)
        }
    }

    @Test("reply_to links a reply; a message of another thread answers 400 and stores nothing")
    func replyTo() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let parent = try await hub.postMessage(caseId: caseId, thread: "family", body: "question")
            let parentId = try #require(parent["id"] as? String)
            let reply = try await hub.postMessage(caseId: caseId, thread: "family", body: "answer", extra: #""reply_to": "\#(parentId)""#)
            #expect(reply["reply_to"] as? String == parentId)
            let log = try await hub.log(caseId: caseId)
            let replyId = try #require(reply["id"] as? String)
            let replyEntry = try #require(entry(log, type: "message.posted", messageId: replyId))
            #expect(replyEntry["parent_seq"] as? Int == parent["seq"] as? Int)

            let other = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "elsewhere")
            let before = try await hub.snapshot()
            let crossed = try await hub.post(
                "/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken,
                json: #"{"body": "bad", "reply_to": "\#(other["id"] as? String ?? "")"}"#)
            expectError(crossed, .badRequest, "invalid_request", naming: "reply_to")
            let unknown = try await hub.post(
                "/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken,
                json: #"{"body": "bad", "reply_to": "\#(UUID().uuidString.lowercased())"}"#)
            expectError(unknown, .badRequest, "invalid_request", naming: "reply_to")
            #expect(try await hub.snapshot() == before)
        }
    }

    @Test("PATCH by the author edits; the log keeps the earlier text")
    func editByAuthor() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let original = marker("original")
            let changed = marker("changed")
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: original, token: family.token)
            let id = try #require(message["id"] as? String)
            let seq = try #require(message["seq"] as? Int)

            let reply = try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(id)", token: family.token, json: #"{"body": "\#(changed)"}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            let edited = try reply.json()
            #expect(Self.messageFields.isSubset(of: Set(edited.keys)))
            #expect(edited["body"] as? String == changed)
            #expect(isUTCTimestamp(edited["edited_at"]))
            #expect(edited["seq"] as? Int == seq)
            #expect(edited["id"] as? String == id)

            let listed = try await hub.messages(caseId: caseId, thread: "family")
            #expect(listed.count == 1)
            #expect(listed.first?["body"] as? String == changed)
            #expect(isUTCTimestamp(listed.first?["edited_at"]))

            let log = try await hub.log(caseId: caseId)
            let posted = try #require(entry(log, type: "message.posted", messageId: id))
            #expect((posted["content"] as? JSONObject)?["body"] as? String == original)
            let editEntry = try #require(entry(log, type: "message.edited", messageId: id))
            #expect((editEntry["content"] as? JSONObject)?["body"] as? String == changed)
            #expect(editEntry["parent_seq"] as? Int == seq)
            #expect(editEntry["thread"] as? String == "family")
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("PATCH by someone else answers 403 and changes nothing")
    func editBySomeoneElse() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "mine", token: family.token)
            let id = try #require(message["id"] as? String)
            let before = try await hub.snapshot()
            for token in [ppa.token, manager.token, hub.adminToken] {
                let reply = try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(id)", token: token, json: #"{"body": "hijacked"}"#)
                expectError(reply, .forbidden, "forbidden")
            }
            #expect(try await hub.snapshot() == before)
            let listed = try await hub.messages(caseId: caseId, thread: "family")
            #expect(listed.first?["body"] as? String == "mine")
            #expect(isNull(listed.first?["edited_at"]))
        }
    }

    @Test("DELETE by the author redacts; the log keeps no text and still verifies")
    func redactByAuthor() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let secret = marker("secret")
            let secondSecret = marker("edited-secret")
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: secret, token: family.token)
            let id = try #require(message["id"] as? String)
            // An edit first: its text must be erased too.
            let edit = try await hub.request(
                .patch, "/v1/cases/\(caseId)/messages/\(id)", token: family.token, json: #"{"body": "\#(secondSecret)"}"#)
            #expect(edit.status == .ok)

            let reply = try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(id)", token: family.token)
            #expect(reply.status == .ok, "\(reply.text)")
            let redacted = try reply.json()
            #expect(Self.messageFields.isSubset(of: Set(redacted.keys)))
            #expect(redacted["body"] as? String == "")
            #expect(redacted["redacted"] as? Bool == true)
            #expect(!reply.contains(secret))
            #expect(!reply.contains(secondSecret))

            let list = try await hub.get("/v1/cases/\(caseId)/threads/family/messages", token: family.token)
            #expect(!list.contains(secret))
            #expect(!list.contains(secondSecret))
            let listed = try #require(try list.json()["messages"] as? [JSONObject])
            #expect(listed.first?["body"] as? String == "")
            #expect(listed.first?["redacted"] as? Bool == true)

            let logReply = try await hub.get("/v1/cases/\(caseId)/log", token: hub.adminToken)
            #expect(!logReply.contains(secret))
            #expect(!logReply.contains(secondSecret))
            let log = try #require(try logReply.json()["entries"] as? [JSONObject])
            let posted = try #require(entry(log, type: "message.posted", messageId: id))
            let postedData = try #require(posted["data"] as? JSONObject)
            #expect(posted["content"] is NSNull)
            #expect(postedData["content_sha256"] is String)
            let redaction = try #require(entry(log, type: "message.redacted", messageId: id))
            #expect(redaction["parent_seq"] as? Int == message["seq"] as? Int)

            let threads = try await hub.get("/v1/cases/\(caseId)/threads", token: hub.adminToken)
            #expect(!threads.contains(secret))
            #expect(!threads.contains(secondSecret))

            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == true)
            #expect(verdict["entries"] as? Int == log.count)
        }
    }

    @Test("DELETE by the case manager redacts another's message; by a ppa answers 403")
    func redactByCaseManager() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let secret = marker("family-text")
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: secret, token: family.token)
            let id = try #require(message["id"] as? String)

            let before = try await hub.snapshot()
            expectError(try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(id)", token: ppa.token), .forbidden, "forbidden")
            #expect(try await hub.snapshot() == before)
            #expect(try await hub.messages(caseId: caseId, thread: "family").first?["body"] as? String == secret)

            let reply = try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(id)", token: manager.token)
            #expect(reply.status == .ok, "\(reply.text)")
            let redacted = try reply.json()
            #expect(redacted["body"] as? String == "")
            #expect(redacted["redacted"] as? Bool == true)

            let log = try await hub.get("/v1/cases/\(caseId)/log", token: hub.adminToken)
            #expect(!log.contains(secret))
            let entries = try #require(try log.json()["entries"] as? [JSONObject])
            let posted = try #require(entry(entries, type: "message.posted", messageId: id))
            #expect(posted["content"] is NSNull)
            #expect((posted["data"] as? JSONObject)?["content_sha256"] is String)
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("relay by the case manager answers 201 in the target thread; a ppa relaying answers 403")
    func relay() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let source = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "Pasien stabil, rencana pulang besok", token: ppa.token)
            let sourceId = try #require(source["id"] as? String)

            let before = try await hub.snapshot()
            let refused = try await hub.post(
                "/v1/cases/\(caseId)/messages/\(sourceId)/relay", token: ppa.token, json: #"{"to": "family", "note": "fyi"}"#)
            expectError(refused, .forbidden, "forbidden")
            #expect(try await hub.snapshot() == before)

            let reply = try await hub.post(
                "/v1/cases/\(caseId)/messages/\(sourceId)/relay", token: manager.token, json: #"{"to": "family", "note": "dari perawat"}"#)
            #expect(reply.status == .created, "\(reply.text)")
            let relayed = try reply.json()
            #expect(Self.messageFields.isSubset(of: Set(relayed.keys)))
            let relayedId = try #require(relayed["id"] as? String)
            #expect(relayedId != sourceId)
            #expect(relayed["thread"] as? String == "family")
            #expect(relayed["relayed_from"] as? String == sourceId)
            #expect(relayed["body"] as? String == "Pasien stabil, rencana pulang besok")
            #expect((relayed["author"] as? JSONObject)?["role"] as? String == "case_manager")

            // The family sees the copy in its thread.
            let familyView = try await hub.get("/v1/cases/\(caseId)/threads/family/messages", token: family.token)
            let familyMessages = try #require(try familyView.json()["messages"] as? [JSONObject])
            #expect(familyMessages.map { $0["id"] as? String } == [relayedId])
            #expect(familyMessages.first?["relayed_from"] as? String == sourceId)

            // The log: message.relayed then the copy's message.posted, with the seq it has.
            let log = try await hub.log(caseId: caseId)
            #expect(log.contains { $0["type"] as? String == "message.relayed" })
            let posted = try #require(entry(log, type: "message.posted", messageId: relayedId))
            #expect(posted["seq"] as? Int == relayed["seq"] as? Int)
            #expect(posted["thread"] as? String == "family")
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("Idempotency-Key on relay: a retried relay answers 200 with the first copy; the key for another relay answers 409")
    func relayIdempotency() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let source = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "Jadwal kontrol hari Senin")
            let sourceId = try #require(source["id"] as? String)
            let uri = "/v1/cases/\(caseId)/messages/\(sourceId)/relay"
            let key: HTTPFields = [HubClient.idempotencyKey: "relay-1"]

            let first = try await hub.post(uri, token: manager.token, json: #"{"to": "family"}"#, headers: key)
            #expect(first.status == .created, "\(first.text)")
            let copyId = try #require(try first.json()["id"] as? String)
            let logLength = try await hub.log(caseId: caseId).count

            let again = try await hub.post(uri, token: manager.token, json: #"{"to": "family"}"#, headers: key)
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.json()["id"] as? String == copyId)
            #expect(try await hub.messages(caseId: caseId, thread: "family").count == 1)
            #expect(try await hub.log(caseId: caseId).count == logLength)

            // The same key for a relay elsewhere is not a retry.
            expectError(try await hub.post(uri, token: manager.token, json: #"{"to": "patient"}"#, headers: key), .conflict, "conflict")
            #expect(try await hub.messages(caseId: caseId, thread: "patient").isEmpty)
            // Without a key, each relay is a new copy.
            #expect(try await hub.post(uri, token: manager.token, json: #"{"to": "family"}"#).status == .created)
            #expect(try await hub.messages(caseId: caseId, thread: "family").count == 2)
        }
    }

    @Test("ack adds the caller once")
    func ack() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let message = try await hub.postMessage(
                caseId: caseId, thread: "family", body: "Please confirm", token: ppa.token, extra: #""requires_ack": true"#)
            let id = try #require(message["id"] as? String)
            let familyId = try #require(family.participant["id"] as? String)

            let first = try await hub.post("/v1/cases/\(caseId)/messages/\(id)/ack", token: family.token, json: "{}")
            #expect(first.status == .ok, "\(first.text)")
            let acked = try first.json()
            let acks = try #require(acked["acks"] as? [JSONObject])
            #expect(acks.count == 1)
            #expect(acks.first?["by"] as? String == familyId)
            #expect(isUTCTimestamp(acks.first?["at"]))

            let second = try await hub.post("/v1/cases/\(caseId)/messages/\(id)/ack", token: family.token, json: "{}")
            #expect(second.status == .ok)
            #expect((try second.json()["acks"] as? [JSONObject])?.count == 1)

            let listed = try await hub.messages(caseId: caseId, thread: "family")
            #expect((listed.first?["acks"] as? [JSONObject])?.count == 1)
            let log = try await hub.log(caseId: caseId)
            #expect(log.filter { $0["type"] as? String == "message.acked" }.count == 1)

            // Another caller adds a second ack.
            let third = try await hub.post("/v1/cases/\(caseId)/messages/\(id)/ack", token: ppa.token, json: "{}")
            let byAll = (try third.json()["acks"] as? [JSONObject] ?? []).compactMap { $0["by"] as? String }
            #expect(byAll.count == 2)
            #expect(byAll.first == familyId)
            #expect(byAll.last == ppa.participant["id"] as? String)
        }
    }

    @Test("read markers: unread counts others' messages after the marker")
    func readMarkers() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            var seqs: [Int] = []
            for index in 0..<3 {
                let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "cm \(index)", token: manager.token)
                seqs.append(try #require(message["seq"] as? Int))
            }
            func familyThread() async throws -> JSONObject {
                let reply = try await hub.get("/v1/cases/\(caseId)/threads", token: family.token)
                #expect(reply.status == .ok)
                let threads = try #require(try reply.json()["threads"] as? [JSONObject])
                return try #require(threads.first { $0["name"] as? String == "family" })
            }
            var thread = try await familyThread()
            #expect(Set(thread.keys) == ["name", "message_count", "last_message", "unread"])
            #expect(thread["message_count"] as? Int == 3)
            #expect(thread["unread"] as? Int == 3)
            #expect((thread["last_message"] as? JSONObject)?["seq"] as? Int == seqs[2])

            let read = try await hub.post("/v1/cases/\(caseId)/threads/family/read", token: family.token, json: #"{"up_to_seq": \#(seqs[1])}"#)
            #expect(read.status == .noContent)
            #expect(read.bytes.isEmpty)
            thread = try await familyThread()
            #expect(thread["unread"] as? Int == 1)

            // The reader's own messages are not unread.
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "thanks", token: family.token)
            thread = try await familyThread()
            #expect(thread["unread"] as? Int == 1)
            #expect(thread["message_count"] as? Int == 4)

            // The marker is per reader: the manager has not read the family's message.
            let managerThreads = try #require(
                try await hub.get("/v1/cases/\(caseId)/threads", token: manager.token).json()["threads"] as? [JSONObject])
            #expect(managerThreads.first { $0["name"] as? String == "family" }?["unread"] as? Int == 1)

            // Reading everything brings unread to 0; an empty thread has last_message null.
            let all = try await hub.post("/v1/cases/\(caseId)/threads/family/read", token: family.token, json: #"{"up_to_seq": 1000}"#)
            #expect(all.status == .noContent)
            thread = try await familyThread()
            #expect(thread["unread"] as? Int == 0)
            let empty = try #require(managerThreads.first { $0["name"] as? String == "payer" })
            #expect(isNull(empty["last_message"]))
            #expect(empty["message_count"] as? Int == 0)
            #expect(empty["unread"] as? Int == 0)
        }
    }

    @Test("Idempotency-Key: the same key answers 200 with the first message and creates nothing")
    func idempotency() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let uri = "/v1/cases/\(caseId)/threads/family/messages"
            let key: HTTPFields = [HubClient.idempotencyKey: "client-key-1"]
            let first = try await hub.post(uri, token: family.token, json: #"{"body": "once"}"#, headers: key)
            #expect(first.status == .created)
            let firstId = try #require(try first.json()["id"] as? String)
            let logCount = try await hub.log(caseId: caseId).count

            let second = try await hub.post(uri, token: family.token, json: #"{"body": "once"}"#, headers: key)
            #expect(second.status == .ok)
            let replayed = try second.json()
            #expect(replayed["id"] as? String == firstId)
            #expect(replayed["body"] as? String == "once")
            #expect(try await hub.messages(caseId: caseId, thread: "family").count == 1)
            #expect(try await hub.log(caseId: caseId).count == logCount)

            // Another key creates another message.
            let other = try await hub.post(uri, token: family.token, json: #"{"body": "once"}"#, headers: [HubClient.idempotencyKey: "client-key-2"])
            #expect(other.status == .created)
            #expect(try other.json()["id"] as? String != firstId)

            // The same key from another caller is that caller's own key.
            let admin = try await hub.post(uri, token: hub.adminToken, json: #"{"body": "once"}"#, headers: key)
            #expect(admin.status == .created)
            #expect(try admin.json()["id"] as? String != firstId)
            #expect(try await hub.messages(caseId: caseId, thread: "family").count == 3)

            // The same key for a different message is a client's mistake, not a retry: 409, and
            // nothing is stored (rather than a silent 200 with a message the client did not send).
            let logBefore = try await hub.log(caseId: caseId).count
            expectError(try await hub.post(uri, token: family.token, json: #"{"body": "something else"}"#, headers: key), .conflict, "conflict")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken, json: #"{"body": "once"}"#, headers: key),
                .conflict, "conflict")
            #expect(try await hub.messages(caseId: caseId, thread: "family").count == 3)
            #expect(try await hub.messages(caseId: caseId, thread: "ppa").isEmpty)
            #expect(try await hub.log(caseId: caseId).count == logBefore)
        }
    }

    @Test("concurrent posts with one Idempotency-Key create one message")
    func concurrentIdempotency() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let uri = "/v1/cases/\(caseId)/threads/patient/messages"
            let outcomes = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let reply = try await hub.post(
                            uri, token: hub.adminToken, json: #"{"body": "only once"}"#, headers: [HubClient.idempotencyKey: "same-key"])
                        return (reply.status.code, reply.object?["id"] as? String)
                    }
                }
                var outcomes: [(Int, String?)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0.0 == 201 }.count == 1)
            #expect(outcomes.filter { $0.0 == 200 }.count == 9)
            #expect(Set(outcomes.compactMap(\.1)).count == 1)
            #expect(try await hub.messages(caseId: caseId, thread: "patient").count == 1)
            #expect(try await hub.log(caseId: caseId).count == 2)
        }
    }

    @Test("an unknown message id answers 404 on every message endpoint")
    func unknownMessage() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let uri = "/v1/cases/\(caseId)/messages/\(UUID().uuidString.lowercased())"
            expectError(try await hub.get(uri, token: hub.adminToken), .notFound, "not_found")
            expectError(try await hub.request(.patch, uri, token: hub.adminToken, json: #"{"body": "x"}"#), .notFound, "not_found")
            expectError(try await hub.request(.delete, uri, token: hub.adminToken), .notFound, "not_found")
            expectError(try await hub.post(uri + "/ack", token: hub.adminToken, json: "{}"), .notFound, "not_found")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            expectError(try await hub.post(uri + "/relay", token: manager.token, json: #"{"to": "family"}"#), .notFound, "not_found")
        }
    }

    @Test("a redacted message can no longer be edited, acked or relayed; redacting again changes nothing")
    func actingOnRedacted() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let message = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "wrong patient", token: manager.token)
            let uri = "/v1/cases/\(caseId)/messages/\(try #require(message["id"] as? String))"
            #expect(try await hub.request(.delete, uri, token: manager.token).status == .ok)
            let before = try await hub.snapshot()
            expectError(try await hub.request(.patch, uri, token: manager.token, json: #"{"body": "again"}"#), .conflict, "conflict")
            expectError(try await hub.post(uri + "/ack", token: manager.token, json: "{}"), .conflict, "conflict")
            expectError(try await hub.post(uri + "/relay", token: manager.token, json: #"{"to": "family"}"#), .conflict, "conflict")
            let again = try await hub.request(.delete, uri, token: manager.token)
            #expect(again.status == .ok)
            #expect(try again.json()["redacted"] as? Bool == true)
            #expect(try await hub.snapshot() == before)
        }
    }

    @Test("Content-Type application/json with a charset is accepted")
    func contentTypeWithCharset() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let reply = try await hub.request(
                .post, "/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: #"{"body": "Terima kasih 🙏 ñ"}"#,
                contentType: "application/json; charset=utf-8")
            #expect(reply.status == .created)
            #expect(try reply.json()["body"] as? String == "Terima kasih 🙏 ñ")
        }
    }

    @Test("50 concurrent posts to one case get gap-free seq values across the case log")
    func concurrentPosts() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa")
            let count = 50
            let tokens = [family.token, ppa.token, hub.adminToken]
            let seqs = try await withThrowingTaskGroup(of: Int?.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let token = tokens[index % 3]
                        let thread = index % 3 == 1 ? "ppa" : "family"
                        let reply = try await hub.post(
                            "/v1/cases/\(caseId)/threads/\(thread)/messages", token: token, json: #"{"body": "concurrent \#(index)"}"#)
                        guard reply.status == .created else { return nil }
                        return reply.object?["seq"] as? Int
                    }
                }
                var seqs: [Int] = []
                for try await seq in group {
                    #expect(seq != nil)
                    if let seq { seqs.append(seq) }
                }
                return seqs
            }
            #expect(seqs.count == count)
            #expect(Set(seqs).count == count)

            let log = try await hub.log(caseId: caseId)
            let logSeqs = log.compactMap { $0["seq"] as? Int }
            #expect(logSeqs == Array(1...log.count))
            #expect(log.count == 3 + count)  // case.opened, two participant.added, the posts
            let postedSeqs = Set(log.filter { $0["type"] as? String == "message.posted" }.compactMap { $0["seq"] as? Int })
            #expect(postedSeqs == Set(seqs))
            // The posts take the last `count` positions with no gaps.
            #expect(seqs.sorted() == Array((log.count - count + 1)...log.count))

            let verdict = try await hub.verify(caseId: caseId)
            #expect(verdict["ok"] as? Bool == true)
            #expect(verdict["entries"] as? Int == log.count)

            let familyThread = try await hub.messages(caseId: caseId, thread: "family")
            let ppaThread = try await hub.messages(caseId: caseId, thread: "ppa")
            #expect(familyThread.count + ppaThread.count == count)
            let familySeqs = familyThread.compactMap { $0["seq"] as? Int }
            #expect(familySeqs == familySeqs.sorted())
        }
    }
}
