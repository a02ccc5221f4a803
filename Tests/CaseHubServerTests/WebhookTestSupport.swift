import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Helpers of the webhook endpoint and delivery tests. No delivery worker runs in-process,
/// so every queued delivery stays `pending`: these tests see what the API and the outbox do.

/// Runs `body` against a fresh hub like ``withHub(_:)``, with the router built with
/// `emailWaiting` (why e-mail deliveries wait, as `casehub serve` passes it when no SMTP
/// server is configured) and the store and router with `policy` (and `rateLimit`, if any).
func withHub(
    emailWaiting: String?, policy: AccessPolicy = .default, rateLimit: RateLimit? = nil, _ body: @Sendable (HubClient) async throws -> Void
) async throws {
    try await TestDatabase.with { database in
    let store = try await database.open(policy: policy)
    let path = database.path
    let token = Token.make()
    _ = try await store.issueAdminToken(name: "ops", tokenHash: Token.hash(token))
    let app = Application(router: buildRouter(store: store, policy: policy, emailWaiting: emailWaiting, rateLimiter: rateLimit.map { RateLimiter($0) }))
    try await app.test(.router) { client in
        try await body(HubClient(client: client, adminToken: token, databasePath: path))
    }
    }
}

/// The fields of an endpoint as the API renders it.
let endpointFields: Set<String> = [
    "id", "url", "description", "events", "roles", "enabled", "include_text", "disabled_reason", "created_at",
    "previous_secret_expires_at",
]

/// The fields of a delivery as the API renders it.
let deliveryFields: Set<String> = [
    "id", "event_id", "event_type", "case_id", "event_seq", "thread", "channel", "target", "endpoint_id", "participant_id", "status",
    "attempts", "next_attempt_at", "created_at", "waiting", "reason",
]

extension HubClient {
    /// Registers a webhook endpoint as admin; expects 201 and returns (endpoint, secret).
    func createWebhookEndpoint(
        url: String = "https://hooks.example.org/\(UUID().uuidString.lowercased())", events: [String] = ["*"], roles: [String] = ["admin"],
        includeText: Bool? = nil, description: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (endpoint: JSONObject, secret: String) {
        var fields = [
            #""url": \#(quoted(url))"#, #""events": [\#(events.map(quoted).joined(separator: ", "))]"#,
            #""roles": [\#(roles.map(quoted).joined(separator: ", "))]"#,
        ]
        if let includeText { fields.append(#""include_text": \#(includeText)"#) }
        if let description { fields.append(#""description": \#(quoted(description))"#) }
        let reply = try await post("/v1/endpoints", token: adminToken, json: "{\(fields.joined(separator: ", "))}")
        #expect(reply.status == .created, "POST /v1/endpoints: \(reply.text)", sourceLocation: sourceLocation)
        let object = try reply.json(sourceLocation: sourceLocation)
        let endpoint = try #require(object["endpoint"] as? JSONObject, sourceLocation: sourceLocation)
        let secret = try #require(object["secret"] as? String, sourceLocation: sourceLocation)
        return (endpoint, secret)
    }

    /// Every endpoint, as admin.
    func webhookEndpoints(sourceLocation: SourceLocation = #_sourceLocation) async throws -> [JSONObject] {
        let reply = try await get("/v1/endpoints", token: adminToken)
        #expect(reply.status == .ok, "GET /v1/endpoints: \(reply.text)", sourceLocation: sourceLocation)
        let object = try reply.json(sourceLocation: sourceLocation)
        #expect(Set(object.keys) == ["endpoints"], sourceLocation: sourceLocation)
        return try #require(object["endpoints"] as? [JSONObject], sourceLocation: sourceLocation)
    }

    /// One page of `GET /v1/deliveries` (`query` without the `?`), as `token` (admin by default).
    func deliveries(
        _ query: String = "", token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (deliveries: [JSONObject], hasMore: Bool) {
        let reply = try await get("/v1/deliveries" + (query.isEmpty ? "" : "?" + query), token: token ?? adminToken)
        #expect(reply.status == .ok, "GET /v1/deliveries?\(query): \(reply.text)", sourceLocation: sourceLocation)
        let object = try reply.json(sourceLocation: sourceLocation)
        #expect(Set(object.keys) == ["deliveries", "has_more"], "keys: \(object.keys.sorted())", sourceLocation: sourceLocation)
        let deliveries = try #require(object["deliveries"] as? [JSONObject], sourceLocation: sourceLocation)
        let hasMore = try #require(object["has_more"] as? Bool, sourceLocation: sourceLocation)
        return (deliveries, hasMore)
    }
}

/// The deliveries of one endpoint, out of a list.
func deliveries(_ list: [JSONObject], endpoint: JSONObject) -> [JSONObject] {
    list.filter { $0["endpoint_id"] as? String != nil && $0["endpoint_id"] as? String == endpoint["id"] as? String }
}

/// A JSON value as canonical text (keys sorted), to compare whole objects.
func canonicalJSON(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else {
        return "<not JSON: \(value)>"
    }
    return String(decoding: data, as: UTF8.self)
}
