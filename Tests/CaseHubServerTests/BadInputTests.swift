import Foundation
import HTTPTypes
import Testing

/// Requests the hub must refuse with the right 4xx, the error shape, and no stored change.
@Suite("Bad input")
struct BadInputTests {
    /// Runs `check` against a case with one message, then checks nothing was stored.
    static func refusing(_ check: @Sendable (HubClient, String) async throws -> Void) async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "existing")
            let before = try await hub.snapshot()
            try await check(hub, caseId)
            #expect(try await hub.snapshot() == before)
        }
    }

    @Test("malformed JSON answers 400 invalid_request")
    func malformedJSON() async throws {
        try await Self.refusing { hub, caseId in
            // A member given twice is refused, not resolved one way or the other.
            // An integer beyond 64 bits is refused rather than rounded through a double.
            for json in [
                #"{"body": "x""#, "{body: 1}", "", "{\"body\": \"x\"} trailing", "nul", #"{"body": "a", "body": "b"}"#,
                #"{"body": "klaim", "data": {"claim_no": 12345678901234567890}}"#,
            ] {
                expectError(
                    try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: json), .badRequest,
                    "invalid_request")
            }
            expectError(try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": "#), .badRequest, "invalid_request")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/participants", token: hub.adminToken, json: "[1, 2"), .badRequest, "invalid_request")
        }
    }

    @Test("a JSON value that is not an object answers 400")
    func notAnObject() async throws {
        try await Self.refusing { hub, caseId in
            for json in ["[]", "5", #""text""#, "null"] {
                expectError(
                    try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: json), .badRequest,
                    "invalid_request")
            }
        }
    }

    @Test("wrong types answer 400 naming the field")
    func wrongTypes() async throws {
        try await Self.refusing { hub, caseId in
            let uri = "/v1/cases/\(caseId)/threads/family/messages"
            let cases: [(String, String)] = [
                (#"{"body": 5}"#, "body"),
                (#"{"body": ["x"]}"#, "body"),
                (#"{"body": "x", "requires_ack": "yes"}"#, "requires_ack"),
                (#"{"body": "x", "priority": "asap"}"#, "priority"),
                (#"{"body": "x", "priority": 1}"#, "priority"),
                (#"{"body": "x", "data": "not an object"}"#, "data"),
                (#"{"body": "x", "reply_to": 7}"#, "reply_to"),
                (#"{"body": "x", "kind": 3}"#, "kind"),
            ]
            for (json, field) in cases {
                expectError(try await hub.post(uri, token: hub.adminToken, json: json), .badRequest, "invalid_request", naming: field)
            }
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": 123, "patient": {"name": "A"}}"#), .badRequest,
                "invalid_request", naming: "mrn")
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": "Budi"}"#), .badRequest,
                "invalid_request", naming: "patient")
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": {"name": "A"}, "payer": "BPJS"}"#),
                .badRequest, "invalid_request", naming: "payer")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/threads/family/read", token: hub.adminToken, json: #"{"up_to_seq": "3"}"#),
                .badRequest, "invalid_request", naming: "up_to_seq")
        }
    }

    @Test("missing fields answer 400 naming the field")
    func missingFields() async throws {
        try await Self.refusing { hub, caseId in
            let uri = "/v1/cases/\(caseId)/threads/family/messages"
            expectError(try await hub.post(uri, token: hub.adminToken, json: "{}"), .badRequest, "invalid_request", naming: "body")
            expectError(try await hub.post(uri, token: hub.adminToken, json: #"{"kind": "text"}"#), .badRequest, "invalid_request", naming: "body")
            expectError(try await hub.post(uri, token: hub.adminToken, json: #"{"body": "   "}"#), .badRequest, "invalid_request", naming: "body")
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"patient": {"name": "Budi"}}"#), .badRequest,
                "invalid_request", naming: "mrn")
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1"}"#), .badRequest, "invalid_request",
                naming: "patient")
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": {}}"#), .badRequest,
                "invalid_request", naming: "patient.name")
            expectError(
                try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": {"name": "A"}, "payer": {}}"#),
                .badRequest, "invalid_request", naming: "payer.name")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/participants", token: hub.adminToken, json: #"{"name": "Sari"}"#), .badRequest,
                "invalid_request", naming: "role")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/threads/family/read", token: hub.adminToken, json: "{}"), .badRequest,
                "invalid_request", naming: "up_to_seq")
            // A POST with no body at all.
            expectError(try await hub.request(.post, uri, token: hub.adminToken), .badRequest, "invalid_request")
            // PATCH without body.
            let message = try #require(try await hub.messages(caseId: caseId, thread: "family").first?["id"] as? String)
            expectError(
                try await hub.request(.patch, "/v1/cases/\(caseId)/messages/\(message)", token: hub.adminToken, json: "{}"), .badRequest,
                "invalid_request", naming: "body")
            expectError(
                try await hub.post("/v1/cases/\(caseId)/messages/\(message)/relay", token: hub.adminToken, json: "{}"), .forbidden, "forbidden")
        }
    }

    @Test("an unknown thread name answers 404")
    func unknownThread() async throws {
        try await Self.refusing { hub, caseId in
            for thread in ["nurses", "Family", "admin"] {
                expectError(try await hub.get("/v1/cases/\(caseId)/threads/\(thread)/messages", token: hub.adminToken), .notFound, "not_found")
                expectError(
                    try await hub.post("/v1/cases/\(caseId)/threads/\(thread)/messages", token: hub.adminToken, json: #"{"body": "x"}"#),
                    .notFound, "not_found")
                expectError(
                    try await hub.post("/v1/cases/\(caseId)/threads/\(thread)/read", token: hub.adminToken, json: #"{"up_to_seq": 1}"#),
                    .notFound, "not_found")
            }
        }
    }

    @Test("a 2 MiB body answers 413 payload_too_large")
    func tooLarge() async throws {
        try await Self.refusing { hub, caseId in
            let filler = String(repeating: "a", count: 2 << 20)
            let reply = try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: #"{"body": "\#(filler)"}"#)
            expectError(reply, .contentTooLarge, "payload_too_large")
            let cases = try await hub.post("/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": {"name": "\#(filler)"}}"#)
            expectError(cases, .contentTooLarge, "payload_too_large")
            // Routes that take no body refuse one over the limit too, and do nothing.
            let messageId = try #require(try await hub.messages(caseId: caseId, thread: "family").first?["id"] as? String)
            for uri in ["/v1/cases/\(caseId)/messages/\(messageId)/ack", "/v1/cases/\(caseId)/close"] {
                expectError(try await hub.post(uri, token: hub.adminToken, json: filler), .contentTooLarge, "payload_too_large")
            }
        }
    }

    @Test("a body just under 1 MiB is read (then refused for its message length, not its size)")
    func underLimit() async throws {
        try await Self.refusing { hub, caseId in
            let filler = String(repeating: "a", count: (1 << 20) - 100)
            let reply = try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: #"{"body": "\#(filler)"}"#)
            expectError(reply, .badRequest, "invalid_request", naming: "body")
        }
    }

    @Test("bytes that are not UTF-8 answer 400")
    func notUTF8() async throws {
        try await Self.refusing { hub, caseId in
            let bytes = Array(#"{"body": ""#.utf8) + [0xFF, 0xFE, 0xC3] + Array(#""}"#.utf8)
            let reply = try await hub.request(.post, "/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, bytes: bytes)
            expectError(reply, .badRequest, "invalid_request")
            let latin1 = Array(#"{"mrn": "RM-1", "patient": {"name": "Jos"#.utf8) + [0xE9] + Array(#""}}"#.utf8)
            expectError(try await hub.request(.post, "/v1/cases", token: hub.adminToken, bytes: latin1), .badRequest, "invalid_request")
        }
    }

    @Test("Content-Type text/plain answers 415")
    func wrongContentType() async throws {
        try await Self.refusing { hub, caseId in
            let reply = try await hub.request(
                .post, "/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: #"{"body": "x"}"#, contentType: "text/plain")
            expectError(reply, .unsupportedMediaType, "unsupported_media_type")
            let form = try await hub.request(
                .post, "/v1/cases", token: hub.adminToken, json: #"{"mrn": "RM-1", "patient": {"name": "A"}}"#,
                contentType: "application/x-www-form-urlencoded")
            expectError(form, .unsupportedMediaType, "unsupported_media_type")
        }
    }

    @Test("a missing or wrong token answers 401 unauthorized")
    func unauthorized() async throws {
        try await Self.refusing { hub, caseId in
            let uris = ["/v1/cases", "/v1/cases/\(caseId)", "/v1/cases/\(caseId)/threads", "/v1/cases/\(caseId)/log"]
            for uri in uris {
                expectError(try await hub.get(uri, token: nil), .unauthorized, "unauthorized")
                expectError(try await hub.get(uri, token: "chub_not-a-real-token"), .unauthorized, "unauthorized")
                expectError(
                    try await hub.request(.get, uri, token: nil, headers: [.authorization: "Basic b3BzOnNlY3JldA=="]), .unauthorized,
                    "unauthorized")
                expectError(try await hub.request(.get, uri, token: nil, headers: [.authorization: "Bearer "]), .unauthorized, "unauthorized")
            }
            expectError(
                try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: nil, json: #"{"body": "x"}"#), .unauthorized,
                "unauthorized")
            expectError(
                try await hub.post("/v1/cases", token: "wrong", json: #"{"mrn": "RM-1", "patient": {"name": "A"}}"#), .unauthorized,
                "unauthorized")
            // The admin token's hash is not a token.
            expectError(try await hub.get("/v1/cases", token: "\(hub.adminToken)x"), .unauthorized, "unauthorized")
        }
    }

    @Test("kind system or milestone (hub-authored) and unknown kinds answer 400")
    func badKinds() async throws {
        try await Self.refusing { hub, caseId in
            let uri = "/v1/cases/\(caseId)/threads/family/messages"
            for kind in ["system", "milestone", "sms", ""] {
                expectError(
                    try await hub.post(uri, token: hub.adminToken, json: #"{"body": "x", "kind": "\#(kind)"}"#), .badRequest, "invalid_request",
                    naming: "kind")
            }
            // The kinds offered are the ones a client may post.
            let unknown = try await hub.post(uri, token: hub.adminToken, json: #"{"body": "x", "kind": "sms"}"#)
            let message = try #require((unknown.object?["error"] as? JSONObject)?["message"] as? String)
            #expect(message.contains("authorization_decision") && !message.contains("milestone") && !message.contains("system"), "\(message)")
            expectError(
                try await hub.post(uri, token: hub.adminToken, json: #"{"body": "x", "kind": "system"}"#), .badRequest, "invalid_request",
                naming: "written by the hub only")
        }
    }

    @Test("limit out of range answers 400 naming limit", arguments: ["0", "500", "-1", "abc", "201"])
    func badLimit(limit: String) async throws {
        try await Self.refusing { hub, caseId in
            expectError(
                try await hub.get("/v1/cases/\(caseId)/threads/family/messages?limit=\(limit)", token: hub.adminToken), .badRequest,
                "invalid_request", naming: "limit")
            expectError(try await hub.get("/v1/cases?limit=\(limit)", token: hub.adminToken), .badRequest, "invalid_request", naming: "limit")
        }
    }

    @Test("after and before must be non-negative integers")
    func badAfterBefore() async throws {
        try await Self.refusing { hub, caseId in
            let base = "/v1/cases/\(caseId)/threads/family/messages"
            expectError(try await hub.get(base + "?after=-1", token: hub.adminToken), .badRequest, "invalid_request", naming: "after")
            expectError(try await hub.get(base + "?after=x", token: hub.adminToken), .badRequest, "invalid_request", naming: "after")
            expectError(try await hub.get(base + "?before=1.5", token: hub.adminToken), .badRequest, "invalid_request", naming: "before")
            expectError(
                try await hub.get("/v1/cases/\(caseId)/log?after=-3", token: hub.adminToken), .badRequest, "invalid_request", naming: "after")
        }
    }

    @Test("structured data that misses a required field or holds a wrong value answers 400 naming data.<field>")
    func structuredDataIsValidated() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let cases: [(thread: String, json: String, field: String)] = [
                ("ppa", #"{"kind": "handoff", "data": {"situation": "S", "background": "B", "assessment": "A"}}"#, "data.recommendation"),
                ("ppa", #"{"kind": "handoff", "data": {"situation": "", "background": "B", "assessment": "A", "recommendation": "R"}}"#, "data.situation"),
                (
                    "ppa", #"{"kind": "handoff", "data": {"situation": "S", "background": "B", "assessment": "A", "recommendation": "R", "illness_severity": "bad"}}"#,
                    "data.illness_severity"
                ),
                ("ppa", #"{"kind": "authorization_request", "data": {"service": "MRI", "reason": "nyeri"}}"#, "data.urgency"),
                ("ppa", #"{"kind": "authorization_request", "data": {"service": "MRI", "reason": "x", "urgency": "routine", "due_at": "tomorrow"}}"#, "data.due_at"),
                ("payer", #"{"kind": "authorization_decision", "data": {"request_id": "r1", "decision": "maybe"}}"#, "data.decision"),
                ("payer", #"{"kind": "authorization_decision", "data": {"decision": "approved"}}"#, "data.request_id"),
                ("family", #"{"kind": "education", "data": {"material_url": "https://rs.example/luka.pdf"}}"#, "data.topic"),
                ("family", #"{"kind": "education", "data": {"topic": "Perawatan luka", "material_url": "javascript:alert(1)"}}"#, "data.material_url"),
            ]
            for (thread, json, field) in cases {
                expectError(
                    try await hub.post("/v1/cases/\(caseId)/threads/\(thread)/messages", token: hub.adminToken, json: json), .badRequest,
                    "invalid_request", naming: field)
            }
            // Nothing of the refused posts was stored.
            #expect(try await hub.log(caseId: caseId).map { $0["type"] as? String } == ["case.opened"])
        }
    }

    @Test("a decision must name an authorization request of the case; every decision value is accepted")
    func authorizationDecisionNamesItsRequest() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            expectError(
                try await hub.post(
                    "/v1/cases/\(caseId)/threads/payer/messages", token: hub.adminToken,
                    json: #"{"kind": "authorization_decision", "data": {"decision": "approved", "request_id": "nope"}}"#),
                .badRequest, "invalid_request", naming: "data.request_id")
            let request = try await hub.post(
                "/v1/cases/\(caseId)/threads/ppa/messages", token: hub.adminToken,
                json: #"{"body": "MRI lumbal", "kind": "authorization_request", "data": {"service": "MRI", "reason": "nyeri", "urgency": "routine"}}"#)
            #expect(request.status == .created)
            let requestId = try #require(try request.json()["id"] as? String)
            for decision in ["more_info", "approved"] {
                let reply = try await hub.post(
                    "/v1/cases/\(caseId)/threads/payer/messages", token: hub.adminToken,
                    json: #"{"body": "Keputusan", "kind": "authorization_decision", "data": {"decision": "\#(decision)", "request_id": "\#(requestId)"}}"#)
                #expect(reply.status == .created, "\(reply)")
                #expect((try reply.json()["data"] as? JSONObject)?["decision"] as? String == decision)
            }
        }
    }

    @Test("relaying to a thread that does not exist or to the message's own thread answers 400 naming to")
    func relayTargets() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager", name: "MPP Dewi")
            let messageId = try #require(try await hub.postMessage(caseId: caseId, thread: "family", body: "existing")["id"] as? String)
            let before = try await hub.snapshot()
            let uri = "/v1/cases/\(caseId)/messages/\(messageId)/relay"
            for json in [#"{"to": "kitchen"}"#, #"{"to": "family"}"#, #"{}"#, #"{"to": 3}"#] {
                expectError(try await hub.post(uri, token: manager.token, json: json), .badRequest, "invalid_request", naming: "to")
            }
            #expect(try await hub.snapshot() == before)
        }
    }

    @Test("a redaction reason longer than 200 bytes answers 400 naming reason")
    func longRedactionReason() async throws {
        try await Self.refusing { hub, caseId in
            let messageId = try #require(try await hub.messages(caseId: caseId, thread: "family").first?["id"] as? String)
            let reason = String(repeating: "x", count: 201)
            let reply = try await hub.request(.delete, "/v1/cases/\(caseId)/messages/\(messageId)?reason=\(reason)", token: hub.adminToken)
            expectError(reply, .badRequest, "invalid_request", naming: "reason")
        }
    }

    @Test("message data over 64 KiB answers 400 naming data")
    func oversizedData() async throws {
        try await Self.refusing { hub, caseId in
            let big = String(repeating: "a", count: 70_000)
            let reply = try await hub.post(
                "/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: #"{"body": "x", "data": {"note": "\#(big)"}}"#)
            expectError(reply, .badRequest, "invalid_request", naming: "data")
        }
    }

    @Test("a text message of only white space answers 400 naming body", arguments: [#""""#, #""   ""#, #"" \n\t ""#])
    func blankBody(_ body: String) async throws {
        try await Self.refusing { hub, caseId in
            let reply = try await hub.post("/v1/cases/\(caseId)/threads/family/messages", token: hub.adminToken, json: #"{"body": \#(body)}"#)
            expectError(reply, .badRequest, "invalid_request", naming: "body")
        }
    }
}
