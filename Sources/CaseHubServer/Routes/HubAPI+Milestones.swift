import CaseHubCore
import CaseHubStore
import Hummingbird

/// The care plan: `/v1/cases/{case}/milestones`. Case managers, PPA and admins plan and
/// change milestones; every participant sees those addressed to a thread its role may read.
extension HubAPI {
    func registerMilestones(on v1: RouterGroup<HubRequestContext>) {
        v1.post("cases/:case/milestones") { request, context in
            let caseId = try visibleCaseId(context)
            try require(Self.planners, context, to: "plan milestones")
            let principal = try context.caller()
            let body = try await RequestBody.read(request, context: context)
            let audience = try Self.threads(body.optionalStrings("audience", maxCount: 4) ?? [ThreadName.ppa.rawValue], field: "audience")
            guard !audience.isEmpty else { throw CaseHubError.invalidRequest(field: "audience", "must name at least one thread") }
            if let unreachable = audience.first(where: { !policy.canAccess(principal.role, thread: $0) }) {
                throw CaseHubError.invalidRequest(field: "audience", "the \(principal.role.rawValue) role cannot address the \(unreachable.rawValue) thread")
            }
            let reminders = try (body.optionalStrings("reminders", maxCount: 10, maxLength: 40) ?? []).enumerated().map { index, text in
                guard let duration = ISODuration(text) else {
                    throw CaseHubError.invalidRequest(
                        field: "reminders[\(index)]", "'\(text)' is not an ISO 8601 duration in weeks, days, hours, minutes or seconds (PT24H, P2D)")
                }
                return duration
            }
            let new = NewMilestone(
                title: try body.nonEmptyString("title", maxLength: 500), kind: try body.choice("kind", default: .other),
                dueAt: try Self.utcTime(body.string("due_at", maxLength: 64), field: "due_at"), audience: audience, reminders: reminders)
            let milestone = try await store.createMilestone(new, caseId: caseId, by: principal.actor(in: caseId))
            return Response.json(milestone.json, status: .created)
        }

        v1.get("cases/:case/milestones") { _, context in
            let caseId = try visibleCaseId(context)
            let principal = try context.caller()
            let visible = try await store.milestones(caseId: caseId).filter { canSee($0, principal) }
            return Response.json(["milestones": .array(visible.map(\.json))])
        }

        v1.get("cases/:case/milestones/:milestone") { _, context in
            let caseId = try visibleCaseId(context)
            return Response.json(try await visibleMilestone(in: caseId, context).json)
        }

        v1.patch("cases/:case/milestones/:milestone") { request, context in
            let caseId = try visibleCaseId(context)
            let milestone = try await visibleMilestone(in: caseId, context)
            try require(Self.planners, context, to: "change milestones")
            let body = try await RequestBody.read(request, context: context)
            let status: MilestoneChange.Closing? =
                try body.optionalString("status").map { _ in try body.choice("status") as MilestoneChange.Closing }
            let dueAt = try body.optionalString("due_at", maxLength: 64).map { try Self.utcTime($0, field: "due_at") }
            guard status != nil || dueAt != nil else { throw CaseHubError.invalidRequest(field: "status", "give status (done, cancelled) or due_at") }
            let changed = try await store.changeMilestone(
                caseId: caseId, id: milestone.id, MilestoneChange(status: status, dueAt: dueAt), by: context.caller().actor(in: caseId))
            return Response.json(changed.json)
        }
    }

    /// Roles that plan the care.
    static let planners: Set<Role> = [.admin, .caseManager, .ppa]

    /// A milestone reaches whoever may read one of its audience threads.
    func canSee(_ milestone: Milestone, _ principal: Principal) -> Bool {
        milestone.audience.contains { policy.canAccess(principal.role, thread: $0) }
    }

    func visibleMilestone(in caseId: String, _ context: HubRequestContext) async throws -> Milestone {
        let id = try context.parameters.require("milestone")
        guard let milestone = try await store.milestone(caseId: caseId, id: id), canSee(milestone, try context.caller()) else {
            throw CaseHubError.notFound("no such milestone")
        }
        return milestone
    }

    static func threads(_ names: [String], field: String) throws -> [ThreadName] {
        var threads: [ThreadName] = []
        for name in names {
            guard let thread = ThreadName(rawValue: name) else {
                throw CaseHubError.invalidRequest(field: field, "'\(name)' is not a thread (patient, family, ppa, payer)")
            }
            if !threads.contains(thread) { threads.append(thread) }
        }
        return threads
    }

    /// An RFC 3339 time as the API shows it: as given when already UTC (`…Z`) to the
    /// millisecond at most, else in UTC with milliseconds.
    static func utcTime(_ text: String, field: String) throws -> String {
        guard let millis = Timestamp.parseMillis(text) else {
            throw CaseHubError.invalidRequest(field: field, "'\(text)' is not an RFC 3339 time such as 2026-11-23T08:00:00Z")
        }
        let fractionDigits = text.split(separator: ".", maxSplits: 1).dropFirst().first.map { $0.count - 1 } ?? 0
        return text.hasSuffix("Z") && fractionDigits <= 3 ? text : Timestamp.format(millis: millis)
    }
}
