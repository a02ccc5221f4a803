import CaseHubCore
import CaseHubStore
import Hummingbird

/// `/v1/cases/{case}/participants/{participant}/preferences`: how a participant wants to be
/// reached. The participant itself (also as `me`), the case manager and admins read and
/// change them; to anyone else the participant does not exist.
extension HubAPI {
    func registerPreferences(on v1: RouterGroup<HubRequestContext>) {
        v1.get("cases/:case/participants/:participant/preferences") { _, context in
            let (caseId, participantId) = try preferencesOwner(context)
            guard let participant = try await store.participants(caseId: caseId).first(where: { $0.id == participantId }) else {
                throw CaseHubError.notFound("no such participant")
            }
            return Response.json(participant.preferences.json)
        }

        v1.patch("cases/:case/participants/:participant/preferences") { request, context in
            let (caseId, participantId) = try preferencesOwner(context)
            guard var preferences = try await store.participants(caseId: caseId).first(where: { $0.id == participantId })?.preferences else {
                throw CaseHubError.notFound("no such participant")
            }
            let body = try await RequestBody.read(request, context: context)
            if let email = try body.optionalBool("email") { preferences.emailEnabled = email }
            if body.members["quiet_hours"] == .null {
                preferences.quietHours = nil
            } else if let quiet = try body.optionalObject("quiet_hours") {
                let start = try quiet.string("start", maxLength: 5)
                let end = try quiet.string("end", maxLength: 5)
                let zone = try quiet.optionalString("time_zone", maxLength: 64) ?? QuietHours.defaultTimeZone
                guard let hours = QuietHours(start: start, end: end, timeZone: zone) else {
                    throw CaseHubError.invalidRequest(
                        field: "quiet_hours", "start and end must be different HH:MM times and time_zone an IANA zone such as Asia/Jakarta")
                }
                preferences.quietHours = hours
            }
            let participant = try await store.setPreferences(
                preferences, participantId: participantId, caseId: caseId, by: context.caller().actor(in: caseId))
            return Response.json(participant.preferences.json)
        }
    }

    /// The case and participant in the path, when the caller may manage that participant's
    /// preferences (`me` names the caller's own participant).
    private func preferencesOwner(_ context: HubRequestContext) throws -> (caseId: String, participantId: String) {
        let caseId = try visibleCaseId(context)
        let principal = try context.caller()
        let named = try context.parameters.require("participant")
        let own = principal.memberships[caseId]
        let participantId = named == "me" ? own : named
        guard let participantId, principal.isAdmin || principal.role == .caseManager || participantId == own else {
            throw CaseHubError.notFound("no such participant")
        }
        return (caseId, participantId)
    }
}
