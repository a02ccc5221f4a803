extension Message {
    /// A message from its API form (``json``), as a page of messages holds it; nil when
    /// `json` is not that form.
    public init?(json: JSONValue) {
        guard case .object(let fields)? = try? json.parsed(),
            let id = fields["id"]?.stringValue, let caseId = fields["case_id"]?.stringValue,
            let thread = fields["thread"]?.stringValue.flatMap(ThreadName.init(rawValue:)),
            let seq = fields["seq"]?.intValue,
            let authorId = fields["author"]?["id"]?.stringValue, let authorRole = fields["author"]?["role"]?.stringValue,
            let authorName = fields["author"]?["name"]?.stringValue,
            let kind = fields["kind"]?.stringValue.flatMap(Kind.init(rawValue:)), let body = fields["body"]?.stringValue,
            let priority = fields["priority"]?.stringValue.flatMap(Priority.init(rawValue:)),
            let requiresAck = fields["requires_ack"]?.boolValue, let createdAt = fields["created_at"]?.stringValue,
            let redacted = fields["redacted"]?.boolValue, case .array(let acks)? = fields["acks"]
        else { return nil }
        let readAcks = acks.compactMap { ack -> Ack? in
            guard let by = ack["by"]?.stringValue, let at = ack["at"]?.stringValue else { return nil }
            return Ack(by: by, at: at)
        }
        guard readAcks.count == acks.count else { return nil }
        self.init(
            id: id, caseId: caseId, thread: thread, seq: seq, author: Actor(id: authorId, role: authorRole, name: authorName), kind: kind,
            body: body, data: fields["data"] ?? .object([:]), replyTo: fields["reply_to"]?.stringValue,
            relayedFrom: fields["relayed_from"]?.stringValue, relayNote: fields["relay_note"]?.stringValue, priority: priority,
            requiresAck: requiresAck, acks: readAcks, createdAt: createdAt, editedAt: fields["edited_at"]?.stringValue,
            redacted: redacted, authorization: fields["authorization"].flatMap(AuthorizationState.init(json:)))
    }
}
