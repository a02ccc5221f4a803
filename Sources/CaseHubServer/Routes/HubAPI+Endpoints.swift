import CaseHubCore
import CaseHubDelivery
import CaseHubStore
import Foundation
import Hummingbird

extension HubAPI {
    /// How long a replaced secret keeps signing beside the new one.
    static let secretOverlapMillis: UInt64 = 24 * 3600 * 1000

    func registerEndpoints(on v1: RouterGroup<HubRequestContext>) {
        v1.post("endpoints") { request, context in
            try requireAdmin(context, to: "manage webhook endpoints")
            let body = try await RequestBody.read(request, context: context)
            // Checked in the order the contract lists them: url, then events, then roles.
            let url = try Self.endpointURL(body.string("url", maxLength: 2048))
            guard let events = try Self.events(body) else { throw CaseHubError.invalidRequest(field: "events", "is required") }
            guard let roles = try Self.roles(body) else { throw CaseHubError.invalidRequest(field: "roles", "is required") }
            let new = NewEndpoint(
                url: url, description: try body.optionalString("description", maxLength: 500) ?? "", events: events, roles: roles,
                includeText: try body.optionalBool("include_text") ?? false)
            let secret = WebhookSignature.newSecret()
            let endpoint = try await store.createEndpoint(new, secret: secret)
            return Response.json(["endpoint": endpoint.json, "secret": .string(secret)], status: .created)
        }

        v1.get("endpoints") { _, context in
            try requireAdmin(context, to: "manage webhook endpoints")
            return Response.json(["endpoints": .array(try await store.endpoints().map(\.json))])
        }

        v1.patch("endpoints/:endpoint") { request, context in
            try requireAdmin(context, to: "manage webhook endpoints")
            let body = try await RequestBody.read(request, context: context)
            let change = EndpointChange(
                url: try body.optionalString("url", maxLength: 2048).map(Self.endpointURL),
                description: try body.optionalString("description", maxLength: 500), events: try Self.events(body), roles: try Self.roles(body),
                enabled: try body.optionalBool("enabled"), includeText: try body.optionalBool("include_text"))
            let endpoint = try await store.updateEndpoint(id: try context.parameters.require("endpoint"), change)
            return Response.json(endpoint.json)
        }

        v1.post("endpoints/:endpoint/rotate-secret") { _, context in
            try requireAdmin(context, to: "manage webhook endpoints")
            let secret = WebhookSignature.newSecret()
            let endpoint = try await store.rotateEndpointSecret(
                id: try context.parameters.require("endpoint"), newSecret: secret, overlapMillis: Self.secretOverlapMillis)
            return Response.json(["endpoint": endpoint.json, "secret": .string(secret)])
        }
    }

    func requireAdmin(_ context: HubRequestContext, to action: String) throws {
        guard try context.caller().isAdmin else { throw CaseHubError.forbidden("only admin may \(action)") }
    }

    /// An absolute `http` or `https` URL with a host and no credentials. Where it resolves is
    /// checked when connecting, against the real address.
    static func endpointURL(_ text: String) throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else { throw CaseHubError.invalidRequest(field: "url", "must be an absolute http:// or https:// URL") }
        // A password in the URL would be shown by every endpoint list and kept in the case
        // log's delivery entries; receivers authenticate the hub by its signature instead.
        guard url.user == nil, url.password == nil else {
            throw CaseHubError.invalidRequest(field: "url", "must not carry a user name or password; receivers verify the webhook signature")
        }
        return text
    }

    static func events(_ body: RequestBody) throws -> [String]? {
        guard let events = try body.optionalStrings("events") else { return nil }
        guard !events.isEmpty else { throw CaseHubError.invalidRequest(field: "events", "must name at least one event type, or \"*\"") }
        for event in events where event != "*" && !WebhookEvents.all.contains(event) {
            throw CaseHubError.invalidRequest(
                field: "events", "'\(event)' is not an event type; one of \(WebhookEvents.all.sorted().joined(separator: ", ")), or \"*\"")
        }
        return Array(Set(events)).sorted()
    }

    static func roles(_ body: RequestBody) throws -> [Role]? {
        guard let names = try body.optionalStrings("roles") else { return nil }
        guard !names.isEmpty else { throw CaseHubError.invalidRequest(field: "roles", "must name at least one role") }
        return try Set(names).sorted().map { name in
            guard let role = Role(rawValue: name) else {
                throw CaseHubError.invalidRequest(field: "roles", "'\(name)' is not a role; one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return role
        }
    }
}
