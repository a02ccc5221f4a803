import Crypto
import Foundation

/// The FHIR R4 vocabulary of the case export: CaseHub's own code systems, identifier systems
/// and extensions (stable URNs, the same in every deployment), and builders for the few data
/// types the export writes.
enum FHIR {
    enum System {
        static let thread = "urn:casehub:thread"
        static let messageKind = "urn:casehub:message-kind"
        static let role = "urn:casehub:role"
        static let logEntryType = "urn:casehub:log-entry-type"
        static let milestoneKind = "urn:casehub:milestone-kind"
        static let milestoneStatus = "urn:casehub:milestone-status"
        static let caseId = "urn:casehub:case"
        static let participantId = "urn:casehub:participant"
        static let messageId = "urn:casehub:message"
        static let milestoneId = "urn:casehub:milestone"
        static let language = "urn:ietf:bcp:47"
        static let identifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
        static let roleCode = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
        static let organizationType = "http://terminology.hl7.org/CodeSystem/organization-type"
        static let auditEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
    }

    enum Extension {
        /// On a Communication: the `seq` of its `message.posted` entry in the case log.
        static let logSeq = "urn:casehub:extension:log-seq"
        /// On a Communication: the message it was relayed from (another Communication).
        static let relayedFrom = "urn:casehub:extension:relayed-from"
        static let requiresAck = "urn:casehub:extension:requires-ack"
        /// On a Communication, once per acknowledgement: `by` (a reference) and `at`.
        static let ack = "urn:casehub:extension:ack"
        static let editedAt = "urn:casehub:extension:edited-at"
        /// On a Task: a thread told of the milestone.
        static let audience = "urn:casehub:extension:audience"
        /// On a Task: an ISO 8601 duration before `due_at` at which the audience is reminded.
        static let reminder = "urn:casehub:extension:reminder"
    }

    static func reference(_ fullURL: String, display: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["reference": .string(fullURL)]
        if let display = nonEmpty(display) { members["display"] = .string(display) }
        return .object(members)
    }

    static func coding(_ system: String, _ code: String, display: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["system": .string(system), "code": .string(code)]
        if let display { members["display"] = .string(display) }
        return .object(members)
    }

    static func concept(_ system: String, _ code: String, display: String? = nil, text: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["coding": .array([coding(system, code, display: display)])]
        if let text = nonEmpty(text) { members["text"] = .string(text) }
        return .object(members)
    }

    static func identifier(_ system: String, _ value: String) -> JSONValue {
        .object(["system": .string(system), "value": .string(value)])
    }

    static func name(_ text: String) -> JSONValue { .array([.object(["text": .string(text)])]) }

    /// The e-mail contact points of `addresses`; nil when there are none.
    static func emails(_ addresses: [String?]) -> JSONValue? {
        let points = addresses.compactMap(nonEmpty).map { JSONValue.object(["system": .string("email"), "value": .string($0)]) }
        return points.isEmpty ? nil : .array(points)
    }

    static func language(_ locale: String) -> JSONValue { concept(System.language, locale) }

    static func extensionValue(_ url: String, _ type: String, _ value: JSONValue) -> JSONValue {
        .object(["url": .string(url), "value\(type)": value])
    }

    static func base64(_ bytes: [UInt8]) -> JSONValue { .string(Data(bytes).base64EncodedString()) }

    /// FHIR strings may not be empty: an empty value leaves the element out.
    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }

    /// A UUID (version 8) derived from `name` under `scope` by SHA-256, for what has no UUID of
    /// its own (the patient, the care team, a log entry): the same case exports to the same ids.
    static func derivedId(_ name: String, scope: String) -> String {
        var bytes = Array(SHA256.hash(data: Array("\(scope)/\(name)".utf8)).prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80  // version 8: custom
        bytes[8] = bytes[8] & 0x3F | 0x80  // the RFC 9562 variant
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
