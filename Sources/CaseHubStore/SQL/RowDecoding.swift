import CaseHubCore


/// Column lists and the decoders that read them by position.
///
/// Rows are read by index, not by name: a name lookup costs a case-insensitive string
/// comparison per column, which dominated the read path under load.
enum Columns {
    static let `case` = "id, mrn, patient, payer, status, created_at, closed_at"
    static let participant = "id, case_id, role, name, email, locale, created_at, email_enabled, quiet_hours, removed_at"
    static let message = """
        id, case_id, thread, seq, author_id, author_role, author_name, kind, body, data, reply_to, relayed_from, relay_note, \
        priority, requires_ack, acks, created_at, edited_at, redacted, rendered, "authorization"
        """
    static let milestone = "id, case_id, seq, title, kind, due_at, audience, reminders, status, completed_at, created_at"
    static let logEntry = "case_id, seq, at, type, thread, parent_seq, actor, data, content, hash, prev_hash"
    static let endpoint = """
        id, url, description, events, roles, enabled, include_text, disabled_reason, created_at, previous_secret_until_ms, \
        secret, previous_secret
        """
    static let delivery = """
        id, event_id, event_type, case_id, event_seq, thread, channel, target, endpoint_id, participant_id, status, attempts, \
        next_attempt_ms, created_at, attempt_count, schedule_base, routed_by
        """
}

/// A stored value the hub never writes: the file was changed outside the hub. Reading stops
/// rather than guessing (an unknown thread read as another could show a message to the
/// wrong audience).
struct CorruptRow: Error, CustomStringConvertible {
    let description: String
}

/// Reads an enum column strictly.
private func decode<T: RawRepresentable>(_ type: T.Type, _ row: SQLRow, _ index: Int, _ table: String) throws -> T where T.RawValue == String {
    let raw: String = row[index]
    guard let value = T(rawValue: raw) else { throw CorruptRow(description: "\(table): unknown value '\(raw)' in column \(index)") }
    return value
}

enum RowDecoding {
    /// Reads a row of channel, status, count and earliest `next_attempt_ms`.
    static func deliveryBacklog(_ row: SQLRow) throws -> DeliveryBacklog {
        DeliveryBacklog(
            channel: try decode(Delivery.Channel.self, row, 0, "deliveries"), status: try decode(Delivery.Status.self, row, 1, "deliveries"),
            count: row[2], oldestDueMillis: (row[3] as Int?).map { UInt64(max(0, $0)) })
    }

    /// Reads a row selected with ``Columns/case``.
    static func caseValue(_ row: SQLRow) throws -> Case {
        Case(
            id: row[0], mrn: row[1], patient: .canonical(row[2]), payer: .canonical(row[3]),
            status: try decode(Case.Status.self, row, 4, "cases"), createdAt: row[5], closedAt: row[6])
    }

    /// Reads a row selected with ``Columns/participant``.
    static func participantValue(_ row: SQLRow) throws -> Participant {
        Participant(
            id: row[0], caseId: row[1], role: try decode(Role.self, row, 2, "participants"), name: row[3], email: row[4], locale: row[5],
            createdAt: row[6],
            preferences: Preferences(
                emailEnabled: row[7], quietHours: (row[8] as String?).flatMap { try? JSONValue.parse($0) }.flatMap(QuietHours.init(json:))),
            removedAt: row[9])
    }

    /// Reads a row of id, role, name, created_at, revoked_at and the count of cases reached.
    static func tokenValue(_ row: SQLRow) throws -> TokenRecord {
        TokenRecord(
            id: row[0], role: try decode(Role.self, row, 1, "tokens"), name: row[2], createdAt: row[3], revokedAt: row[4], cases: row[5])
    }

    /// Reads a row selected with ``Columns/message``.
    static func messageValue(_ row: SQLRow) throws -> Message {
        let acksText: String = row[15]
        var acks: [Message.Ack] = []
        if acksText != "[]", case .array(let items)? = try? JSONValue.parse(acksText) {
            acks = items.compactMap { item in
                guard let by = item["by"]?.stringValue, let at = item["at"]?.stringValue else { return nil }
                return Message.Ack(by: by, at: at)
            }
        }
        return Message(
            id: row[0], caseId: row[1], thread: try decode(ThreadName.self, row, 2, "messages"), seq: row[3],
            author: Actor(id: row[4], role: row[5], name: row[6]), kind: try decode(Message.Kind.self, row, 7, "messages"), body: row[8],
            data: .canonical(row[9]), replyTo: row[10], relayedFrom: row[11], relayNote: row[12],
            priority: try decode(Message.Priority.self, row, 13, "messages"), requiresAck: row[14], acks: acks, createdAt: row[16],
            editedAt: row[17], redacted: row[18], authorization: (row[20] as String?).flatMap { try? JSONValue.parse($0) }.flatMap(AuthorizationState.init(json:)))
    }

    /// Reads a row selected with ``Columns/milestone``.
    static func milestoneValue(_ row: SQLRow) throws -> Milestone {
        let audience = try stringArray(row[6], "milestones.audience").map { raw in
            guard let thread = ThreadName(rawValue: raw) else { throw CorruptRow(description: "milestones: unknown thread '\(raw)'") }
            return thread
        }
        let reminders = try stringArray(row[7], "milestones.reminders").map { raw in
            guard let duration = ISODuration(raw) else { throw CorruptRow(description: "milestones: bad reminder '\(raw)'") }
            return duration
        }
        return Milestone(
            id: row[0], caseId: row[1], title: row[3], kind: try decode(Milestone.Kind.self, row, 4, "milestones"), dueAt: row[5],
            audience: audience, reminders: reminders, status: try decode(Milestone.Status.self, row, 8, "milestones"),
            completedAt: row[9], createdAt: row[10], seq: row[2])
    }

    /// Reads a row selected as `seq, rendered`.
    static func renderedMessage(_ row: SQLRow) -> RenderedMessage {
        RenderedMessage(seq: row[0], json: .canonical(row[1]))
    }

    /// Reads a row selected with ``Columns/logEntry``.
    static func logEntry(_ row: SQLRow) throws -> LogEntry {
        let thread: ThreadName? = try (row[4] as String?).map { raw in
            guard let thread = ThreadName(rawValue: raw) else { throw CorruptRow(description: "log_entries: unknown thread '\(raw)'") }
            return thread
        }
        let content: String? = row[8]
        return LogEntry(
            caseId: row[0], seq: row[1], at: row[2], type: row[3], thread: thread, parentSeq: row[5],
            actor: .canonical(row[6]), data: .canonical(row[7]), content: content.map(JSONValue.canonical), hash: row[9],
            prevHash: row[10])
    }
}

extension RowDecoding {
    /// Reads a row selected with ``Columns/endpoint``.
    static func endpointValue(_ row: SQLRow) throws -> WebhookEndpoint {
        let untilMillis: Int64? = row[9]
        return WebhookEndpoint(
            id: row[0], url: row[1], description: row[2], events: try stringArray(row[3], "endpoints.events"),
            roles: try stringArray(row[4], "endpoints.roles").map { raw in
                guard let role = Role(rawValue: raw) else { throw CorruptRow(description: "endpoints: unknown role '\(raw)'") }
                return role
            },
            enabled: row[5], includeText: row[6], disabledReason: row[7], createdAt: row[8],
            previousSecretExpiresAt: untilMillis.map { Timestamp.format(millis: UInt64($0)) })
    }

    /// Reads a row selected with ``Columns/delivery``.
    static func deliveryValue(_ row: SQLRow) throws -> Delivery {
        let nextMillis: Int64? = row[12]
        let thread: ThreadName? = try (row[5] as String?).map { raw in
            guard let thread = ThreadName(rawValue: raw) else { throw CorruptRow(description: "deliveries: unknown thread '\(raw)'") }
            return thread
        }
        return Delivery(
            id: row[0], eventId: row[1], eventType: row[2], caseId: row[3], eventSeq: row[4], thread: thread,
            channel: try decode(Delivery.Channel.self, row, 6, "deliveries"), target: row[7], endpointId: row[8], participantId: row[9],
            status: try decode(Delivery.Status.self, row, 10, "deliveries"), attempts: try attempts(row[11]),
            nextAttemptAt: nextMillis.map { Timestamp.format(millis: UInt64($0)) }, createdAt: row[13], reason: row[16])
    }

    static func stringArray(_ text: String, _ column: String) throws -> [String] {
        guard case .array(let items)? = try? JSONValue.parse(text) else { throw CorruptRow(description: "\(column): not a JSON array") }
        return try items.map { item in
            guard let value = item.stringValue else { throw CorruptRow(description: "\(column): not a string") }
            return value
        }
    }

    static func attempts(_ text: String) throws -> [Delivery.Attempt] {
        guard case .array(let items)? = try? JSONValue.parse(text) else { throw CorruptRow(description: "deliveries.attempts: not a JSON array") }
        return items.map { item in
            Delivery.Attempt(
                at: item["at"]?.stringValue ?? "", code: item["code"]?.intValue, error: item["error"]?.stringValue,
                durationMillis: item["duration_ms"]?.intValue ?? 0, response: item["response"]?.stringValue)
        }
    }
}
