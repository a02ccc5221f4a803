import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// The real scheduler in `casehub serve`, with second-scale times: a milestone's reminder,
// due and overdue notices and an unacknowledged handoff's escalations reach a real SMTP
// server and a real webhook receiver, each exactly once.

@Suite("Coordination end to end: the scheduler in the casehub binary")
struct CoordinationEndToEndTests {
    static let settings = [
        "CASEHUB_WEBHOOK_ALLOW_PRIVATE": "true", "CASEHUB_ACK_TIMEOUT": "2s", "CASEHUB_ACK_ESCALATION_INTERVAL": "2s",
        "CASEHUB_ACK_ESCALATION_LIMIT": "2", "CASEHUB_MILESTONE_OVERDUE_GRACE": "2s",
    ]

    @Test(.timeLimit(.minutes(2)))
    func milestoneNoticesAndEscalationsReachRealPeersOnce() async throws {
        try await withDeliveryTestbed("coordination", settings: Self.settings, mail: true) { bed in
            let (admin, sink) = (bed.admin, try bed.requireMailSink())
            let hubCase = try await admin.createCase(mrn: "RM-PLAN-1")
            _ = try await admin.addParticipant(caseId: hubCase.id, role: "case_manager", name: "Rina", email: "rina@rs.example")
            _ = try await admin.addParticipant(caseId: hubCase.id, role: "family", name: "Anna Clarke", email: "anna@example.org", locale: "en")
            let created = try await admin.createEndpoint(
                url: bed.receiver.url("/ppa"), roles: ["ppa"], events: ["milestone.reminder", "milestone.due", "milestone.overdue"])
            try await bed.receiver.register(secrets: ["/ppa": created.secret])

            let due = Date().addingTimeInterval(4)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let milestone = try await admin.post(
                "/v1/cases/\(hubCase.id)/milestones",
                json: try jsonText([
                    "title": "Wound care education", "kind": "education", "due_at": formatter.string(from: due), "audience": ["family"],
                    "reminders": ["PT2S"],
                ]))
            #expect(milestone.status == 201, "\(milestone)")
            let handoff = try await admin.post(
                "/v1/cases/\(hubCase.id)/threads/ppa/messages",
                json: try jsonText([
                    "kind": "handoff",
                    "data": ["situation": "S", "background": "B", "assessment": "A", "recommendation": "R"],
                ]))
            #expect(handoff.status == 201, "\(handoff)")

            // Family: reminder, due, overdue. Case manager: the overdue notice and two escalations.
            _ = try await waitUntil("6 mails at the SMTP sink", timeout: .seconds(40), every: .milliseconds(200)) {
                let mails = try sink.mails()
                return (mails.count >= 6, mails.count)
            }
            // Nothing more comes: each firing happened once, and the escalations stopped at two.
            try await Task.sleep(for: .seconds(5))
            let final = try sink.mails()
            #expect(final.count == 6, "\(final.map(\.rcptTos))")
            var subjects: [String: [String]] = [:]
            for mail in final {
                let parsed = try await ParsedMail.parse(mail.data, in: bed.scratch)
                #expect(parsed.defects.isEmpty, "\(parsed.defects)")
                subjects[mail.rcptTos.first ?? "", default: []].append(parsed.subject)
            }
            #expect(Set(subjects.keys) == ["anna@example.org", "rina@rs.example"], "\(subjects)")
            let family = subjects["anna@example.org"] ?? []
            #expect(family.count == 3, "\(family)")
            #expect(family.contains { $0.hasPrefix("Reminder: Wound care education") }, "\(family)")
            #expect(family.contains { $0 == "Due now: Wound care education" }, "\(family)")
            #expect(family.contains { $0 == "[OVERDUE] Wound care education" }, "\(family)")
            let toManager = subjects["rina@rs.example"] ?? []
            #expect(toManager.filter { $0.hasPrefix("[ESKALASI]") }.count == 2, "\(toManager)")
            #expect(toManager.contains { $0.contains("TERLAMBAT") }, "\(toManager)")

            // The PPA endpoint: each milestone notice once, verified, plus the handoff by its rule.
            let requests = try bed.receiver.requests(under: "/ppa")
            let types = try requests.map { try $0.payload()["type"] as? String ?? "" }
            #expect(types.sorted() == ["message.posted", "milestone.due", "milestone.overdue", "milestone.reminder"], "\(types)")
            #expect(requests.allSatisfy { $0.verified == true })

            let log = try await admin.allLogEntries(caseId: hubCase.id).map(\.type)
            #expect(log.filter { $0.hasPrefix("milestone.") } == ["milestone.created", "milestone.reminder", "milestone.due", "milestone.overdue"])
            #expect(log.filter { $0 == "message.escalated" }.count == 2)
            let verify = try await admin.get("/v1/cases/\(hubCase.id)/log/verify")
            #expect(verify.text.contains(#""ok":true"#), "\(verify)")
        }
    }
}
