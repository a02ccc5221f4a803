/// Which threads each role may read and write. `admin` always sees every thread.
///
/// The default is the table of the API contract; operators can change it in
/// `config/casehub.yaml` under `access:`.
public struct AccessPolicy: Sendable, Equatable {
    public private(set) var threadsByRole: [Role: Set<ThreadName>]

    public init(threadsByRole: [Role: Set<ThreadName>]) {
        var table = threadsByRole
        table[.admin] = Set(ThreadName.allCases)
        self.threadsByRole = table
    }

    public static let `default` = AccessPolicy(threadsByRole: [
        .caseManager: [.patient, .family, .ppa, .payer],
        .ppa: [.patient, .family, .ppa],
        .family: [.family],
        .patient: [.patient],
        .payer: [.payer],
    ])

    public func threads(for role: Role) -> [ThreadName] {
        (threadsByRole[role] ?? []).sorted()
    }

    public func canAccess(_ role: Role, thread: ThreadName) -> Bool {
        threadsByRole[role]?.contains(thread) ?? false
    }

    /// Replaces one role's threads (admin cannot be narrowed).
    public mutating func set(_ threads: Set<ThreadName>, for role: Role) {
        guard role != .admin else { return }
        threadsByRole[role] = threads
    }
}
