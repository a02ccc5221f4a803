/// Who a token speaks for. Every role but `admin` belongs to one case at a time.
public enum Role: String, Sendable, CaseIterable, Hashable, Comparable {
    case caseManager = "case_manager"
    case ppa
    case family
    case patient
    case payer
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Roles a participant of a case may hold (admins are operators, not participants).
    public static let participantRoles: [Role] = [.caseManager, .ppa, .family, .patient, .payer]
}

/// The four conversation threads every case has, one per audience.
public enum ThreadName: String, Sendable, CaseIterable, Hashable, Comparable {
    case patient, family, ppa, payer

    public static func < (lhs: ThreadName, rhs: ThreadName) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
