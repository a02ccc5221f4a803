/// The caller behind a bearer token.
///
/// An admin token reaches every case. Any other token reaches the cases it is a participant
/// of (one, except for a case manager who opens further cases with the same token).
public struct Principal: Sendable, Equatable {
    public let tokenId: String
    public let role: Role
    public let name: String
    /// Case id → the participant id this token holds in that case.
    public let memberships: [String: String]

    public init(tokenId: String, role: Role, name: String, memberships: [String: String]) {
        self.tokenId = tokenId
        self.role = role
        self.name = name
        self.memberships = memberships
    }

    public var isAdmin: Bool { role == .admin }

    public func canSee(caseId: String) -> Bool {
        isAdmin || memberships[caseId] != nil
    }

    /// How this caller appears as author or actor inside a case.
    public func actor(in caseId: String) -> Actor {
        Actor(id: memberships[caseId] ?? tokenId, role: role.rawValue, name: name)
    }
}

/// Who did something, as recorded on messages and log entries.
public struct Actor: Sendable, Equatable {
    public let id: String
    public let role: String
    public let name: String

    public init(id: String, role: String, name: String) {
        self.id = id
        self.role = role
        self.name = name
    }

    public var json: JSONValue { .members(["id": .string(id), "name": .string(name), "role": .string(role)]) }

    /// The hub itself, for entries no person caused.
    public static let hub = Actor(id: "casehub", role: "system", name: "CaseHub")
}
