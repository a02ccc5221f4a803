import CaseHubCore
import CaseHubStore
import HTTPTypes
import Hummingbird

extension HubAPI {
    func registerMessages(on v1: RouterGroup<HubRequestContext>) {
        v1.post("cases/:case/threads/:thread/messages") { request, context in
            let caseId = try visibleCaseId(context)
            let thread = try visibleThread(context)
            let principal = try context.caller()
            let idempotency = try Self.idempotencyKey(request, principal)
            let new = try Self.newMessage(from: await RequestBody.read(request, context: context))
            if new.kind == .authorizationDecision {
                try require([.payer, .caseManager, .admin], context, to: "decide authorization requests")
            }
            return Self.answer(
                try await store.postMessage(new, caseId: caseId, thread: thread, by: principal.actor(in: caseId), idempotency: idempotency))
        }

        v1.get("cases/:case/threads/:thread/messages") { request, context in
            let caseId = try visibleCaseId(context)
            let thread = try visibleThread(context)
            let query = MessageQuery(
                after: try request.queryInt("after", in: 0...Int.max),
                before: try request.queryInt("before", in: 0...Int.max),
                limit: try request.queryInt("limit", in: 1...200) ?? 50)
            let key = MessagePageCache.Key(caseId: caseId, thread: thread, query: query)
            if let logSeq = store.knownLogSeq(caseId: caseId), let body = pages.body(for: key, atLogSeq: logSeq) {
                return Response.json(body: body)
            }
            let page = try await store.messages(caseId: caseId, thread: thread, query: query)
            let json = JSONValue.members(["has_more": .bool(page.hasMore), "messages": .array(page.messages.map(\.json))])
            let body = ByteBuffer(bytes: json.canonicalBytes)
            if store.knownLogSeq(caseId: caseId) == page.logSeq { pages.keep(body, for: key, atLogSeq: page.logSeq) }
            return Response.json(body: body)
        }

        v1.get("cases/:case/messages/:message") { _, context in
            let caseId = try visibleCaseId(context)
            return Response.json(try await visibleMessage(in: caseId, context).json)
        }

        v1.patch("cases/:case/messages/:message") { request, context in
            let caseId = try visibleCaseId(context)
            let message = try await visibleMessage(in: caseId, context)
            let actor = try context.caller().actor(in: caseId)
            let body = try await RequestBody.read(request, context: context)
            // The store refuses anyone but the author (403), inside the same transaction.
            let edited = try await store.editMessage(
                caseId: caseId, id: message.id, body: body.nonEmptyString("body", maxLength: Self.maximumBodyBytes), by: actor)
            return Response.json(edited.json)
        }

        v1.delete("cases/:case/messages/:message") { request, context in
            let caseId = try visibleCaseId(context)
            let message = try await visibleMessage(in: caseId, context)
            let principal = try context.caller()
            let actor = principal.actor(in: caseId)
            guard message.author.id == actor.id || principal.role == .caseManager else {
                throw CaseHubError.forbidden("only the author or the case manager may redact a message")
            }
            // The reason stays in the chain for good (the text it explains is what gets erased),
            // so it is kept short: a reason, not a place for clinical text.
            let reason = request.queryString("reason")
            if let reason, reason.utf8.count > 200 { throw CaseHubError.invalidRequest(field: "reason", "is longer than 200 bytes") }
            let redacted = try await store.redactMessage(caseId: caseId, id: message.id, by: actor, reason: reason)
            return Response.json(redacted.json)
        }

        v1.post("cases/:case/messages/:message/relay") { request, context in
            let caseId = try visibleCaseId(context)
            let message = try await visibleMessage(in: caseId, context)
            try require([.caseManager], context, to: "relay messages")
            let principal = try context.caller()
            let idempotency = try Self.idempotencyKey(request, principal)
            let body = try await RequestBody.read(request, context: context)
            let to: ThreadName = try body.choice("to")
            let target = try visible(thread: to.rawValue, for: principal)
            return Self.answer(
                try await store.relayMessage(
                    caseId: caseId, id: message.id, to: target, note: body.optionalString("note", maxLength: 4096),
                    by: principal.actor(in: caseId), idempotency: idempotency))
        }

        v1.post("cases/:case/messages/:message/ack") { _, context in
            let caseId = try visibleCaseId(context)
            let message = try await visibleMessage(in: caseId, context)
            let acked = try await store.ackMessage(caseId: caseId, id: message.id, by: context.caller().actor(in: caseId))
            return Response.json(acked.json)
        }
    }

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!

    /// The request's `Idempotency-Key`, scoped to the caller's token; 400 when malformed.
    static func idempotencyKey(_ request: Request, _ principal: Principal) throws -> IdempotencyKey? {
        try request.headers.first(idempotencyKeyHeader).map { key in
            guard (1...255).contains(key.utf8.count) else { throw CaseHubError.invalidRequest(field: "Idempotency-Key", "must be 1 to 255 bytes") }
            return IdempotencyKey(tokenId: principal.tokenId, key: key)
        }
    }

    /// 201 with a new message; 200 with the first one when the idempotency key had been used.
    static func answer(_ outcome: PostOutcome) -> Response {
        switch outcome {
        case .created(_, let json): Response.json(json, status: .created)
        case .replayed(let message): Response.json(message.json, status: .ok)
        }
    }

    /// Message bodies (and their structured data) are chat, not documents: 64 KiB is generous.
    static let maximumBodyBytes = 64 * 1024

    static func newMessage(from body: RequestBody) throws -> NewMessage {
        if let named = try body.optionalString("kind").flatMap(Message.Kind.init(rawValue:)), named.isHubAuthored {
            throw CaseHubError.invalidRequest(field: "kind", "'\(named.rawValue)' messages are written by the hub only")
        }
        let kind: Message.Kind = try body.choice("kind", default: .text, among: Message.Kind.allCases.filter { !$0.isHubAuthored })
        // A structured message says its piece in `data`; its body is an optional summary.
        let text =
            try kind == .text
            ? body.nonEmptyString("body", maxLength: maximumBodyBytes) : body.optionalString("body", maxLength: maximumBodyBytes) ?? ""
        let data = try body.optionalObject("data")?.json ?? [:]
        guard data.canonicalBytes.count <= maximumBodyBytes else {
            throw CaseHubError.invalidRequest(field: "data", "is larger than \(maximumBodyBytes) bytes")
        }
        try StructuredData.validate(kind: kind, data: data)
        return NewMessage(
            body: text, kind: kind, data: data, replyTo: try body.optionalString("reply_to", maxLength: 64),
            priority: try body.choice("priority", default: .routine), requiresAck: try body.optionalBool("requires_ack") ?? false)
    }
}
