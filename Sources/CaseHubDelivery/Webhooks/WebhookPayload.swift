import CaseHubCore
import CaseHubStore

/// The JSON body of a webhook: `{"id", "type", "created_at", "case_id", "thread", "seq", "data"}`.
///
/// Thin by default: `data` holds ids, kinds and flags from the log entry, never clinical text,
/// so a receiver fetches details through the API with its own access. An endpoint that opts
/// in (`include_text`) also gets the message as the API shows it (text included, unless the
/// message has been redacted since).
enum WebhookPayload {
    static func body(for claimed: ClaimedDelivery, includeText: Bool) -> [UInt8] {
        let event = claimed.event
        var data: [String: JSONValue] = [:]
        if case .object(let members)? = try? event.data.parsed() {
            data = members.filter { $0.key != "content_sha256" }
        }
        if case .object(let actor)? = try? event.actor.parsed() {
            data["actor"] = .object(actor.filter { $0.key != "name" })
        }
        if includeText, let message = claimed.message {
            data["message"] = message.json
        }
        let payload: JSONValue = .members([
            "case_id": .string(event.caseId), "created_at": .string(event.at), "data": .object(data),
            "id": .string(claimed.delivery.eventId), "seq": JSONValue(event.seq), "thread": JSONValue(event.thread?.rawValue),
            "type": .string(event.type),
        ])
        return Array(payload.canonicalString.utf8)
    }
}
