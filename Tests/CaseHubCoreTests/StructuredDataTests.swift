import Testing

@testable import CaseHubCore

@Suite("The data structured messages must carry")
struct StructuredDataTests {
    static let sbar: [String: JSONValue] = [
        "situation": "Post-op day 2 after laparotomy, febrile 38.4",
        "background": "Diabetes type 2, on insulin",
        "assessment": "Possible wound infection",
        "recommendation": "Review wound at 08:00 and send a swab",
    ]

    func handoff(_ changes: [String: JSONValue] = [:], removing removed: String? = nil) -> JSONValue {
        var members = Self.sbar.merging(changes) { _, new in new }
        if let removed { members[removed] = nil }
        return .object(members)
    }

    /// Validates and returns the error, or nil when the data is accepted.
    func problem(_ kind: Message.Kind, _ data: JSONValue) -> CaseHubError? {
        do {
            try StructuredData.validate(kind: kind, data: data)
            return nil
        } catch {
            return error
        }
    }

    /// Expects `data` to be refused as an invalid request naming `data.<field>`.
    func expectRefused(_ kind: Message.Kind, _ data: JSONValue, naming field: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = problem(kind, data)
        #expect(error?.name == "invalid_request", sourceLocation: sourceLocation)
        #expect(error?.message.contains("data.\(field)") == true, "\(error?.message ?? "accepted")", sourceLocation: sourceLocation)
    }

    // MARK: Handoff

    @Test("A handoff with SBAR alone, or with every I-PASS field, is accepted")
    func validHandoffs() {
        #expect(problem(.handoff, handoff()) == nil)
        #expect(
            problem(
                .handoff,
                handoff(["illness_severity": "watcher", "action_list": ["Swab wound", "Check glucose 4-hourly"], "contingency": "Call if > 39"]))
                == nil)
        #expect(problem(.handoff, handoff(["action_list": "Swab wound"])) == nil)
        #expect(problem(.handoff, handoff(["action_list": []])) == nil)
        #expect(problem(.handoff, handoff(["illness_severity": nil, "contingency": nil])) == nil)
    }

    @Test("Every illness severity of I-PASS is accepted", arguments: ["stable", "watcher", "unstable"])
    func illnessSeverities(severity: String) {
        #expect(problem(.handoff, handoff(["illness_severity": .string(severity)])) == nil)
    }

    @Test("A missing SBAR field is named", arguments: ["situation", "background", "assessment", "recommendation"])
    func missingSBARField(field: String) {
        expectRefused(.handoff, handoff(removing: field), naming: field)
        expectRefused(.handoff, handoff([field: nil]), naming: field)
        #expect(problem(.handoff, handoff(removing: field))?.message.contains("required") == true)
    }

    @Test("An empty SBAR field is named", arguments: ["situation", "background", "assessment", "recommendation"])
    func emptySBARField(field: String) {
        expectRefused(.handoff, handoff([field: ""]), naming: field)
        expectRefused(.handoff, handoff([field: "  \n\t "]), naming: field)
    }

    @Test("A SBAR field that is not a string is named", arguments: ["situation", "background", "assessment", "recommendation"])
    func nonStringSBARField(field: String) {
        expectRefused(.handoff, handoff([field: 42]), naming: field)
        expectRefused(.handoff, handoff([field: true]), naming: field)
        expectRefused(.handoff, handoff([field: ["a", "b"]]), naming: field)
        expectRefused(.handoff, handoff([field: ["text": "a"]]), naming: field)
    }

    @Test("A SBAR field longer than 16 KiB is refused, one of exactly 16 KiB accepted")
    func longSBARField() {
        expectRefused(.handoff, handoff(["situation": .string(String(repeating: "a", count: 16 * 1024 + 1))]), naming: "situation")
        #expect(problem(.handoff, handoff(["situation": .string(String(repeating: "a", count: 16 * 1024))])) == nil)
    }

    @Test("Bad I-PASS fields are named")
    func badIPASSFields() {
        expectRefused(.handoff, handoff(["illness_severity": "critical"]), naming: "illness_severity")
        expectRefused(.handoff, handoff(["illness_severity": "Stable"]), naming: "illness_severity")
        expectRefused(.handoff, handoff(["illness_severity": 1]), naming: "illness_severity")
        expectRefused(.handoff, handoff(["action_list": 3]), naming: "action_list")
        expectRefused(.handoff, handoff(["action_list": ["Swab wound", 2]]), naming: "action_list")
        expectRefused(.handoff, handoff(["action_list": ["step": "Swab wound"]]), naming: "action_list")
        expectRefused(.handoff, handoff(["contingency": ""]), naming: "contingency")
        expectRefused(.handoff, handoff(["contingency": false]), naming: "contingency")
    }

    @Test("A handoff whose data is not an object is refused naming the first SBAR field")
    func handoffDataNotAnObject() {
        expectRefused(.handoff, "Situation: febrile", naming: "situation")
        expectRefused(.handoff, [:], naming: "situation")
        expectRefused(.handoff, .null, naming: "situation")
    }

    // MARK: Authorization

    static let request: [String: JSONValue] = ["service": "MRI lumbar spine", "reason": "Radicular pain for 6 weeks", "urgency": "routine"]

    @Test("An authorization request needs service, reason and urgency")
    func authorizationRequest() {
        #expect(problem(.authorizationRequest, .object(Self.request)) == nil)
        for field in ["service", "reason", "urgency"] {
            var members = Self.request
            members[field] = nil
            expectRefused(.authorizationRequest, .object(members), naming: field)
        }
        expectRefused(.authorizationRequest, .object(Self.request.merging(["service": " "]) { $1 }), naming: "service")
        expectRefused(.authorizationRequest, .object(Self.request.merging(["reason": 5]) { $1 }), naming: "reason")
    }

    @Test("Urgency is one of routine, urgent, emergency", arguments: ["routine", "urgent", "emergency"])
    func urgencies(urgency: String) {
        #expect(problem(.authorizationRequest, .object(Self.request.merging(["urgency": .string(urgency)]) { $1 })) == nil)
    }

    @Test("Another urgency is refused", arguments: ["asap", "Urgent", "", "high"])
    func badUrgency(urgency: String) {
        expectRefused(.authorizationRequest, .object(Self.request.merging(["urgency": .string(urgency)]) { $1 }), naming: "urgency")
    }

    @Test("due_at, when given, is an RFC 3339 time")
    func authorizationDueAt() {
        for good in ["2026-11-23T08:00:00Z", "2026-11-23T15:00:00.250+07:00"] {
            let data = JSONValue.object(Self.request.merging(["due_at": .string(good)]) { $1 })
            #expect(problem(.authorizationRequest, data) == nil)
            #expect(StructuredData.authorizationDueMillis(data) == Timestamp.parseMillis(good))
        }
        #expect(problem(.authorizationRequest, .object(Self.request.merging(["due_at": nil]) { $1 })) == nil)
        #expect(StructuredData.authorizationDueMillis(.object(Self.request)) == nil)
        for bad: JSONValue in ["tomorrow", "2026-11-23", "2026-11-23 08:00:00Z", 1_795_420_800_000, ""] {
            expectRefused(.authorizationRequest, .object(Self.request.merging(["due_at": bad]) { $1 }), naming: "due_at")
        }
    }

    @Test("An authorization decision needs request_id and a decision", arguments: ["approved", "denied", "more_info"])
    func authorizationDecision(decision: String) {
        #expect(problem(.authorizationDecision, ["request_id": "m-123", "decision": .string(decision)]) == nil)
        #expect(problem(.authorizationDecision, ["request_id": "m-123", "decision": .string(decision), "note": "Covered 80%"]) == nil)
    }

    @Test("A decision without request_id, with another decision, or with an empty note is refused")
    func badAuthorizationDecision() {
        expectRefused(.authorizationDecision, ["decision": "approved"], naming: "request_id")
        expectRefused(.authorizationDecision, ["request_id": "", "decision": "approved"], naming: "request_id")
        expectRefused(.authorizationDecision, ["request_id": "m-123"], naming: "decision")
        expectRefused(.authorizationDecision, ["request_id": "m-123", "decision": "maybe"], naming: "decision")
        expectRefused(.authorizationDecision, ["request_id": "m-123", "decision": "approved", "note": ""], naming: "note")
    }

    // MARK: Education

    @Test("Education needs a topic; material_url, when given, is an http or https URL")
    func education() {
        #expect(problem(.education, ["topic": "Perawatan luka di rumah"]) == nil)
        #expect(problem(.education, ["topic": "Wound care", "material_url": "https://rs.example/edukasi/luka.pdf"]) == nil)
        #expect(problem(.education, ["topic": "Wound care", "material_url": "http://rs.example/luka"]) == nil)
        #expect(problem(.education, ["topic": "Wound care", "audience": ["family", "patient"]]) == nil)
        expectRefused(.education, [:], naming: "topic")
        expectRefused(.education, ["topic": ""], naming: "topic")
        for bad: JSONValue in ["ftp://rs.example/luka.pdf", "rs.example/luka.pdf", "javascript:alert(1)", "https://rs.example/a b", 7, ""] {
            expectRefused(.education, ["topic": "Wound care", "material_url": bad], naming: "material_url")
        }
        expectRefused(
            .education, ["topic": "Wound care", "material_url": .string("https://rs.example/" + String(repeating: "a", count: 2048))],
            naming: "material_url")
        expectRefused(.education, ["topic": "Wound care", "audience": 3], naming: "audience")
    }

    // MARK: Others

    @Test("Text messages accept any data", arguments: [JSONValue.object([:]), ["anything": [1, 2, 3]], "a string", .null, 5])
    func textAcceptsAnything(data: JSONValue) {
        #expect(problem(.text, data) == nil)
    }

    @Test("Fields beyond the named ones are kept as given")
    func extraFieldsAreAccepted() {
        #expect(problem(.handoff, handoff(["synthesis": "Receiver read back the plan", "bed": 12, "tags": ["post-op"]])) == nil)
        #expect(problem(.authorizationRequest, .object(Self.request.merging(["payer_reference": "BPJS-2026-001"]) { $1 })) == nil)
        #expect(problem(.authorizationDecision, ["request_id": "m-1", "decision": "denied", "code": 17]) == nil)
        #expect(problem(.education, ["topic": "Diet", "duration_minutes": 30]) == nil)
    }

    @Test("Refusals name their field in the message the API returns")
    func messageShape() throws {
        let error = try #require(problem(.handoff, handoff(removing: "background")))
        #expect(error.message == "data.background: is required")
        #expect(error.description == error.message)
    }
}
