import Crypto
import Foundation
import Testing

@testable import CaseHubCore

/// The FHIR case bundle as a value: its resources, references, and the hash chain it carries.
/// (The CLI test checks a real export with a real FHIR parser.)
@Suite struct FHIRCaseBundleTests {
    static let caseId = "01a20a87-b9f0-7205-a007-9bd22559755d"
    static let admin = Actor(id: "01a20a87-b9ef-7065-875e-7aa9785ad41b", role: "admin", name: "ops")
    static let ppa = Participant(
        id: "01a20a87-b9f3-7111-a105-7defd552206f", caseId: caseId, role: .ppa, name: "dr. Andi", email: nil, locale: "id",
        createdAt: "2026-11-23T08:00:00.000Z")
    static let family = Participant(
        id: "01a20a87-b9f4-7368-8386-5953cb56b315", caseId: caseId, role: .family, name: "Ibu Sari", email: "sari@example.org",
        locale: "en", createdAt: "2026-11-23T08:00:00.000Z")
    static let payer = Participant(
        id: "01a20a87-b9f6-7180-aff2-0a713d636e86", caseId: caseId, role: .payer, name: "Verifikator", email: nil, locale: "id",
        createdAt: "2026-11-23T08:00:00.000Z")
    static let patient = Participant(
        id: "01a20a87-b9f6-7180-aff2-0a713d636e87", caseId: caseId, role: .patient, name: "Budi Santoso", email: "budi@example.org",
        locale: "id", createdAt: "2026-11-23T08:00:00.000Z")

    static let hubCase = Case(
        id: caseId, mrn: "RM-00123", patient: ["name": "Budi Santoso"], payer: ["name": "BPJS Kesehatan", "member_id": "0001234567890"],
        status: .open, createdAt: "2026-11-23T08:00:00.000Z", closedAt: nil)

    static func message(
        _ id: String, thread: ThreadName, by author: Actor, body: String, seq: Int, redacted: Bool = false, data: JSONValue = .object([:])
    ) -> Message {
        Message(
            id: id, caseId: caseId, thread: thread, seq: seq, author: author, kind: .text, body: body, data: data, replyTo: nil,
            relayedFrom: nil, relayNote: nil, priority: .routine, requiresAck: false, acks: [], createdAt: "2026-11-23T08:00:0\(seq).000Z",
            editedAt: nil, redacted: redacted)
    }

    static func actor(_ participant: Participant) -> Actor {
        Actor(id: participant.id, role: participant.role.rawValue, name: participant.name)
    }

    /// A log sealed as the store seals it: the admin acts twice, the PPA once, the hub once.
    static func log() -> [LogEntry] {
        let drafts = [
            LogDraft(type: .caseOpened, thread: nil, parentSeq: nil, actor: admin, data: ["case_id": .string(caseId)]),
            LogDraft(type: .participantAdded, thread: nil, parentSeq: nil, actor: admin, data: ["participant_id": .string(ppa.id)]),
            LogDraft(
                type: .messagePosted, thread: .family, parentSeq: nil, actor: actor(ppa), data: ["message_id": "01a20a87-0000-7000-8000-000000000001"],
                content: ["body": "Jadwal edukasi besok"]),
            LogDraft(type: .deliveryDead, thread: .family, parentSeq: 3, actor: .hub, data: ["delivery_id": "d1"]),
        ]
        var previous = HashChain.genesis
        return drafts.enumerated().map { index, draft in
            let entry = HashChain.seal(draft, caseId: caseId, seq: index + 1, at: "2026-11-23T08:00:0\(index).000Z", prevHash: previous)
            previous = entry.hash
            return entry
        }
    }

    static func milestone(_ id: String, _ status: Milestone.Status) -> Milestone {
        Milestone(
            id: id, caseId: caseId, title: "Edukasi diet", kind: .education, dueAt: "2030-01-01T08:00:00.000Z", audience: [.family],
            reminders: [ISODuration("PT1H")!], status: status, completedAt: status == .done ? "2026-11-24T08:00:00.000Z" : nil,
            createdAt: "2026-11-23T08:00:00.000Z", seq: 5)
    }

    /// The bundle's bytes for the fixtures, with `messages` and the whole log.
    static func export(
        messages: [Message], milestones: [Milestone] = [], policy: AccessPolicy = .default,
        participants: [Participant] = [ppa, family, payer, patient]
    ) -> [UInt8] {
        var bundle = FHIRCaseBundle(
            case: hubCase, participants: participants, milestones: milestones, policy: policy, timestamp: "2026-11-23T09:00:00.000Z")
        var out: [UInt8] = []
        bundle.open(into: &out)
        for message in messages { bundle.add(message, into: &out) }
        for entry in log() { bundle.add(entry, into: &out) }
        bundle.close(into: &out)
        return out
    }

    /// The bundle's resources, parsed.
    static func resources(_ bytes: [UInt8]) throws -> [JSONValue] {
        let bundle = try JSONValue.parse(bytes)
        #expect(bundle["resourceType"] == "Bundle" && bundle["type"] == "collection" && bundle["timestamp"] == "2026-11-23T09:00:00.000Z")
        guard case .array(let entries)? = bundle["entry"] else { throw Failure("the bundle has no entry array") }
        return try entries.map { entry in
            guard let resource = entry["resource"], let url = entry["fullUrl"]?.stringValue, let id = resource["id"]?.stringValue else {
                throw Failure("an entry without fullUrl, resource or id: \(entry)")
            }
            #expect(url == "urn:uuid:\(id)" && Identifier.isWellFormed(id))
            return resource
        }
    }

    static func ofType(_ type: String, in resources: [JSONValue]) -> [JSONValue] {
        resources.filter { $0["resourceType"]?.stringValue == type }
    }

    static func array(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    static func reference(_ value: JSONValue?) -> String? { value?["reference"]?.stringValue }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func everyReferencePointsIntoTheBundleAndExportsAreRepeatable() throws {
        let messages = [Self.message("01a20a87-0000-7000-8000-000000000001", thread: .family, by: Self.actor(Self.ppa), body: "Jadwal", seq: 3)]
        let bytes = Self.export(messages: messages, milestones: [Self.milestone("01a20a87-0000-7000-8000-0000000000a1", .planned)])
        #expect(bytes == Self.export(messages: messages, milestones: [Self.milestone("01a20a87-0000-7000-8000-0000000000a1", .planned)]))
        let resources = try Self.resources(bytes)
        let urls = Set(resources.compactMap { $0["id"]?.stringValue }.map { "urn:uuid:\($0)" })
        #expect(urls.count == resources.count, "full URLs are unique")
        var references: [String] = []
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if let reference = members["reference"]?.stringValue { references.append(reference) }
                members.values.forEach(collect)
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        resources.forEach(collect)
        #expect(!references.isEmpty)
        #expect(references.allSatisfy(urls.contains), "\(references.filter { !urls.contains($0) })")
    }

    @Test func participantsBecomeTheResourcesOfTheirRole() throws {
        let resources = try Self.resources(Self.export(messages: []))
        #expect(Self.ofType("Patient", in: resources).count == 1, "the patient participant is the Patient itself")
        let patient = try #require(Self.ofType("Patient", in: resources).first)
        #expect(Self.array(patient["telecom"]).first?["value"] == "budi@example.org")
        #expect(Self.ofType("Practitioner", in: resources).map { $0["id"] } == [.string(Self.ppa.id)])
        let related = try #require(Self.ofType("RelatedPerson", in: resources).first)
        #expect(related["id"] == .string(Self.family.id) && Self.reference(related["patient"]) == "urn:uuid:\(patient["id"]!.stringValue!)")
        #expect(Self.ofType("Organization", in: resources).map { $0["id"] } == [.string(Self.payer.id)])
        let coverage = try #require(Self.ofType("Coverage", in: resources).first)
        #expect(coverage["subscriberId"] == "0001234567890")
        #expect(Self.array(Self.ofType("CareTeam", in: resources).first?["participant"]).count == 4)
        #expect(Self.ofType("CarePlan", in: resources).isEmpty, "no care plan without milestones")
    }

    @Test func messagesReachWhoeverTheirThreadReaches() throws {
        let family = Self.message("01a20a87-0000-7000-8000-000000000001", thread: .family, by: Self.actor(Self.ppa), body: "Jadwal", seq: 3)
        let gone = Self.message("01a20a87-0000-7000-8000-000000000002", thread: .ppa, by: Self.admin, body: "", seq: 4, redacted: true)
        let sbar = Self.message(
            "01a20a87-0000-7000-8000-000000000003", thread: .ppa, by: Self.admin, body: "Serah terima", seq: 5,
            data: ["situation": "Post-op hari 2"])
        let resources = try Self.resources(Self.export(messages: [family, gone, sbar]))
        let communications = Self.ofType("Communication", in: resources)
        #expect(communications.count == 3)

        let told = try #require(communications.first { $0["id"] == .string(family.id) })
        let recipients = Set(Self.array(told["recipient"]).compactMap(Self.reference))
        #expect(recipients == ["urn:uuid:\(Self.family.id)"], "the family, not the author, the payer or the patient")
        #expect(Self.reference(told["sender"]) == "urn:uuid:\(Self.ppa.id)")
        #expect(Self.array(told["payload"]).first?["contentString"] == "Jadwal")

        let redacted = try #require(communications.first { $0["id"] == .string(gone.id) })
        #expect(redacted["status"] == "entered-in-error" && redacted["payload"] == nil)

        let structured = try #require(communications.first { $0["id"] == .string(sbar.id) })
        let attachment = try #require(Self.array(structured["payload"]).last?["contentAttachment"])
        let data = try #require(attachment["data"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        #expect(try JSONValue.parse(Array(data)) == ["situation": "Post-op hari 2"])
    }

    @Test func aRemovedParticipantWasReachedOnlyWhileTheyTookPart() throws {
        var removed = Self.family
        removed.removedAt = "2026-11-23T08:00:04.000Z"
        let before = Self.message("01a20a87-0000-7000-8000-000000000001", thread: .family, by: Self.actor(Self.ppa), body: "Jadwal", seq: 3)
        let after = Self.message("01a20a87-0000-7000-8000-000000000002", thread: .family, by: Self.actor(Self.ppa), body: "Ulang", seq: 5)
        let resources = try Self.resources(Self.export(messages: [before, after], participants: [Self.ppa, removed, Self.payer, Self.patient]))
        let communications = Self.ofType("Communication", in: resources)
        func recipients(_ message: Message) -> [String] {
            Self.array(communications.first { $0["id"] == .string(message.id) }?["recipient"]).compactMap(Self.reference)
        }
        #expect(recipients(before) == ["urn:uuid:\(Self.family.id)"])
        #expect(recipients(after).isEmpty, "sent after the family member was removed")
        #expect(Self.ofType("RelatedPerson", in: resources).first?["active"] == .bool(false))
        #expect(Self.ofType("Practitioner", in: resources).first?["active"] == .bool(true))
        let member = Self.array(Self.ofType("CareTeam", in: resources).first?["participant"]).first {
            Self.reference($0["member"]) == "urn:uuid:\(Self.family.id)"
        }
        #expect(member?["period"]?["end"] == "2026-11-23T08:00:04.000Z" && member?["period"]?["start"] == "2026-11-23T08:00:00.000Z")
    }

    @Test func auditEventsCarryTheHashChain() throws {
        let resources = try Self.resources(Self.export(messages: []))
        let events = Self.ofType("AuditEvent", in: resources)
        let log = Self.log()
        #expect(events.count == log.count)
        var previous = HashChain.genesis
        for (event, entry) in zip(events, log) {
            let details = Self.array(Self.array(event["entity"]).first?["detail"])
            func detail(_ name: String) -> JSONValue? {
                details.first { $0["type"]?.stringValue == name }.flatMap { $0["valueString"] ?? $0["valueBase64Binary"] }
            }
            let covered = try #require(detail("entry")?.stringValue.flatMap { Data(base64Encoded: $0) })
            let hash = SHA256.hash(data: Array(previous.utf8) + Array(covered)).map { String(format: "%02x", $0) }.joined()
            #expect(detail("prev_hash")?.stringValue == previous && detail("hash")?.stringValue == entry.hash && hash == entry.hash)
            #expect(detail("seq") == .string(String(entry.seq)) && event["type"]?["code"] == .string(entry.type))
            previous = entry.hash
        }
        #expect(events.last?["outcome"] == "8", "a dead delivery is a serious failure")
        #expect(events.first?["action"] == "C")
    }

    @Test func anAdminTokenIsOneDeviceHoweverOftenItActs() throws {
        let resources = try Self.resources(Self.export(messages: []))
        let devices = Self.ofType("Device", in: resources)
        #expect(devices.count == 2, "the hub and the admin token")
        #expect(devices.contains { $0["id"] == .string(Self.admin.id) })
        let events = Self.ofType("AuditEvent", in: resources)
        let agents = events.map { Self.reference(Self.array($0["agent"]).first?["who"]) }
        #expect(agents.prefix(2).allSatisfy { $0 == "urn:uuid:\(Self.admin.id)" })
        #expect(agents[2] == "urn:uuid:\(Self.ppa.id)")
        let hubAgent = try #require(Self.array(events[3]["agent"]).first)
        #expect(hubAgent["requestor"] == .bool(false) && devices.contains { "urn:uuid:\($0["id"]!.stringValue!)" == Self.reference(hubAgent["who"]) })
    }

    @Test(arguments: [
        (Milestone.Status.planned, "requested"), (.due, "requested"), (.overdue, "requested"), (.done, "completed"), (.cancelled, "cancelled"),
    ])
    func milestonesBecomeTasks(status: Milestone.Status, taskStatus: String) throws {
        let resources = try Self.resources(Self.export(messages: [], milestones: [Self.milestone("01a20a87-0000-7000-8000-0000000000a1", status)]))
        let task = try #require(Self.ofType("Task", in: resources).first)
        #expect(task["status"] == .string(taskStatus) && task["businessStatus"]?["coding"] == [["code": .string(status.rawValue), "system": "urn:casehub:milestone-status"]])
        #expect(task["restriction"]?["period"]?["end"] == "2030-01-01T08:00:00.000Z")
        #expect((task["executionPeriod"] != nil) == (status == .done))
        let plan = try #require(Self.ofType("CarePlan", in: resources).first)
        #expect(Self.reference(Self.array(plan["activity"]).first?["reference"]) == "urn:uuid:\(task["id"]!.stringValue!)")
    }

    @Test func aMessageReadsBackFromItsJSON() throws {
        var message = Self.message("01a20a87-0000-7000-8000-000000000001", thread: .payer, by: Self.admin, body: "Mohon persetujuan", seq: 7)
        #expect(Message(json: message.json) == message)
        message.kind = .authorizationRequest
        message.data = ["due_at": "2030-01-01T08:00:00Z"]
        message.replyTo = "01a20a87-0000-7000-8000-000000000002"
        message.relayedFrom = "01a20a87-0000-7000-8000-000000000003"
        message.relayNote = "dari PPA"
        message.priority = .urgent
        message.requiresAck = true
        message.acks = [Message.Ack(by: Self.payer.id, at: "2026-11-23T08:05:00.000Z")]
        message.editedAt = "2026-11-23T08:06:00.000Z"
        message.authorization = AuthorizationState(status: .moreInfo, decisionId: "01a20a87-0000-7000-8000-000000000004")
        #expect(Message(json: message.json) == message)
        #expect(Message(json: .canonical(message.json.canonicalString)) == message, "as a stored page holds it")
        #expect(Message(json: ["id": "x"]) == nil)
    }
}
