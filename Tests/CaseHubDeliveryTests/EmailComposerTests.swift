import CaseHubCore
import CaseHubStore
import Testing

@testable import CaseHubDelivery

/// What the composer decides when an e-mail is sent, not when it was queued: held or retried
/// mail may outlive the recipient's place in the case.
@Suite struct EmailComposerTests {
    static let family = Participant(
        id: "01a20a87-b9f4-7368-8386-5953cb56b315", caseId: "case-1", role: .family, name: "Ibu Sari", email: "sari@example.org",
        locale: "id", createdAt: "2026-11-23T08:00:00.000Z")

    static func claimed(for recipient: Participant) -> ClaimedDelivery {
        let delivery = Delivery(
            id: "dlv-1", eventId: "evt-1", eventType: "message.posted", caseId: "case-1", eventSeq: 2, thread: .family, channel: .email,
            target: "sari@example.org", endpointId: nil, participantId: recipient.id, status: .pending, attempts: [], nextAttemptAt: nil,
            createdAt: "2026-11-23T08:00:00.000Z")
        let message = Message(
            id: "msg-1", caseId: "case-1", thread: .family, seq: 2, author: Actor(id: "ppa-1", role: "ppa", name: "dr. Andi"), kind: .text,
            body: "Jadwal kontrol Senin", data: [:], replyTo: nil, relayedFrom: nil, relayNote: nil, priority: .routine, requiresAck: false,
            acks: [], createdAt: "2026-11-23T08:00:00.000Z", editedAt: nil, redacted: false)
        let event = LogEntry(
            caseId: "case-1", seq: 2, at: "2026-11-23T08:00:00.000Z", type: "message.posted", thread: .family, parentSeq: nil,
            actor: ["id": "ppa-1", "name": "dr. Andi", "role": "ppa"], data: ["message_id": "msg-1"], content: nil, hash: "", prevHash: "")
        return ClaimedDelivery(
            delivery: delivery, event: event, attemptNumber: 1, scheduleIndex: 0, endpoint: nil, recipient: recipient, message: message)
    }

    @Test func aRemovedRecipientIsMailedNoMore() async throws {
        let composer = EmailComposer(templates: try await TemplateCatalog(), from: "casehub@rs.example", publicURL: "http://127.0.0.1:8080")
        let mail = try composer.compose(Self.claimed(for: Self.family))
        #expect(mail.subject.isEmpty == false)
        var removed = Self.family
        removed.removedAt = "2026-11-23T09:00:00.000Z"
        #expect(throws: CompositionError.self) { try composer.compose(Self.claimed(for: removed)) }
    }
}
