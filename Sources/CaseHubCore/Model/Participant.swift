/// A person taking part in a case: the patient, a family member, a PPA, a payer officer or
/// the case manager. Each holds a token that reaches this case with the role's access.
public struct Participant: Sendable, Equatable {
    public var id: String
    public var caseId: String
    public var role: Role
    public var name: String
    public var email: String?
    public var locale: String
    public var createdAt: String
    public var preferences: Preferences
    /// When the participant was removed from the case (their access ended); nil while they
    /// take part.
    public var removedAt: String?

    public init(
        id: String, caseId: String, role: Role, name: String, email: String?, locale: String, createdAt: String,
        preferences: Preferences = .default, removedAt: String? = nil
    ) {
        self.id = id
        self.caseId = caseId
        self.role = role
        self.name = name
        self.email = email
        self.locale = locale
        self.createdAt = createdAt
        self.preferences = preferences
        self.removedAt = removedAt
    }

    public var json: JSONValue {
        .members([
            "case_id": .string(caseId), "created_at": .string(createdAt), "email": JSONValue(email), "id": .string(id),
            "locale": .string(locale), "name": .string(name), "preferences": preferences.json, "removed_at": JSONValue(removedAt),
            "role": .string(role.rawValue),
        ])
    }

    /// Locales with templates; `id` (Bahasa Indonesia) is the default.
    public static let locales = ["id", "en"]
}

public struct NewParticipant: Sendable {
    public var role: Role
    public var name: String
    public var email: String?
    public var locale: String

    public init(role: Role, name: String, email: String?, locale: String) {
        self.role = role
        self.name = name
        self.email = email
        self.locale = locale
    }
}
