import CaseHubCore
import CaseHubDelivery
import CaseHubServer
import CaseHubStore
import Foundation
import HTTPTypes
import Logging
import Testing

/// The care plan: the milestone API, and the scheduler firing reminders, due and overdue
/// notices exactly once each, driven by a manual clock.
@Suite("Care plan") struct CarePlanTests {
    static let milestoneFields: Set<String> = [
        "id", "case_id", "title", "kind", "due_at", "audience", "reminders", "status", "completed_at", "created_at", "seq",
    ]

    @Test("POST milestones answers 201 with the contract's fields; GET lists them by due_at and shows one")
    func createAndList() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let now = Timestamp.nowMillis()
            let later = try await hub.hub.createMilestone(
                caseId: caseId, title: "Pemulangan", kind: "discharge", dueAt: rfc3339(now + 48 * hour), audience: ["family", "ppa"],
                reminders: ["PT24H", "PT1H"])
            let sooner = try await hub.hub.createMilestone(caseId: caseId, dueAt: "2030-01-02T03:04:05Z")
            #expect(Set(later.keys) == Self.milestoneFields)
            #expect(later["status"] as? String == "planned" && isNull(later["completed_at"]))
            #expect(later["audience"] as? [String] == ["family", "ppa"] && later["reminders"] as? [String] == ["PT24H", "PT1H"])
            #expect(later["case_id"] as? String == caseId && later["kind"] as? String == "discharge")
            #expect(sooner["due_at"] as? String == "2030-01-02T03:04:05Z", "a UTC time is shown as given")

            let offset = try await hub.hub.createMilestone(caseId: caseId, dueAt: "2030-01-02T10:04:05+07:00")
            #expect(offset["due_at"] as? String == "2030-01-02T03:04:05.000Z", "another offset is shown in UTC")
            // Microseconds, as many clients write them, are read to the millisecond.
            let precise = try await hub.hub.createMilestone(caseId: caseId, dueAt: "2030-01-02T10:04:05.123456+07:00")
            #expect(precise["due_at"] as? String == "2030-01-02T03:04:05.123Z")
            let preciseUTC = try await hub.hub.createMilestone(caseId: caseId, dueAt: "2030-01-02T03:04:05.123456Z")
            #expect(preciseUTC["due_at"] as? String == "2030-01-02T03:04:05.123Z", "shown to the millisecond, as it is kept")

            let list = try await hub.hub.get("/v1/cases/\(caseId)/milestones", token: hub.hub.adminToken).json()
            let ids = (list["milestones"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [later["id"], sooner["id"], offset["id"], precise["id"], preciseUTC["id"]].compactMap { $0 as? String })

            let one = try await hub.hub.get("/v1/cases/\(caseId)/milestones/\(later["id"]!)", token: hub.hub.adminToken)
            #expect(one.status == .ok)
            #expect(try one.json()["title"] as? String == "Pemulangan")
            #expect(try await hub.hub.logTypes(caseId: caseId).filter { $0 == "milestone.created" }.count == 5)
        }
    }

    @Test("bad milestones answer 400 naming the field, and store nothing")
    func badInput() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let uri = "/v1/cases/\(caseId)/milestones"
            let cases: [(String, String)] = [
                (#"{"kind": "education", "due_at": "2030-01-01T00:00:00Z"}"#, "title"),
                (#"{"title": "x", "kind": "education"}"#, "due_at"),
                (#"{"title": "x", "due_at": "next week"}"#, "due_at"),
                (#"{"title": "x", "due_at": "2030-02-29T08:00:00Z"}"#, "due_at"),
                (#"{"title": "x", "due_at": "2030-01-01T08:00:00+99:00"}"#, "due_at"),
                (#"{"title": "x", "kind": "party", "due_at": "2030-01-01T00:00:00Z"}"#, "kind"),
                (#"{"title": "x", "due_at": "2030-01-01T00:00:00Z", "reminders": ["PT1H", "P1M"]}"#, "reminders[1]"),
                (#"{"title": "x", "due_at": "2030-01-01T00:00:00Z", "audience": ["ward"]}"#, "audience"),
                (#"{"title": "x", "due_at": "2030-01-01T00:00:00Z", "audience": []}"#, "audience"),
            ]
            for (json, field) in cases {
                expectError(try await hub.hub.post(uri, token: hub.hub.adminToken, json: json), .badRequest, "invalid_request", naming: field)
            }
            let ppa = try await hub.hub.addParticipant(caseId: caseId, role: "ppa")
            expectError(
                try await hub.hub.post(uri, token: ppa.token, json: #"{"title": "x", "due_at": "2030-01-01T00:00:00Z", "audience": ["payer"]}"#),
                .badRequest, "invalid_request", naming: "audience")
            #expect(try await hub.hub.logTypes(caseId: caseId).contains("milestone.created") == false)
        }
    }

    @Test("case managers and PPA plan; family and payer may not; each sees only milestones of its threads")
    func access() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let manager = try await hub.hub.addParticipant(caseId: caseId, role: "case_manager")
            let ppa = try await hub.hub.addParticipant(caseId: caseId, role: "ppa")
            let family = try await hub.hub.addParticipant(caseId: caseId, role: "family")
            let payer = try await hub.hub.addParticipant(caseId: caseId, role: "payer")
            let forFamily = try await hub.hub.createMilestone(caseId: caseId, dueAt: "2030-01-01T00:00:00Z", audience: ["family"], token: ppa.token)
            let forPPA = try await hub.hub.createMilestone(
                caseId: caseId, kind: "assessment", dueAt: "2030-01-02T00:00:00Z", audience: ["ppa"], token: manager.token)
            let forPayer = try await hub.hub.createMilestone(
                caseId: caseId, kind: "authorization", dueAt: "2030-01-03T00:00:00Z", audience: ["payer"], token: manager.token)

            func visible(_ token: String) async throws -> [String] {
                let list = try await hub.hub.get("/v1/cases/\(caseId)/milestones", token: token).json()
                return (list["milestones"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            }
            let ids = [forFamily, forPPA, forPayer].map { $0["id"] as! String }
            #expect(try await visible(manager.token) == ids)
            #expect(try await visible(ppa.token) == [ids[0], ids[1]])
            #expect(try await visible(family.token) == [ids[0]])
            #expect(try await visible(payer.token) == [ids[2]])
            expectError(try await hub.hub.get("/v1/cases/\(caseId)/milestones/\(ids[1])", token: family.token), .notFound, "not_found")

            let body = #"{"title": "x", "due_at": "2030-01-01T00:00:00Z", "audience": ["family"]}"#
            expectError(try await hub.hub.post("/v1/cases/\(caseId)/milestones", token: family.token, json: body), .forbidden, "forbidden")
            expectError(
                try await hub.hub.patch("/v1/cases/\(caseId)/milestones/\(ids[2])", token: payer.token, json: #"{"status": "done"}"#), .forbidden,
                "forbidden")
            // Another case's participant cannot tell the case exists.
            let other = try #require(try await hub.hub.createCase()["id"] as? String)
            expectError(try await hub.hub.get("/v1/cases/\(other)/milestones", token: ppa.token), .notFound, "not_found")
        }
    }

    @Test("reminder, due and overdue each fire once, in order, posting to the audience threads and notifying")
    func firesEachOnce() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let manager = try await hub.hub.addParticipant(caseId: caseId, role: "case_manager", email: "rina@rs.example")
            let family = try await hub.hub.addParticipant(caseId: caseId, role: "family", name: "Ibu Sari", email: "sari@example.org")
            _ = try await hub.hub.addParticipant(caseId: caseId, role: "patient", email: "budi@example.org")
            let (ppaEndpoint, _) = try await hub.hub.createWebhookEndpoint(url: "https://ppa.example/hook", roles: ["ppa"])
            let (payerEndpoint, _) = try await hub.hub.createWebhookEndpoint(url: "https://payer.example/hook", roles: ["payer"])
            let due = Timestamp.nowMillis() + 2 * hour
            let milestone = try await hub.hub.createMilestone(
                caseId: caseId, title: "Edukasi perawatan luka", dueAt: rfc3339(due), audience: ["family"], reminders: ["PT1H", "PT24H"])
            let id = try #require(milestone["id"] as? String)

            #expect(await hub.fire(at: due - hour - 1) == 0, "nothing is due yet; the 24 h reminder was already past when planned")
            #expect(await hub.fire(at: due - hour) == 1)
            #expect(await hub.fire(at: due - hour + 1) == 0, "a reminder fires once")
            #expect(try await status(hub, caseId, id) == "planned")
            #expect(await hub.fire(at: due) == 1)
            #expect(try await status(hub, caseId, id) == "due")
            #expect(await hub.fire(at: due + hour - 1) == 0)
            #expect(await hub.fire(at: due + hour) == 1, "overdue after the default one-hour grace")
            #expect(try await status(hub, caseId, id) == "overdue")
            #expect(await hub.fire(at: due + 100 * hour) == 0, "nothing more, ever")

            let log = try await hub.hub.log(caseId: caseId)
            let firings = log.filter { ($0["type"] as? String)?.hasPrefix("milestone.") == true }.compactMap { $0["type"] as? String }
            #expect(firings == ["milestone.created", "milestone.reminder", "milestone.due", "milestone.overdue"])
            let reminder = try #require(log.first { $0["type"] as? String == "milestone.reminder" })
            #expect((reminder["data"] as? JSONObject)?["reminder"] as? String == "PT1H")
            #expect(reminder["parent_seq"] as? Int == milestone["seq"] as? Int, "firings hang under the milestone's entry")
            #expect(isNull(reminder["thread"]))

            // One hub message per firing in the audience thread, none elsewhere.
            let posted = try await hub.hub.messages(caseId: caseId, thread: "family").filter { $0["kind"] as? String == "milestone" }
            #expect(posted.compactMap { ($0["data"] as? JSONObject)?["event"] as? String } == ["reminder", "due", "overdue"])
            #expect(posted.allSatisfy { ($0["author"] as? JSONObject)?["role"] as? String == "system" })
            let reminderText = try #require(posted.first?["body"] as? String)
            #expect(reminderText.contains("Edukasi perawatan luka") && reminderText.hasPrefix("Pengingat"), "\(reminderText)")
            #expect(posted.last?["priority"] as? String == "urgent")
            #expect(try await hub.hub.messages(caseId: caseId, thread: "ppa").isEmpty)

            // Webhooks: an endpoint whose roles read the audience thread hears every firing, the
            // payer's does not; e-mail to the family audience, and the case manager when overdue.
            let all = try await hub.hub.deliveries("limit=200").deliveries
            let milestoneTypes = ["milestone.reminder", "milestone.due", "milestone.overdue"]
            #expect(deliveries(all, endpoint: ppaEndpoint).compactMap { $0["event_type"] as? String }.filter(milestoneTypes.contains).sorted() == milestoneTypes.sorted())
            #expect(deliveries(all, endpoint: payerEndpoint).isEmpty)
            let emails = all.filter { $0["channel"] as? String == "email" && milestoneTypes.contains($0["event_type"] as? String ?? "") }
            #expect(emails.filter { $0["participant_id"] as? String == family.participant["id"] as? String }.count == 3)
            #expect(!emails.contains { $0["target"] as? String == "budi@example.org" }, "the patient is not in this audience")
            let toManager = emails.filter { $0["participant_id"] as? String == manager.participant["id"] as? String }
            #expect(toManager.compactMap { $0["event_type"] as? String } == ["milestone.overdue"])
            #expect(toManager.first?["reason"] as? String == "escalation")
            #expect(try await hub.hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    @Test("a restart between firings loses none and repeats none")
    func restartMidLife() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let due = Timestamp.nowMillis() + 3 * hour
            _ = try await hub.hub.createMilestone(caseId: caseId, dueAt: rfc3339(due), reminders: ["PT2H", "PT1H"])
            #expect(await hub.fire(at: due - 2 * hour) == 1)

            // A second process on the same file, as after a restart; the hub was down past
            // the second reminder, the due time and the overdue time.
            let store = try await hub.database.open(label: "restarted")
            let clock = ManualClock(startingAt: due + 5 * hour)
            let scheduler = FiringScheduler(
                store: store, texts: MilestoneTexts(templates: try await TemplateCatalog()), clock: clock, logger: Logger(label: "restarted"))
            #expect(await scheduler.fireDue().fired == 2, "due and overdue, in order; the missed reminder would come after the fact")
            #expect(await scheduler.fireDue().fired == 0)
            #expect(await hub.fire(at: due + 6 * hour) == 0, "the first process finds nothing left either")
            let types = try await hub.hub.logTypes(caseId: caseId).filter { $0.hasPrefix("milestone.") }
            #expect(types == ["milestone.created", "milestone.reminder", "milestone.due", "milestone.overdue"])
        }
    }

    @Test("a new due_at reschedules; done and cancelled end the firings; a closed milestone answers 409")
    func changes() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let (familyEndpoint, _) = try await hub.hub.createWebhookEndpoint(url: "https://family.example/hook", roles: ["family"])
            let due = Timestamp.nowMillis() + hour
            let milestone = try await hub.hub.createMilestone(caseId: caseId, dueAt: rfc3339(due))
            let uri = "/v1/cases/\(caseId)/milestones/\(milestone["id"]!)"
            #expect(await hub.fire(at: due) == 1)
            #expect(try await status(hub, caseId, milestone["id"] as! String) == "due")

            let later = due + 5 * hour
            let moved = try await hub.hub.patch(uri, token: hub.hub.adminToken, json: #"{"due_at": "\#(rfc3339(later))"}"#)
            #expect(moved.status == .ok, "\(moved)")
            let movedJSON = try moved.json()
            #expect(movedJSON["status"] as? String == "planned" && movedJSON["due_at"] as? String == rfc3339(later))
            #expect(await hub.fire(at: due + hour) == 0, "the old overdue time has passed: nothing, it was rescheduled")
            #expect(await hub.fire(at: later) == 1)

            let done = try await hub.hub.patch(uri, token: hub.hub.adminToken, json: #"{"status": "done"}"#)
            let doneJSON = try done.json()
            #expect(doneJSON["status"] as? String == "done" && isUTCTimestamp(doneJSON["completed_at"]))
            #expect(await hub.fire(at: later + 10 * hour) == 0, "done: no overdue")
            expectError(try await hub.hub.patch(uri, token: hub.hub.adminToken, json: #"{"status": "cancelled"}"#), .conflict, "conflict")
            expectError(try await hub.hub.patch(uri, token: hub.hub.adminToken, json: #"{"status": "planned"}"#), .badRequest, "invalid_request", naming: "status")
            expectError(try await hub.hub.patch(uri, token: hub.hub.adminToken, json: #"{}"#), .badRequest, "invalid_request")

            let other = try await hub.hub.createMilestone(caseId: caseId, dueAt: rfc3339(later + hour))
            let cancelled = try await hub.hub.patch(
                "/v1/cases/\(caseId)/milestones/\(other["id"]!)", token: hub.hub.adminToken, json: #"{"status": "cancelled"}"#)
            let cancelledJSON = try cancelled.json()
            #expect(cancelledJSON["status"] as? String == "cancelled" && isNull(cancelledJSON["completed_at"]))
            #expect(await hub.fire(at: later + 20 * hour) == 0)
            let types = try await hub.hub.logTypes(caseId: caseId).filter { $0.hasPrefix("milestone.") }
            #expect(
                types == [
                    "milestone.created", "milestone.due", "milestone.rescheduled", "milestone.due", "milestone.done", "milestone.created",
                    "milestone.cancelled",
                ])
            // Webhooks: each due notice, the move, the done and the cancellation.
            let sent = deliveries(try await hub.hub.deliveries("limit=200").deliveries, endpoint: familyEndpoint)
                .compactMap { $0["event_type"] as? String }.filter { $0.hasPrefix("milestone.") }
            #expect(sent.sorted() == ["milestone.cancelled", "milestone.done", "milestone.due", "milestone.due", "milestone.rescheduled"])
        }
    }

    @Test("closing a case cancels its open milestones, logged before case.closed; their firings lapse")
    func closedCase() async throws {
        try await withCoordinatedHub { hub in
            let caseId = try #require(try await hub.hub.createCase()["id"] as? String)
            let due = Timestamp.nowMillis() + hour
            let open = try #require(try await hub.hub.createMilestone(caseId: caseId, dueAt: rfc3339(due), reminders: ["PT30M"])["id"] as? String)
            let finished = try #require(try await hub.hub.createMilestone(caseId: caseId, dueAt: rfc3339(due + hour))["id"] as? String)
            let done = try await hub.hub.request(
                .patch, "/v1/cases/\(caseId)/milestones/\(finished)", token: hub.hub.adminToken, json: #"{"status": "done"}"#)
            #expect(done.status == .ok)
            #expect(try await hub.hub.post("/v1/cases/\(caseId)/close", token: hub.hub.adminToken, json: "{}").status == .ok)
            #expect(await hub.fire(at: due + 10 * hour) == 0)
            #expect(try await status(hub, caseId, open) == "cancelled")
            #expect(try await status(hub, caseId, finished) == "done", "a finished milestone stays as it was")
            let log = try await hub.hub.log(caseId: caseId)
            #expect(log.suffix(2).compactMap { $0["type"] as? String } == ["milestone.cancelled", "case.closed"])
            let cancelled = try #require(log.dropLast().last?["data"] as? JSONObject)
            #expect(cancelled["milestone_id"] as? String == open && cancelled["reason"] as? String == "case_closed")
            #expect(try await hub.hub.verify(caseId: caseId)["ok"] as? Bool == true)
        }
    }

    func status(_ hub: CoordinatedHub, _ caseId: String, _ id: String) async throws -> String? {
        try await hub.hub.get("/v1/cases/\(caseId)/milestones/\(id)", token: hub.hub.adminToken).json()["status"] as? String
    }
}
