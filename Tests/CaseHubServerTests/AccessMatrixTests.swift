import Foundation
import HTTPTypes
import Testing

/// The role × thread access matrix of API.md, for every participant role and admin.
@Suite("Access matrix")
struct AccessMatrixTests {
    /// One case with a participant of every role and one admin message in every thread.
    struct Fixture {
        let caseId: String
        let tokens: [String: String]
        /// Thread → (message id, body) of the admin's message there.
        let secrets: [String: (id: String, body: String)]

        static func make(_ hub: HubClient) async throws -> Fixture {
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            var tokens = ["admin": hub.adminToken]
            for role in participantRoles {
                tokens[role] = try await hub.addParticipant(caseId: caseId, role: role).token
            }
            var secrets: [String: (id: String, body: String)] = [:]
            for thread in allThreads {
                let body = marker("secret-\(thread)")
                let message = try await hub.postMessage(caseId: caseId, thread: thread, body: body)
                secrets[thread] = (try #require(message["id"] as? String), body)
            }
            return Fixture(caseId: caseId, tokens: tokens, secrets: secrets)
        }
    }

    @Test("each role reads and writes exactly its threads", arguments: participantRoles + ["admin"])
    func matrix(role: String) async throws {
        try await withHub { hub in
            let fixture = try await Fixture.make(hub)
            let caseId = fixture.caseId
            let token = try #require(fixture.tokens[role])
            let allowed = try #require(expectedAccess[role])
            var replies: [Reply] = []
            var posted: [String: String] = [:]  // thread → body this role posted there

            // GET threads lists exactly the allowed threads.
            let threads = try await hub.get("/v1/cases/\(caseId)/threads", token: token)
            replies.append(threads)
            #expect(threads.status == .ok)
            let names = (try threads.json()["threads"] as? [JSONObject] ?? []).compactMap { $0["name"] as? String }
            #expect(Set(names) == allowed, "\(role) sees threads \(names)")
            #expect(names.count == allowed.count)
            // The case itself is visible.
            let caseReply = try await hub.get("/v1/cases/\(caseId)", token: token)
            replies.append(caseReply)
            #expect(caseReply.status == .ok)
            // The case list too.
            replies.append(try await hub.get("/v1/cases", token: token))

            for thread in allThreads {
                let may = allowed.contains(thread)
                let secret = try #require(fixture.secrets[thread])
                let base = "/v1/cases/\(caseId)/threads/\(thread)"

                // List messages.
                let list = try await hub.get(base + "/messages", token: token)
                replies.append(list)
                if may {
                    #expect(list.status == .ok, "\(role) GET \(thread) messages: \(list.text)")
                    let ids = (try list.json()["messages"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
                    #expect(ids.contains(secret.id))
                } else {
                    expectError(list, .notFound, "not_found")
                    // Indistinguishable from a thread that does not exist.
                    let missing = try await hub.get("/v1/cases/\(caseId)/threads/nurses/messages", token: token)
                    #expect(list.text == missing.text)
                }

                // Post a message.
                let body = marker("by-\(role)-in-\(thread)")
                let post = try await hub.post(base + "/messages", token: token, json: #"{"body": "\#(body)"}"#)
                replies.append(post)
                if may {
                    #expect(post.status == .created, "\(role) POST \(thread): \(post.text)")
                    posted[thread] = body
                } else {
                    expectError(post, .notFound, "not_found")
                }

                if !may {
                    // Refused as missing before the body is even looked at.
                    let malformed = try await hub.post(base + "/messages", token: token, json: #"{"body": "#)
                    expectError(malformed, .notFound, "not_found")
                    let plain = try await hub.request(.post, base + "/messages", token: token, json: "hello", contentType: "text/plain")
                    expectError(plain, .notFound, "not_found")
                    replies += [malformed, plain]
                }

                // Mark read.
                let read = try await hub.post(base + "/read", token: token, json: #"{"up_to_seq": 1}"#)
                replies.append(read)
                if may {
                    #expect(read.status == .noContent, "\(role) read \(thread): \(read.text)")
                } else {
                    expectError(read, .notFound, "not_found")
                }

                // The admin's message by id, and acting on it.
                let messageURI = "/v1/cases/\(caseId)/messages/\(secret.id)"
                let single = try await hub.get(messageURI, token: token)
                replies.append(single)
                let ack = try await hub.post(messageURI + "/ack", token: token, json: "{}")
                replies.append(ack)
                if may {
                    #expect(single.status == .ok, "\(role) GET message in \(thread): \(single.text)")
                    #expect(ack.status == .ok, "\(role) ack in \(thread): \(ack.text)")
                } else {
                    expectError(single, .notFound, "not_found")
                    expectError(ack, .notFound, "not_found")
                    // Indistinguishable from a message that does not exist.
                    let missing = try await hub.get("/v1/cases/\(caseId)/messages/\(UUID().uuidString.lowercased())", token: token)
                    #expect(single.text == missing.text)
                    // Replying to it from a visible thread reveals nothing either.
                    if let visible = allowed.sorted().first {
                        let uri = "/v1/cases/\(caseId)/threads/\(visible)/messages"
                        let probe = try await hub.post(uri, token: token, json: #"{"body": "probe", "reply_to": "\#(secret.id)"}"#)
                        let controlId = UUID().uuidString.lowercased()
                        let control = try await hub.post(uri, token: token, json: #"{"body": "probe", "reply_to": "\#(controlId)"}"#)
                        expectError(probe, .badRequest, "invalid_request", naming: "reply_to")
                        #expect(
                            probe.text.replacingOccurrences(of: secret.id, with: "ID") == control.text.replacingOccurrences(of: controlId, with: "ID"))
                    }
                }

                if role != "admin" {
                    // Not the author: 403 where the thread is visible, 404 where it is not.
                    let edit = try await hub.request(.patch, messageURI, token: token, json: #"{"body": "changed"}"#)
                    replies.append(edit)
                    if may {
                        expectError(edit, .forbidden, "forbidden")
                    } else {
                        expectError(edit, .notFound, "not_found")
                        let delete = try await hub.request(.delete, messageURI, token: token)
                        replies.append(delete)
                        expectError(delete, .notFound, "not_found")
                    }
                }
                if role != "admin" && role != "case_manager" {
                    let relay = try await hub.post(messageURI + "/relay", token: token, json: #"{"to": "\#(allowed.sorted().first ?? "family")"}"#)
                    replies.append(relay)
                    if may {
                        expectError(relay, .forbidden, "forbidden")
                    } else {
                        expectError(relay, .notFound, "not_found")
                    }
                }
            }

            // Thread list again, now with messages and read markers.
            let after = try await hub.get("/v1/cases/\(caseId)/threads", token: token)
            replies.append(after)
            let afterNames = Set((try after.json()["threads"] as? [JSONObject] ?? []).compactMap { $0["name"] as? String })
            #expect(afterNames == allowed)

            // The case log: case_manager and admin only.
            let log = try await hub.get("/v1/cases/\(caseId)/log", token: token)
            let verify = try await hub.get("/v1/cases/\(caseId)/log/verify", token: token)
            replies += [log, verify]
            if role == "case_manager" || role == "admin" {
                #expect(log.status == .ok)
                #expect(verify.status == .ok)
                let entries = try #require(try log.json()["entries"] as? [JSONObject])
                let loggedThreads = Set(entries.compactMap { $0["thread"] as? String })
                #expect(loggedThreads == Set(allThreads))
                for thread in allThreads { #expect(log.contains(fixture.secrets[thread]?.body ?? "?")) }
                #expect(try verify.json()["ok"] as? Bool == true)
            } else {
                expectError(log, .forbidden, "forbidden")
                expectError(verify, .forbidden, "forbidden")
            }

            // Nothing of a forbidden thread ever reached this token.
            for thread in allThreads where !allowed.contains(thread) {
                let secret = try #require(fixture.secrets[thread])
                for reply in replies {
                    #expect(!reply.contains(secret.body), "\(role) saw the \(thread) body in: \(reply.text)")
                    #expect(!reply.contains(secret.id), "\(role) saw the \(thread) message id in: \(reply.text)")
                }
            }

            // What was refused stored nothing; what was allowed is there.
            for thread in allThreads {
                let messages = try await hub.messages(caseId: caseId, thread: thread)
                let bodies = messages.compactMap { $0["body"] as? String }
                if let body = posted[thread] {
                    #expect(bodies.contains(body))
                    #expect(messages.count == 2)
                } else {
                    #expect(messages.count == 1, "\(role) changed \(thread): \(bodies)")
                    #expect(!bodies.contains { $0.contains("by-\(role)-in-") })
                }
            }
            #expect(try await hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("messages in forbidden threads never show, even as last_message or in the log of another role", arguments: ["family", "patient", "payer", "ppa"])
    func forbiddenMessagesStayHidden(role: String) async throws {
        try await withHub { hub in
            let fixture = try await Fixture.make(hub)
            let caseId = fixture.caseId
            let token = try #require(fixture.tokens[role])
            let allowed = try #require(expectedAccess[role])
            let manager = try #require(fixture.tokens["case_manager"])
            // The case manager posts, replies and relays in the forbidden threads.
            var hidden: [String] = []
            for thread in allThreads where !allowed.contains(thread) {
                let secret = try #require(fixture.secrets[thread])
                let body = marker("cm-\(thread)")
                let reply = try await hub.postMessage(
                    caseId: caseId, thread: thread, body: body, token: manager, extra: #""reply_to": "\#(secret.id)""#)
                hidden += [body, try #require(reply["id"] as? String), secret.body, secret.id]
                // Relay between two forbidden threads when there are two.
                if let target = allThreads.first(where: { !allowed.contains($0) && $0 != thread }) {
                    let relay = try await hub.post(
                        "/v1/cases/\(caseId)/messages/\(secret.id)/relay", token: manager, json: #"{"to": "\#(target)"}"#)
                    #expect(relay.status == .created)
                    hidden.append(try #require(try relay.json()["id"] as? String))
                }
            }
            var replies: [Reply] = []
            replies.append(try await hub.get("/v1/cases/\(caseId)/threads", token: token))
            replies.append(try await hub.get("/v1/cases/\(caseId)", token: token))
            replies.append(try await hub.get("/v1/cases", token: token))
            replies.append(try await hub.get("/v1/cases/\(caseId)/log", token: token))
            for thread in allThreads {
                replies.append(try await hub.get("/v1/cases/\(caseId)/threads/\(thread)/messages?limit=200", token: token))
                replies.append(try await hub.get("/v1/cases/\(caseId)/threads/\(thread)/messages?after=0&before=1000", token: token))
            }
            for reply in replies {
                for needle in hidden {
                    #expect(!reply.contains(needle), "\(role) saw \(needle) in: \(reply.text)")
                }
            }
        }
    }

    @Test("a token of case A probing case B answers 404 everywhere", arguments: participantRoles)
    func crossCaseProbing(role: String) async throws {
        try await withHub { hub in
            let caseA = try #require(try await hub.createCase(mrn: "RM-A")["id"] as? String)
            let caseB = try #require(try await hub.createCase(mrn: "RM-B")["id"] as? String)
            let member = try await hub.addParticipant(caseId: caseA, role: role)
            _ = try await hub.addParticipant(caseId: caseB, role: role)
            let secret = marker("case-b")
            let message = try await hub.postMessage(caseId: caseB, thread: "family", body: secret)
            let messageId = try #require(message["id"] as? String)
            let before = try await hub.snapshot()

            var replies: [Reply] = []
            let b = "/v1/cases/\(caseB)"
            for uri in [b, b + "/threads", b + "/log", b + "/log/verify", b + "/participants", b + "/messages/\(messageId)"] {
                let reply = try await hub.get(uri, token: member.token)
                expectError(reply, .notFound, "not_found")
                replies.append(reply)
            }
            for thread in allThreads {
                let list = try await hub.get(b + "/threads/\(thread)/messages", token: member.token)
                expectError(list, .notFound, "not_found")
                let post = try await hub.post(b + "/threads/\(thread)/messages", token: member.token, json: #"{"body": "probe"}"#)
                expectError(post, .notFound, "not_found")
                let read = try await hub.post(b + "/threads/\(thread)/read", token: member.token, json: #"{"up_to_seq": 1}"#)
                expectError(read, .notFound, "not_found")
                replies += [list, post, read]
            }
            let writes: [(HTTPRequest.Method, String, String?)] = [
                (.post, b + "/close", "{}"),
                (.post, b + "/participants", #"{"role": "family", "name": "Intruder"}"#),
                (.post, b + "/messages/\(messageId)/ack", "{}"),
                (.post, b + "/messages/\(messageId)/relay", #"{"to": "patient"}"#),
                (.patch, b + "/messages/\(messageId)", #"{"body": "x"}"#),
                (.delete, b + "/messages/\(messageId)", nil),
            ]
            for (method, uri, json) in writes {
                let reply = try await hub.request(method, uri, token: member.token, json: json)
                expectError(reply, .notFound, "not_found")
                replies.append(reply)
            }
            // A 404 for case B looks exactly like a 404 for a case that does not exist.
            let missing = try await hub.get("/v1/cases/\(UUID().uuidString.lowercased())", token: member.token)
            #expect(missing.text == replies[0].text)

            for reply in replies {
                #expect(!reply.contains(secret))
                #expect(!reply.contains("RM-B"))
            }
            #expect(try await hub.snapshot() == before)
        }
    }
}
