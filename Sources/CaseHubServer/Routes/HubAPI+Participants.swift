import CaseHubCore
import CaseHubStore
import Hummingbird

extension HubAPI {
    func registerParticipants(on v1: RouterGroup<HubRequestContext>) {
        v1.post("cases/:case/participants") { request, context in
            let caseId = try visibleCaseId(context)
            try require([.admin, .caseManager], context, to: "add participants")
            let body = try await RequestBody.read(request, context: context)
            // Admin tokens are issued with `casehub token issue`, not per case.
            let role: Role = try body.choice("role", among: Role.allCases.filter { $0 != .admin })
            let email = try body.optionalString("email", maxLength: 254)
            if let email, !Self.looksLikeEmail(email) {
                throw CaseHubError.invalidRequest(field: "email", "'\(email)' is not an e-mail address")
            }
            let locale = try body.optionalString("locale") ?? "id"
            guard Participant.locales.contains(locale) else {
                throw CaseHubError.invalidRequest(field: "locale", "must be one of \(Participant.locales.joined(separator: ", "))")
            }
            let new = NewParticipant(role: role, name: try body.nonEmptyString("name", maxLength: 200), email: email, locale: locale)
            let token = Token.make()
            let participant = try await store.addParticipant(
                new, caseId: caseId, tokenHash: Token.hash(token), by: context.caller().actor(in: caseId))
            return Response.json(["participant": participant.json, "token": .string(token)], status: .created)
        }

        v1.get("cases/:case/participants") { _, context in
            let caseValue = try await visibleCase(context)
            try require([.admin, .caseManager], context, to: "list participants")
            let participants = try await store.participants(caseId: caseValue.id)
            return Response.json(["participants": .array(participants.map(\.json))])
        }

        // Ends a participant's access at once: a staff member off the case, a family member
        // who should no longer read it. Their messages and the log stay.
        v1.delete("cases/:case/participants/:participant") { _, context in
            let caseId = try visibleCaseId(context)
            try require([.admin, .caseManager], context, to: "remove participants")
            let removed = try await store.removeParticipant(
                caseId: caseId, id: try context.parameters.require("participant"), by: context.caller().actor(in: caseId))
            principals.forget(tokenHash: removed.formerTokenHash)
            return Response.json(removed.participant.json)
        }

        // A lost or leaked token: the participant gets a new one, shown once; the old one stops working.
        v1.post("cases/:case/participants/:participant/token") { _, context in
            let caseId = try visibleCaseId(context)
            try require([.admin, .caseManager], context, to: "replace participants' tokens")
            let participantId = try context.parameters.require("participant")
            // Whoever holds the new token acts as that participant: one case manager may not
            // take another's place.
            if try context.caller().role == .caseManager,
                try await store.participants(caseId: caseId).first(where: { $0.id == participantId })?.role == .caseManager
            {
                throw CaseHubError.forbidden("only an admin replaces a case manager's token")
            }
            let token = Token.make()
            let replaced = try await store.replaceParticipantToken(
                caseId: caseId, id: participantId, tokenHash: Token.hash(token), by: context.caller().actor(in: caseId))
            principals.forget(tokenHash: replaced.formerTokenHash)
            return Response.json(["participant": replaced.participant.json, "token": .string(token)], status: .created)
        }
    }

    /// A plain shape check (one `@`, a dot in the domain, no spaces); delivery proves the rest.
    static func looksLikeEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !text.contains(where: { $0.isWhitespace || $0.isNewline })
    }
}
