/// The `data` each structured message kind must carry, checked before a message is stored:
/// a handoff without its SBAR, or a payer decision without a decision, is refused with 400
/// naming the field (`data.situation`), never stored half-formed.
///
/// Fields beyond the ones named here are kept as given, so a sender can add its own (an
/// I-PASS `synthesis`, a payer's reference number) without waiting for a new version.
public enum StructuredData {
    public static let illnessSeverities = ["stable", "watcher", "unstable"]
    public static let urgencies = ["routine", "urgent", "emergency"]
    public static let decisions = ["approved", "denied", "more_info"]

    /// Longest text one structured field may hold.
    static let maximumFieldBytes = 16 * 1024

    public static func validate(kind: Message.Kind, data: JSONValue) throws(CaseHubError) {
        let fields = Fields(data: data)
        switch kind {
        case .handoff:
            // SBAR, required; I-PASS, optional.
            for name in ["situation", "background", "assessment", "recommendation"] { try fields.requireText(name) }
            try fields.optionalChoice("illness_severity", among: illnessSeverities)
            try fields.optionalTextOrTextList("action_list")
            try fields.optionalText("contingency")
        case .authorizationRequest:
            try fields.requireText("service")
            try fields.requireText("reason")
            try fields.requireChoice("urgency", among: urgencies)
            try fields.optionalTimestamp("due_at")
        case .authorizationDecision:
            try fields.requireText("request_id")
            try fields.requireChoice("decision", among: decisions)
            try fields.optionalText("note")
        case .education:
            try fields.requireText("topic")
            try fields.optionalWebURL("material_url")
            try fields.optionalTextOrTextList("audience")
        case .text, .milestone, .system:
            break
        }
    }

    /// When an authorization request wants its decision by, from valid `data`.
    public static func authorizationDueMillis(_ data: JSONValue) -> UInt64? {
        data["due_at"]?.stringValue.flatMap(Timestamp.parseMillis)
    }

    /// Reads named members of one `data` object, each failure naming `data.<field>`.
    private struct Fields {
        let members: [String: JSONValue]

        init(data: JSONValue) {
            if case .object(let members) = data { self.members = members } else { self.members = [:] }
        }

        private func problem(_ name: String, _ text: String) -> CaseHubError {
            .invalidRequest(field: "data.\(name)", text)
        }

        private func present(_ name: String) -> JSONValue? {
            guard let value = members[name], !value.isNull else { return nil }
            return value
        }

        func requireText(_ name: String) throws(CaseHubError) {
            guard present(name) != nil else { throw problem(name, "is required") }
            try optionalText(name)
        }

        func optionalText(_ name: String) throws(CaseHubError) {
            guard let value = present(name) else { return }
            guard let text = value.stringValue else { throw problem(name, "must be a string") }
            guard text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else { throw problem(name, "must not be empty") }
            guard text.utf8.count <= StructuredData.maximumFieldBytes else {
                throw problem(name, "is longer than \(StructuredData.maximumFieldBytes) bytes")
            }
        }

        func optionalTextOrTextList(_ name: String) throws(CaseHubError) {
            guard let value = present(name) else { return }
            if case .array(let items) = value {
                guard items.allSatisfy({ $0.stringValue != nil }) else { throw problem(name, "must be a string or an array of strings") }
                return
            }
            guard value.stringValue != nil else { throw problem(name, "must be a string or an array of strings") }
        }

        func requireChoice(_ name: String, among choices: [String]) throws(CaseHubError) {
            guard present(name) != nil else { throw problem(name, "is required") }
            try optionalChoice(name, among: choices)
        }

        func optionalChoice(_ name: String, among choices: [String]) throws(CaseHubError) {
            guard let value = present(name) else { return }
            guard let text = value.stringValue, choices.contains(text) else {
                throw problem(name, "must be one of \(choices.joined(separator: ", "))")
            }
        }

        func optionalTimestamp(_ name: String) throws(CaseHubError) {
            guard let value = present(name) else { return }
            guard let text = value.stringValue, Timestamp.parseMillis(text) != nil else {
                throw problem(name, "must be an RFC 3339 time such as 2026-11-23T08:00:00Z")
            }
        }

        func optionalWebURL(_ name: String) throws(CaseHubError) {
            guard let value = present(name) else { return }
            guard let text = value.stringValue, text.hasPrefix("https://") || text.hasPrefix("http://"), text.utf8.count <= 2048,
                !text.contains(where: \.isWhitespace)
            else { throw problem(name, "must be an http or https URL") }
        }
    }
}
