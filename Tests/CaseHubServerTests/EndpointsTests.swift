import CaseHubCore
import Foundation
import HTTPTypes
import Testing

@Suite("Webhook endpoints")
struct EndpointsTests {
    /// Whether `secret` is `whsec_` and the base64 of 32 bytes.
    static func isSecret(_ secret: String?) -> Bool {
        guard let secret, secret.hasPrefix("whsec_") else { return false }
        return Data(base64Encoded: String(secret.dropFirst("whsec_".count)))?.count == 32
    }

    static func millis(_ value: Any?) -> UInt64? {
        (value as? String).flatMap(Timestamp.parseMillis)
    }

    static var nowMillis: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// A 400 `invalid_request` whose message starts with `field:`.
    static func expectInvalid(_ reply: Reply, naming field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(reply, .badRequest, "invalid_request", naming: field, sourceLocation: sourceLocation)
        let message = ((reply.object?["error"] as? JSONObject)?["message"] as? String) ?? ""
        #expect(message.hasPrefix("\(field):"), "message should start with \(field): \(message)", sourceLocation: sourceLocation)
    }

    @Test("POST /v1/endpoints answers 201 with the endpoint and a whsec_ secret of 32 bytes")
    func create() async throws {
        try await withHub { hub in
            let before = Self.nowMillis
            let reply = try await hub.post(
                "/v1/endpoints", token: hub.adminToken,
                json: #"""
                    {"url": "https://ppa.example.org/hooks", "description": "PPA team", "events": ["message.posted", "milestone.due", "message.posted"],
                     "roles": ["ppa"]}
                    """#)
            #expect(reply.status == .created, "\(reply)")
            let object = try reply.json()
            #expect(Set(object.keys) == ["endpoint", "secret"])
            let secret = try #require(object["secret"] as? String)
            #expect(Self.isSecret(secret), "secret: \(secret)")
            let endpoint = try #require(object["endpoint"] as? JSONObject)
            #expect(Set(endpoint.keys) == endpointFields, "fields: \(endpoint.keys.sorted())")
            #expect((endpoint["id"] as? String)?.isEmpty == false)
            #expect(endpoint["url"] as? String == "https://ppa.example.org/hooks")
            #expect(endpoint["description"] as? String == "PPA team")
            #expect(endpoint["events"] as? [String] == ["message.posted", "milestone.due"], "duplicates are dropped")
            #expect(endpoint["roles"] as? [String] == ["ppa"])
            #expect(endpoint["enabled"] as? Bool == true)
            #expect(endpoint["include_text"] as? Bool == false)
            #expect(isNull(endpoint["disabled_reason"]))
            #expect(isNull(endpoint["previous_secret_expires_at"]))
            #expect(isUTCTimestamp(endpoint["created_at"]))
            let created = try #require(Self.millis(endpoint["created_at"]))
            #expect(created + 1000 >= before && created <= Self.nowMillis + 1000)
            // The secret is shown once: never in the endpoint itself.
            #expect(!(endpoint.values.contains { $0 as? String == secret }))

            // Defaults: description "", include_text false; "*" subscribes to every type.
            let plain = try await hub.createWebhookEndpoint(url: "http://payer.example.org:8443/in", events: ["*"], roles: ["payer", "admin"])
            #expect(plain.endpoint["description"] as? String == "")
            #expect(plain.endpoint["include_text"] as? Bool == false)
            #expect(plain.endpoint["events"] as? [String] == ["*"])
            #expect(Set(plain.endpoint["roles"] as? [String] ?? []) == ["payer", "admin"])
            #expect(Self.isSecret(plain.secret))
            #expect(plain.secret != secret, "every endpoint gets its own secret")
            #expect(plain.endpoint["id"] as? String != endpoint["id"] as? String)

            let opted = try await hub.createWebhookEndpoint(events: ["message.acked"], roles: ["case_manager"], includeText: true)
            #expect(opted.endpoint["include_text"] as? Bool == true)
        }
    }

    @Test("GET /v1/endpoints lists every endpoint as created, never its secret")
    func list() async throws {
        try await withHub { hub in
            #expect(try await hub.webhookEndpoints().isEmpty)
            let first = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["ppa"], description: "first")
            let second = try await hub.createWebhookEndpoint(events: ["*"], roles: ["payer"], includeText: true)
            let reply = try await hub.get("/v1/endpoints", token: hub.adminToken)
            #expect(reply.status == .ok)
            #expect(!reply.contains(first.secret) && !reply.contains(second.secret), "secrets are shown only once")
            #expect(!reply.contains("whsec_"))
            let listed = try await hub.webhookEndpoints()
            #expect(listed.count == 2)
            for created in [first.endpoint, second.endpoint] {
                let id = try #require(created["id"] as? String)
                let found = try #require(listed.first { $0["id"] as? String == id }, "\(id) is listed")
                #expect(Set(found.keys) == endpointFields)
                #expect(canonicalJSON(found) == canonicalJSON(created), "listed \(found) vs created \(created)")
            }
        }
    }

    @Test("PATCH /v1/endpoints/{id} changes each field and answers the bare endpoint")
    func patch() async throws {
        try await withHub { hub in
            let created = try await hub.createWebhookEndpoint(
                url: "https://a.example.org/hook", events: ["message.posted"], roles: ["ppa"], description: "before")
            let id = try #require(created.endpoint["id"] as? String)
            let path = "/v1/endpoints/\(id)"

            func patch(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONObject {
                let reply = try await hub.request(.patch, path, token: hub.adminToken, json: json)
                #expect(reply.status == .ok, "PATCH \(json): \(reply)", sourceLocation: sourceLocation)
                let endpoint = try reply.json(sourceLocation: sourceLocation)
                #expect(Set(endpoint.keys) == endpointFields, "PATCH answers the bare endpoint: \(endpoint.keys.sorted())", sourceLocation: sourceLocation)
                #expect(endpoint["id"] as? String == id, sourceLocation: sourceLocation)
                return endpoint
            }

            let disabled = try await patch(#"{"enabled": false}"#)
            #expect(disabled["enabled"] as? Bool == false)
            #expect(isNull(disabled["disabled_reason"]), "disabled by hand: no reason")
            #expect(disabled["url"] as? String == "https://a.example.org/hook", "fields not sent stay as they were")
            #expect(disabled["events"] as? [String] == ["message.posted"])

            let enabled = try await patch(#"{"enabled": true}"#)
            #expect(enabled["enabled"] as? Bool == true)

            let moved = try await patch(#"{"url": "http://b.example.org:9000/new"}"#)
            #expect(moved["url"] as? String == "http://b.example.org:9000/new")

            let events = try await patch(#"{"events": ["message.acked", "message.edited"]}"#)
            #expect(events["events"] as? [String] == ["message.acked", "message.edited"])

            let roles = try await patch(#"{"roles": ["payer", "family"]}"#)
            #expect(Set(roles["roles"] as? [String] ?? []) == ["payer", "family"])
            #expect((roles["roles"] as? [String])?.count == 2)

            let text = try await patch(#"{"include_text": true}"#)
            #expect(text["include_text"] as? Bool == true)

            let described = try await patch(#"{"description": "after"}"#)
            #expect(described["description"] as? String == "after")

            // Several at once; null and absent fields leave things as they are.
            let several = try await patch(#"{"enabled": false, "include_text": false, "events": ["*"], "url": null, "roles": null}"#)
            #expect(several["enabled"] as? Bool == false)
            #expect(several["include_text"] as? Bool == false)
            #expect(several["events"] as? [String] == ["*"])
            #expect(several["url"] as? String == "http://b.example.org:9000/new")
            #expect(Set(several["roles"] as? [String] ?? []) == ["payer", "family"])

            let unchanged = try await patch("{}")
            #expect(canonicalJSON(unchanged) == canonicalJSON(several))

            // The list shows the stored state, with the created_at of creation.
            let listed = try #require(try await hub.webhookEndpoints().first { $0["id"] as? String == id })
            #expect(canonicalJSON(listed) == canonicalJSON(several))
            #expect(listed["created_at"] as? String == created.endpoint["created_at"] as? String)
        }
    }

    @Test("rotate-secret answers a new secret; the old one signs on for about 24 hours")
    func rotateSecret() async throws {
        try await withHub { hub in
            let created = try await hub.createWebhookEndpoint()
            let id = try #require(created.endpoint["id"] as? String)
            let reply = try await hub.post("/v1/endpoints/\(id)/rotate-secret", token: hub.adminToken, json: "{}")
            #expect(reply.status == .ok, "\(reply)")
            let object = try reply.json()
            #expect(Set(object.keys) == ["endpoint", "secret"])
            let secret = try #require(object["secret"] as? String)
            #expect(Self.isSecret(secret))
            #expect(secret != created.secret)
            let endpoint = try #require(object["endpoint"] as? JSONObject)
            #expect(Set(endpoint.keys) == endpointFields)
            #expect(endpoint["id"] as? String == id)
            let expires = try #require(Self.millis(endpoint["previous_secret_expires_at"]), "previous_secret_expires_at: \(endpoint)")
            #expect(isUTCTimestamp(endpoint["previous_secret_expires_at"]))
            let ahead = Int64(expires) - Int64(Self.nowMillis)
            #expect(abs(ahead - 86_400_000) < 60_000, "expires \(ahead) ms ahead, not 24 h")

            // A rotation without a body works too, and gives yet another secret.
            let again = try await hub.request(.post, "/v1/endpoints/\(id)/rotate-secret", token: hub.adminToken)
            #expect(again.status == .ok, "\(again)")
            let third = try #require(try again.json()["secret"] as? String)
            #expect(Self.isSecret(third) && third != secret && third != created.secret)

            let listing = try await hub.get("/v1/endpoints", token: hub.adminToken)
            #expect(!listing.contains(third) && !listing.contains(secret) && !listing.contains(created.secret))
            let listed = try #require(try await hub.webhookEndpoints().first)
            #expect(isUTCTimestamp(listed["previous_secret_expires_at"]))
        }
    }

    @Test("an unknown endpoint id answers 404")
    func unknownEndpoint() async throws {
        try await withHub { hub in
            _ = try await hub.createWebhookEndpoint()
            let before = try await hub.webhookEndpoints()
            let unknown = UUID().uuidString.lowercased()
            expectError(
                try await hub.request(.patch, "/v1/endpoints/\(unknown)", token: hub.adminToken, json: #"{"enabled": false}"#), .notFound,
                "not_found")
            expectError(try await hub.post("/v1/endpoints/\(unknown)/rotate-secret", token: hub.adminToken, json: "{}"), .notFound, "not_found")
            let after = try await hub.webhookEndpoints()
            #expect(canonicalJSON(after) == canonicalJSON(before))
        }
    }

    @Test("non-admin tokens answer 403 on every endpoint route and change nothing")
    func nonAdmin() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let created = try await hub.createWebhookEndpoint()
            let id = try #require(created.endpoint["id"] as? String)
            let before = try await hub.webhookEndpoints()
            for role in participantRoles {
                let token = try await hub.addParticipant(caseId: caseId, role: role).token
                let create = try await hub.post(
                    "/v1/endpoints", token: token, json: #"{"url": "https://x.example.org/", "events": ["*"], "roles": ["admin"]}"#)
                expectError(create, .forbidden, "forbidden")
                expectError(try await hub.get("/v1/endpoints", token: token), .forbidden, "forbidden")
                expectError(try await hub.request(.patch, "/v1/endpoints/\(id)", token: token, json: #"{"enabled": false}"#), .forbidden, "forbidden")
                let rotate = try await hub.post("/v1/endpoints/\(id)/rotate-secret", token: token, json: "{}")
                expectError(rotate, .forbidden, "forbidden")
                #expect(!rotate.contains("whsec_"))
            }
            for request in [
                try await hub.get("/v1/endpoints", token: nil),
                try await hub.post("/v1/endpoints", token: nil, json: #"{"url": "https://x.example.org/", "events": ["*"], "roles": ["admin"]}"#),
                try await hub.post("/v1/endpoints/\(id)/rotate-secret", token: "chub_nope", json: "{}"),
            ] {
                expectError(request, .unauthorized, "unauthorized")
            }
            let after = try await hub.webhookEndpoints()
            #expect(canonicalJSON(after) == canonicalJSON(before), "a refused request changes nothing")
        }
    }

    /// Request bodies of `POST /v1/endpoints` that must be refused, and the field each names.
    static let badCreations: [(json: String, field: String)] = [
        (#"{"url": "ftp://hooks.example.org/x", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "/relative/hook", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "hooks.example.org/x", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "https://", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "https://hook:secret@hooks.example.org/x", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "https://hook@hooks.example.org/x", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "", "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": null, "events": ["*"], "roles": ["ppa"]}"#, "url"),
        ("{}", "url"),
        (#"{"url": 42, "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": ["https://a.example.org/"], "events": ["*"], "roles": ["ppa"]}"#, "url"),
        (#"{"url": "https://a.example.org/", "events": ["message.sent"], "roles": ["ppa"]}"#, "events"),
        (#"{"url": "https://a.example.org/", "events": ["message.posted", "case.opened"], "roles": ["ppa"]}"#, "events"),
        (#"{"url": "https://a.example.org/", "events": [], "roles": ["ppa"]}"#, "events"),
        (#"{"url": "https://a.example.org/", "roles": ["ppa"]}"#, "events"),
        (#"{"url": "https://a.example.org/", "events": "message.posted", "roles": ["ppa"]}"#, "events"),
        (#"{"url": "https://a.example.org/", "events": [1], "roles": ["ppa"]}"#, "events"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": ["doctor"]}"#, "roles"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": ["ppa", "PPA"]}"#, "roles"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": []}"#, "roles"),
        (#"{"url": "https://a.example.org/", "events": ["*"]}"#, "roles"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": "ppa"}"#, "roles"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": [null]}"#, "roles"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": ["ppa"], "include_text": "yes"}"#, "include_text"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": ["ppa"], "include_text": 1}"#, "include_text"),
        (#"{"url": "https://a.example.org/", "events": ["*"], "roles": ["ppa"], "description": 7}"#, "description"),
        (#"["https://a.example.org/"]"#, "body"),
    ]

    @Test("POST /v1/endpoints refuses bad fields with 400 naming the field, and stores nothing")
    func badCreation() async throws {
        try await withHub { hub in
            let existing = try await hub.createWebhookEndpoint()
            let before = try await hub.webhookEndpoints()
            for (json, field) in Self.badCreations {
                let reply = try await hub.post("/v1/endpoints", token: hub.adminToken, json: json)
                Self.expectInvalid(reply, naming: field)
                #expect(!reply.contains("whsec_"), "\(json)")
            }
            expectError(try await hub.post("/v1/endpoints", token: hub.adminToken, json: #"{"url": "#), .badRequest, "invalid_request")
            let after = try await hub.webhookEndpoints()
            #expect(after.count == 1)
            #expect(canonicalJSON(after) == canonicalJSON(before), "a failed request changes nothing")
            #expect(after.first?["id"] as? String == existing.endpoint["id"] as? String)
        }
    }

    /// Request bodies of `PATCH /v1/endpoints/{id}` that must be refused, and the field each names.
    static let badChanges: [(json: String, field: String)] = [
        (#"{"url": "ftp://hooks.example.org/x"}"#, "url"),
        (#"{"url": "relative/path"}"#, "url"),
        (#"{"url": "http://user:pass@x.example.org/"}"#, "url"),
        (#"{"url": ""}"#, "url"),
        (#"{"url": 5}"#, "url"),
        (#"{"events": ["message.sent"]}"#, "events"),
        (#"{"events": []}"#, "events"),
        (#"{"events": "*"}"#, "events"),
        (#"{"roles": ["nurse"]}"#, "roles"),
        (#"{"roles": []}"#, "roles"),
        (#"{"roles": {"ppa": true}}"#, "roles"),
        (#"{"enabled": "false"}"#, "enabled"),
        (#"{"enabled": 0}"#, "enabled"),
        (#"{"include_text": "true"}"#, "include_text"),
        (#"{"description": false}"#, "description"),
        // One bad field refuses the whole change, good fields included.
        (#"{"enabled": false, "description": "changed", "url": "ftp://x.example.org/"}"#, "url"),
        (#"{"enabled": false, "roles": ["ppa", "surgeon"]}"#, "roles"),
        (#""enabled""#, "body"),
    ]

    @Test("PATCH refuses bad fields with 400 naming the field, and changes nothing")
    func badChange() async throws {
        try await withHub { hub in
            let created = try await hub.createWebhookEndpoint(
                url: "https://a.example.org/hook", events: ["message.posted"], roles: ["ppa"], description: "kept")
            let id = try #require(created.endpoint["id"] as? String)
            for (json, field) in Self.badChanges {
                Self.expectInvalid(try await hub.request(.patch, "/v1/endpoints/\(id)", token: hub.adminToken, json: json), naming: field)
            }
            let after = try await hub.webhookEndpoints()
            #expect(after.count == 1)
            let endpoint = try #require(after.first)
            #expect(canonicalJSON(endpoint) == canonicalJSON(created.endpoint), "a failed PATCH changes nothing: \(endpoint)")
        }
    }
}
