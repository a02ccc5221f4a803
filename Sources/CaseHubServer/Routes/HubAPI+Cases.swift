import CaseHubCore
import CaseHubStore
import Foundation
import Hummingbird

extension HubAPI {
    func registerCases(on v1: RouterGroup<HubRequestContext>) {
        // Who the token speaks for: the console reads it to know its role, and its participant
        // in each case (to tell its own messages).
        v1.get("me") { _, context in
            let principal = try context.caller()
            // `id` is how the caller appears as an author outside its memberships (an admin
            // everywhere): the token's id, never the token.
            return Response.json([
                "id": .string(principal.tokenId), "role": .string(principal.role.rawValue), "name": .string(principal.name),
                "memberships": .object(principal.memberships.mapValues(JSONValue.string)),
            ])
        }

        v1.post("cases") { request, context in
            try require([.admin, .caseManager], context, to: "open cases")
            let body = try await RequestBody.read(request, context: context)
            let created = try await store.createCase(Self.newCase(from: body), by: context.caller())
            // A case manager now takes part in one more case.
            if let tokenHash = context.tokenHash { principals.forget(tokenHash: tokenHash) }
            return Response.json(created.json, status: .created)
        }

        v1.get("cases") { request, context in
            let status = try request.queryString("status").map { raw -> Case.Status in
                guard let status = Case.Status(rawValue: raw) else { throw CaseHubError.invalidRequest(field: "status", "must be open or closed") }
                return status
            }
            let limit = try request.queryInt("limit", in: 1...200) ?? 50
            let search = request.queryString("q")?.trimmingCharacters(in: .whitespaces)
            if let search, search.utf8.count > 100 { throw CaseHubError.invalidRequest(field: "q", "is longer than 100 bytes") }
            let cursor = try request.queryString("cursor").map { cursor in
                // Cursors are the `next_cursor` of an earlier page: a case id.
                guard Identifier.isWellFormed(cursor) else { throw CaseHubError.invalidRequest(field: "cursor", "is not a next_cursor this API gave") }
                return cursor
            }
            let page = try await store.listCases(CaseQuery(status: status, limit: limit, after: cursor, search: search), for: context.caller())
            return Response.json(["cases": .array(page.cases.map(\.json)), "next_cursor": JSONValue(page.nextAfter)])
        }

        v1.get("cases/:case") { _, context in
            Response.json(try await visibleCase(context).json)
        }

        v1.post("cases/:case/close") { _, context in
            let caseId = try visibleCaseId(context)
            try require([.admin, .caseManager], context, to: "close a case")
            let closed = try await store.closeCase(id: caseId, by: context.caller().actor(in: caseId))
            return Response.json(closed.json)
        }
    }

    static func newCase(from body: RequestBody) throws -> NewCase {
        let mrn = try body.nonEmptyString("mrn", maxLength: 64)
        let patient = try body.object("patient")
        _ = try patient.nonEmptyString("name", maxLength: 200)
        var payer = JSONValue.null
        if let payerBody = try body.optionalObject("payer") {
            _ = try payerBody.nonEmptyString("name", maxLength: 200)
            _ = try payerBody.optionalString("member_id", maxLength: 64)
            payer = payerBody.json
        }
        return NewCase(mrn: mrn, patient: patient.json, payer: payer)
    }
}
