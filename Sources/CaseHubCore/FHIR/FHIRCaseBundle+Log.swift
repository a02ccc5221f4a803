/// What was said and what happened: messages as `Communication`s and log entries as
/// `AuditEvent`s.
extension FHIRCaseBundle {
    /// Writes `message` as it stands now (and a `Device` for its author, when that is an admin
    /// token not seen before).
    public mutating func add(_ message: Message, into out: inout [UInt8]) {
        let sender = actorReference(message.author, into: &out)
        append(communication(message, sender: sender), into: &out)
    }

    /// Writes `entry` as an `AuditEvent` (and a `Device` for its actor, when that is an admin
    /// token not seen before).
    public mutating func add(_ entry: LogEntry, into out: inout [UInt8]) {
        let actor = Actor(
            id: entry.actor["id"]?.stringValue ?? "", role: entry.actor["role"]?.stringValue ?? "",
            name: entry.actor["name"]?.stringValue ?? "")
        let who = actorReference(actor, into: &out)
        append(auditEvent(entry, actor: actor, who: who), into: &out)
    }

    /// A reference to the resource that stands for `actor`, writing a `Device` first for an
    /// admin token (operators and integrations are not participants of the case).
    private mutating func actorReference(_ actor: Actor, into out: inout [UInt8]) -> JSONValue {
        if let known = knownActorURL(actor.id) { return FHIR.reference(known, display: actor.name) }
        let fullURL = url(ofId: actor.id)
        remember(actor: actor.id, as: fullURL)
        var device: [String: JSONValue] = ["type": .object(["text": .string("CaseHub \(actor.role) token")])]
        if let name = FHIR.nonEmpty(actor.name) {
            device["deviceName"] = .array([.object(["name": .string(name), "type": .string("user-friendly-name")])])
        }
        append(Self.resource("Device", fullURL, device), into: &out)
        return FHIR.reference(fullURL, display: actor.name)
    }

    private func communication(_ message: Message, sender: JSONValue) -> Resource {
        var members: [String: JSONValue] = [
            "identifier": .array([FHIR.identifier(FHIR.System.messageId, message.id)]),
            "status": .string(message.redacted ? "entered-in-error" : "completed"),
            "category": .array([
                FHIR.concept(FHIR.System.thread, message.thread.rawValue), FHIR.concept(FHIR.System.messageKind, message.kind.rawValue),
            ]),
            "priority": .string(message.priority.rawValue),
            "subject": FHIR.reference(patientURL),
            "about": .array([FHIR.reference(episodeURL)]),
            "sent": .string(message.createdAt),
            "sender": sender,
        ]
        let recipients = recipients(of: message)
        if !recipients.isEmpty { members["recipient"] = .array(recipients) }
        if let replyTo = message.replyTo { members["inResponseTo"] = .array([FHIR.reference(url(ofId: replyTo))]) }
        if let note = FHIR.nonEmpty(message.relayNote) { members["note"] = .array([.object(["text": .string(note)])]) }
        if !message.redacted {
            var payload: [JSONValue] = []
            if let body = FHIR.nonEmpty(message.body) { payload.append(.object(["contentString": .string(body)])) }
            if message.data.hasMembers {
                let attachment = JSONValue.object(["contentType": .string("application/json"), "data": FHIR.base64(message.data.canonicalBytes)])
                payload.append(.object(["contentAttachment": attachment]))
            }
            if !payload.isEmpty { members["payload"] = .array(payload) }
        }
        members["extension"] = .array(communicationExtensions(message))
        return Self.resource("Communication", url(ofId: message.id), members)
    }

    /// Everyone the message's thread reached when it was sent, but its author: the
    /// participants of the case then whose role may read the thread. (Times are RFC 3339 UTC
    /// with milliseconds throughout, so they compare as text.)
    private func recipients(of message: Message) -> [JSONValue] {
        var seen: Set<String> = []
        return participants.compactMap { participant in
            let tookPart = participant.createdAt <= message.createdAt && (participant.removedAt.map { $0 > message.createdAt } ?? true)
            guard tookPart, participant.id != message.author.id, policy.canAccess(participant.role, thread: message.thread),
                let fullURL = knownActorURL(participant.id), seen.insert(fullURL).inserted
            else { return nil }
            return FHIR.reference(fullURL, display: participant.name)
        }
    }

    private func communicationExtensions(_ message: Message) -> [JSONValue] {
        var extensions = [FHIR.extensionValue(FHIR.Extension.logSeq, "Integer", .int(Int64(message.seq)))]
        if let source = message.relayedFrom {
            extensions.append(FHIR.extensionValue(FHIR.Extension.relayedFrom, "Reference", FHIR.reference(url(ofId: source))))
        }
        if message.requiresAck { extensions.append(FHIR.extensionValue(FHIR.Extension.requiresAck, "Boolean", .bool(true))) }
        for ack in message.acks {
            let by = FHIR.reference(knownActorURL(ack.by) ?? url(ofId: ack.by))
            extensions.append(
                .object([
                    "url": .string(FHIR.Extension.ack),
                    "extension": .array([
                        FHIR.extensionValue("by", "Reference", by), FHIR.extensionValue("at", "DateTime", .string(ack.at)),
                    ]),
                ]))
        }
        if let editedAt = message.editedAt { extensions.append(FHIR.extensionValue(FHIR.Extension.editedAt, "DateTime", .string(editedAt))) }
        return extensions
    }

    /// A log entry as an `AuditEvent`. Its entity keeps the entry's place in the chain and the
    /// canonical JSON its hash covers: `hash = SHA-256(prev_hash ‖ base64-decoded "entry")`.
    private func auditEvent(_ entry: LogEntry, actor: Actor, who: JSONValue) -> Resource {
        var details: [JSONValue] = [
            .object(["type": .string("seq"), "valueString": .string(String(entry.seq))]),
            .object(["type": .string("hash"), "valueString": .string(entry.hash)]),
            .object(["type": .string("prev_hash"), "valueString": .string(entry.prevHash)]),
            .object(["type": .string("entry"), "valueBase64Binary": FHIR.base64(entry.hashedBody.canonicalBytes)]),
        ]
        if let parent = entry.parentSeq { details.append(.object(["type": .string("parent_seq"), "valueString": .string(String(parent))])) }
        if let thread = entry.thread { details.append(.object(["type": .string("thread"), "valueString": .string(thread.rawValue)])) }
        var entity: [String: JSONValue] = [
            "type": FHIR.coding(FHIR.System.auditEntityType, "2", display: "System Object"),
            "detail": .array(details),
        ]
        if let subject = subjectURL(of: entry) { entity["what"] = FHIR.reference(subject) }
        var agent: [String: JSONValue] = ["who": who, "requestor": .bool(actor.id != Actor.hub.id)]
        if let role = FHIR.nonEmpty(actor.role) { agent["type"] = FHIR.concept(FHIR.System.role, role) }
        return Self.resource(
            "AuditEvent", derivedURL("log/\(entry.seq)"),
            [
                "type": FHIR.coding(FHIR.System.logEntryType, entry.type),
                "action": .string(Self.action(of: entry.type)),
                "recorded": .string(entry.at),
                "outcome": .string(Self.outcome(of: entry.type)),
                "agent": .array([.object(agent)]),
                "source": .object(["site": .string("CaseHub"), "observer": FHIR.reference(hubDeviceURL)]),
                "entity": .array([.object(entity)]),
            ])
    }

    /// The resource an entry is about: the message (the new copy, for a relay; the request,
    /// for an authorization decided), the milestone, the participant, or for the case's own
    /// entries the episode.
    private func subjectURL(of entry: LogEntry) -> String? {
        for key in ["relayed_message_id", "message_id", "request_id", "milestone_id", "participant_id"] {
            if let id = entry.data[key]?.stringValue { return knownActorURL(id) ?? url(ofId: id) }
        }
        return entry.type.hasPrefix("case.") ? episodeURL : nil
    }

    /// AuditEvent.action: C(reate), U(pdate), D(elete) or E(xecute).
    static func action(of type: String) -> String {
        switch type {
        case "case.opened", "participant.added", "message.posted", "message.relayed", "milestone.created": "C"
        case "message.edited", "milestone.rescheduled", "participant.preferences_changed", "participant.token_replaced", "case.closed": "U"
        case "message.redacted", "participant.removed": "D"
        default: "E"
        }
    }

    /// AuditEvent.outcome: 0 success, 4 minor failure (a delivery to retry), 8 serious failure
    /// (a delivery given up).
    static func outcome(of type: String) -> String {
        switch type {
        case "delivery.failed": "4"
        case "delivery.dead": "8"
        default: "0"
        }
    }
}

extension JSONValue {
    /// Whether this is an object with at least one member.
    fileprivate var hasMembers: Bool {
        switch self {
        case .object(let members): !members.isEmpty
        case .sortedObject(let members): !members.isEmpty
        case .canonical: (try? parsed())?.hasMembers ?? false
        default: false
        }
    }
}
