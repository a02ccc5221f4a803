import CaseHubCore


extension SQLStore {
    public func issueAdminToken(name: String, tokenHash: String) async throws -> String {
        try await write { db in try Self.insertToken(hash: tokenHash, role: .admin, name: name, at: Timestamp.now(), db: db) }
    }

    /// Stores a token by its hash (never the token itself) and returns the token's id.
    static func insertToken(hash: String, role: Role, name: String, at: String, db: any SQLSession) throws -> String {
        let id = Identifier.make()
        try db.run("INSERT INTO tokens (id, hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)", [id, hash, role.rawValue, name, at])
        return id
    }

    public func principal(tokenHash: String) async throws -> Principal? {
        try await read { db in
            guard let token = try db.row("SELECT id, role, name FROM tokens WHERE hash = ? AND revoked_at IS NULL", [tokenHash]),
                let role = Role(rawValue: token[1])
            else { return nil }
            let tokenId: String = token[0]
            var memberships: [String: String] = [:]
            for row in try db.rows("SELECT case_id, id FROM participants WHERE token_id = ? AND removed_at IS NULL", [tokenId]) {
                memberships[row[0]] = row[1]
            }
            // A participant token that reaches no case is no token: its last removal may have
            // raced a change on another case without revoking it (PostgreSQL, two case locks).
            guard role == .admin || !memberships.isEmpty else { return nil }
            return Principal(tokenId: tokenId, role: role, name: token[2], memberships: memberships)
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await read { db in
            try db.fetch(
                """
                SELECT t.id, t.role, t.name, t.created_at, t.revoked_at,
                       (SELECT count(*) FROM participants p WHERE p.token_id = t.id AND p.removed_at IS NULL)
                FROM tokens t ORDER BY t.id
                """, as: RowDecoding.tokenValue)
        }
    }

    public func revokeToken(id: String) async throws -> Bool {
        try await write { db in
            guard try db.int("SELECT count(*) FROM tokens WHERE id = ?", [id]) == 1 else { return false }
            try db.run("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [Timestamp.now(), id])
            return true
        }
    }
}
