import Foundation
import Testing

/// `casehub export --format fhir`: one FHIR R4 Bundle of a case, checked by a real FHIR
/// parser (fhir.resources, Tests/Peers/check_fhir.py) and against what the API shows.
@Suite("FHIR export")
struct FHIRExportTests {
    /// What check_fhir.py reports of a bundle.
    struct Summary: Decodable {
        struct Chain: Decodable {
            let ok: Bool
            let entries: Int
        }

        struct Communication: Decodable {
            let id: String
            let status: String
            let thread: String
            let kind: String
            let text: String?
            let data: [String: String]?
            let sender: String?
            let recipients: [String]
            let inResponseTo: [String?]
            let relayedFrom: String?
            let acks: Int
            let edited: Bool
            let seq: Int
        }

        let type: String
        let counts: [String: Int]
        let duplicateFullUrls: Int
        let idsDisagreeing: [String]
        let unresolved: [String]
        let chain: Chain
        let hashes: [String]
        let types: [String]
        let communications: [Communication]
        let tasks: [[String]]
        let participants: [String]

        func communication(_ id: String) throws -> Communication {
            try #require(communications.first { $0.id == id }, "no Communication/\(id)")
        }
    }

    static func created(_ answer: HTTPAnswer, _ what: String) throws -> [String: Any] {
        guard answer.status == 201 || answer.status == 200 else { throw HarnessError("\(what): \(answer)") }
        return try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any], "\(what): \(answer)")
    }

    @Test(.timeLimit(.minutes(3)))
    func exportsTheWholeCaseAsAValidBundle() async throws {
        try await withRunningHub("fhir") { hub in
            let client = hub.admin
            let opened = try Self.created(
                try await client.post(
                    "/v1/cases",
                    json: #"{"mrn":"RM-00123","patient":{"name":"Budi Santoso"},"payer":{"name":"BPJS Kesehatan","member_id":"0001234567890"}}"#),
                "open the case")
            let caseId = try #require(opened["id"] as? String)
            var people: [String: String] = [:]  // role → participant id
            var tokens: [String: String] = [:]
            for (role, name, email) in [
                ("family", "Ibu Sari", "sari@example.org"), ("ppa", "dr. Andi", "andi@rs.example"), ("payer", "Verifikator BPJS", ""),
                ("patient", "Budi Santoso", "budi@example.org"), ("case_manager", "Ners Rina", ""),
            ] {
                let emailField = email.isEmpty ? "" : #","email":"\#(email)""#
                let added = try Self.created(
                    try await client.post("/v1/cases/\(caseId)/participants", json: #"{"role":"\#(role)","name":"\#(name)"\#(emailField)}"#),
                    "add \(role)")
                people[role] = try #require((added["participant"] as? [String: Any])?["id"] as? String)
                tokens[role] = try #require(added["token"] as? String)
            }

            let messages = "/v1/cases/\(caseId)/threads"
            let vitals = try await client.postMessage(caseId: caseId, thread: "ppa", body: "Tekanan darah 120/80")
            let handoff = try Self.created(
                try await client.post(
                    "\(messages)/ppa/messages",
                    json: #"""
                        {"body":"Serah terima jaga","kind":"handoff","data":{"situation":"Post-op hari 2","background":"DM tipe 2",\#
                        "assessment":"Stabil","recommendation":"Cek gula darah tiap 6 jam"}}
                        """#),
                "post a handoff")
            let handoffId = try #require(handoff["id"] as? String)
            let reply = try Self.created(
                try await client.post("\(messages)/ppa/messages", json: #"{"body":"Siap","reply_to":"\#(vitals.id)"}"#), "reply")
            let replyId = try #require(reply["id"] as? String)
            let caseManager = HubClient(port: hub.server.port, token: tokens["case_manager"])
            defer { caseManager.close() }
            let relayed = try Self.created(
                try await caseManager.post("/v1/cases/\(caseId)/messages/\(vitals.id)/relay", json: #"{"to":"family","note":"Kabar dari dokter"}"#),
                "relay to the family")
            let relayedId = try #require(relayed["id"] as? String)
            let family = try await client.postMessage(caseId: caseId, thread: "family", body: "Terima kasih")
            let edited = try await client.postMessage(caseId: caseId, thread: "patient", body: "Jadwal kontrol Senin")
            #expect(try await client.send("PATCH", "/v1/cases/\(caseId)/messages/\(edited.id)", json: #"{"body":"Jadwal kontrol Selasa"}"#).status == 200)
            let redacted = try await client.postMessage(caseId: caseId, thread: "payer", body: "Nomor kartu salah ketik")
            #expect(try await client.send("DELETE", "/v1/cases/\(caseId)/messages/\(redacted.id)").status == 200)
            #expect(try await client.post("/v1/cases/\(caseId)/messages/\(vitals.id)/ack", json: "{}").status == 200)
            let milestones = "/v1/cases/\(caseId)/milestones"
            _ = try Self.created(
                try await client.post(
                    milestones, json: #"{"title":"Edukasi diet","kind":"education","due_at":"2030-01-01T08:00:00Z","audience":["family"]}"#),
                "plan a milestone")
            let done = try Self.created(
                try await client.post(milestones, json: #"{"title":"Asesmen awal","kind":"assessment","due_at":"2030-01-02T08:00:00Z"}"#),
                "plan another")
            let doneId = try #require(done["id"] as? String)
            #expect(try await client.send("PATCH", "\(milestones)/\(doneId)", json: #"{"status":"done"}"#).status == 200)
            _ = try Self.created(try await client.post("/v1/cases/\(caseId)/close", json: "{}"), "close the case")

            let export = try await runCaseHub(["export", caseId, "--format", "fhir"], in: hub.scratch, environment: hub.environment)
            #expect(export.status == 0, "\(export)")
            let summary = try JSONDecoder.snakeCase.decode(
                Summary.self,
                from: Data(try await runPeerScript("check_fhir.py", input: Data(export.stdout.utf8), in: hub.scratch).utf8))

            // The bundle holds together, and its AuditEvents are the case log, chain and all.
            #expect(summary.type == "collection")
            #expect(summary.duplicateFullUrls == 0 && summary.idsDisagreeing.isEmpty, "\(summary.idsDisagreeing)")
            #expect(summary.unresolved.isEmpty, "references to nothing in the bundle: \(summary.unresolved)")
            let log = try await client.allLogEntries(caseId: caseId)
            #expect(summary.chain.ok && summary.chain.entries == log.count)
            #expect(summary.hashes == log.map(\.hash))
            #expect(summary.types == log.map(\.type))

            // The case and its people: a patient participant is the Patient itself.
            let counts = summary.counts
            #expect(counts["Patient"] == 1 && counts["EpisodeOfCare"] == 1 && counts["Coverage"] == 1 && counts["CareTeam"] == 1)
            #expect(counts["RelatedPerson"] == 1 && counts["Organization"] == 1 && counts["Practitioner"] == 2, "\(counts)")
            #expect(counts["Device"] == 2, "the hub and the admin token that acted: \(counts)")
            #expect(counts["CarePlan"] == 1 && counts["Task"] == 2, "\(counts)")
            // Closing the case cancelled the milestone still planned; the one done stays done.
            #expect(summary.tasks == [["cancelled", "cancelled"], ["completed", "done"]])
            for role in ["family", "ppa", "payer", "case_manager"] {
                let id = try #require(people[role])
                #expect(summary.participants.contains { $0.hasSuffix("/\(id)") }, "no resource for the \(role) participant")
            }

            // Every message, as it stands now.
            var all: [MessageView] = []
            for thread in ["patient", "family", "ppa", "payer"] { all += try await client.allMessages(caseId: caseId, thread: thread) }
            #expect(counts["Communication"] == all.count, "\(counts)")
            let familyId = try #require(people["family"])
            let payerId = try #require(people["payer"])
            let first = try summary.communication(vitals.id)
            #expect(first.status == "completed" && first.thread == "ppa" && first.text == "Tekanan darah 120/80" && first.acks == 1)
            #expect(!first.recipients.contains { $0.hasSuffix(familyId) }, "a PPA-thread message does not reach the family")
            let sbar = try summary.communication(handoffId)
            #expect(sbar.kind == "handoff" && sbar.data?["recommendation"] == "Cek gula darah tiap 6 jam")
            #expect(try summary.communication(replyId).inResponseTo == ["Communication/\(vitals.id)"])
            let copy = try summary.communication(relayedId)
            #expect(copy.thread == "family" && copy.relayedFrom == "Communication/\(vitals.id)")
            let thanks = try summary.communication(family.id)
            #expect(thanks.recipients.contains("RelatedPerson/\(familyId)"))
            #expect(!thanks.recipients.contains("Organization/\(payerId)"), "the payer cannot read the family thread")
            let changed = try summary.communication(edited.id)
            #expect(changed.edited && changed.text == "Jadwal kontrol Selasa")
            let gone = try summary.communication(redacted.id)
            #expect(gone.status == "entered-in-error" && gone.text == nil, "a redacted message keeps no text")
            #expect(!export.stdout.contains("Nomor kartu salah ketik"), "the redacted text is nowhere in the export")

            // Exporting again gives the same bundle but for its timestamp; an unknown case is status 2.
            let again = try await runCaseHub(["export", caseId, "--format", "fhir"], in: hub.scratch, environment: hub.environment)
            #expect(Self.withoutTimestamp(again.stdout) == Self.withoutTimestamp(export.stdout))
            let unknown = try await runCaseHub(["export", "01900000-0000-7000-8000-000000000000", "--format", "fhir"], in: hub.scratch, environment: hub.environment)
            #expect(unknown.status == 2 && unknown.stderrLines.count == 1 && unknown.stdout.isEmpty, "\(unknown)")
        }
    }

    static func withoutTimestamp(_ bundle: String) -> String {
        bundle.replacingOccurrences(of: #""timestamp":"[^"]*""#, with: "", options: .regularExpression)
    }
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
