import CaseHubCore
import CaseHubStore
import Hummingbird

/// Authorization, applied before anything is read for the caller. What a caller may not see
/// answers 404, exactly as what does not exist, so probing reveals nothing.
extension HubAPI {
    /// The case in the path, when the caller takes part in it (or is an admin).
    func visibleCase(_ context: HubRequestContext) async throws -> Case {
        guard let found = try await store.getCase(id: visibleCaseId(context)) else { throw CaseHubError.caseNotFound }
        return found
    }

    /// The id of the case in the path, when the caller takes part in it (or is an admin).
    /// Write paths use it to save a read: the store answers not found for a missing case.
    func visibleCaseId(_ context: HubRequestContext) throws -> String {
        let caseId = try context.parameters.require("case")
        guard try context.caller().canSee(caseId: caseId) else { throw CaseHubError.caseNotFound }
        return caseId
    }

    /// The thread in the path, when the caller's role may use it.
    func visibleThread(_ context: HubRequestContext) throws -> ThreadName {
        try visible(thread: context.parameters.require("thread"), for: context.caller())
    }

    func visible(thread name: String, for principal: Principal) throws -> ThreadName {
        guard let thread = ThreadName(rawValue: name), policy.canAccess(principal.role, thread: thread) else {
            throw CaseHubError.threadNotFound
        }
        return thread
    }

    /// The message in the path, when it sits in a thread the caller may use.
    func visibleMessage(in caseId: String, _ context: HubRequestContext) async throws -> Message {
        let id = try context.parameters.require("message")
        guard let message = try await store.message(caseId: caseId, id: id),
            policy.canAccess(try context.caller().role, thread: message.thread)
        else { throw CaseHubError.messageNotFound }
        return message
    }

    /// Answers 403 unless the caller holds one of `roles` (used once the case is known to be
    /// visible, so the 403 reveals nothing new).
    func require(_ roles: Set<Role>, _ context: HubRequestContext, to action: String) throws {
        let role = try context.caller().role
        guard roles.contains(role) else {
            let names = roles.sorted().map(\.rawValue).joined(separator: " or ")
            throw CaseHubError.forbidden("only \(names) may \(action)")
        }
    }

    func visibleThreads(for principal: Principal) -> [ThreadName] {
        policy.threads(for: principal.role)
    }

    /// Whether the caller reads every thread, and so also what concerns the case as a whole
    /// (a milestone's deliveries, say, whose audience it could otherwise not see).
    func readsEveryThread(_ principal: Principal) -> Bool {
        principal.isAdmin || Set(visibleThreads(for: principal)).count == ThreadName.allCases.count
    }
}
