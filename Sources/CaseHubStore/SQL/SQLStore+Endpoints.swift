import CaseHubCore


extension SQLStore {
    public func createEndpoint(_ new: NewEndpoint, secret: String) async throws -> WebhookEndpoint {
        defer { outbox.endpointsChanged() }  // again once committed, or rolled back
        return try await write { db in
            let endpoint = WebhookEndpoint(
                id: Identifier.make(), url: new.url, description: new.description, events: new.events, roles: new.roles, enabled: true,
                includeText: new.includeText, disabledReason: nil, createdAt: Timestamp.now(), previousSecretExpiresAt: nil)
            try db.run(
                """
                INSERT INTO endpoints (id, url, description, events, roles, include_text, enabled, secret, created_at)
                VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
                """,
                [
                    endpoint.id, endpoint.url, endpoint.description, Self.jsonArray(endpoint.events),
                    Self.jsonArray(endpoint.roles.map(\.rawValue)), endpoint.includeText, secret, endpoint.createdAt,
                ])
            self.outbox.endpointsChanged()
            return endpoint
        }
    }

    public func endpoints() async throws -> [WebhookEndpoint] {
        try await read { db in try db.fetch("SELECT \(Columns.endpoint) FROM endpoints ORDER BY id", as: RowDecoding.endpointValue) }
    }

    public func updateEndpoint(id: String, _ change: EndpointChange) async throws -> WebhookEndpoint {
        defer { outbox.endpointsChanged() }  // again once committed, or rolled back
        return try await write { db in
            var endpoint = try Self.requireEndpoint(id: id, db: db)
            if let url = change.url { endpoint.url = url }
            if let description = change.description { endpoint.description = description }
            if let events = change.events { endpoint.events = events }
            if let roles = change.roles { endpoint.roles = roles }
            if let includeText = change.includeText { endpoint.includeText = includeText }
            if let enabled = change.enabled {
                endpoint.enabled = enabled
                endpoint.disabledReason = nil
            }
            // Enabling by hand starts the failure clock afresh.
            try db.run(
                """
                UPDATE endpoints SET url = ?, description = ?, events = ?, roles = ?, include_text = ?, enabled = ?, disabled_reason = ?,
                    failing_since_ms = CASE WHEN ? = 1 THEN NULL ELSE failing_since_ms END
                WHERE id = ?
                """,
                [
                    endpoint.url, endpoint.description, Self.jsonArray(endpoint.events), Self.jsonArray(endpoint.roles.map(\.rawValue)),
                    endpoint.includeText, endpoint.enabled, endpoint.disabledReason, change.enabled == true, id,
                ])
            self.outbox.endpointsChanged()
            return endpoint
        }
    }

    public func rotateEndpointSecret(id: String, newSecret: String, overlapMillis: UInt64) async throws -> WebhookEndpoint {
        try await write { db in
            _ = try Self.requireEndpoint(id: id, db: db)
            let until = Timestamp.nowMillis() + overlapMillis
            try db.run(
                "UPDATE endpoints SET previous_secret = secret, previous_secret_until_ms = ?, secret = ? WHERE id = ?",
                [Int64(until), newSecret, id])
            return try Self.requireEndpoint(id: id, db: db)
        }
    }

    static func requireEndpoint(id: String, db: any SQLSession) throws -> WebhookEndpoint {
        guard let endpoint = try db.row("SELECT \(Columns.endpoint) FROM endpoints WHERE id = ?", [id]).map(RowDecoding.endpointValue) else {
            throw CaseHubError.notFound("no such endpoint")
        }
        return endpoint
    }

    static func jsonArray(_ values: [String]) -> String {
        JSONValue.array(values.map(JSONValue.string)).canonicalString
    }
}
