/// One notification on its way to one target: a webhook to an endpoint, or an e-mail to a
/// participant. Written to the outbox in the transaction that logs its causing event, then
/// sent, retried and recorded by the delivery worker.
public struct Delivery: Sendable, Equatable {
    public enum Channel: String, Sendable, CaseIterable {
        case webhook, email
    }

    public enum Status: String, Sendable, CaseIterable {
        /// Not tried yet.
        case pending
        /// Tried and failed; tried again at `nextAttemptAt`.
        case failed
        case delivered
        /// Given up on: the schedule ran out, or the answer was final. `retry` requeues it.
        case dead
    }

    public struct Attempt: Sendable, Equatable {
        public var at: String
        /// HTTP status or SMTP reply code; nil when no answer came.
        public var code: Int?
        public var error: String?
        public var durationMillis: Int
        /// The first 2 KB of the answer.
        public var response: String?

        public init(at: String, code: Int?, error: String?, durationMillis: Int, response: String?) {
            self.at = at
            self.code = code
            self.error = error
            self.durationMillis = durationMillis
            self.response = response
        }

        public var json: JSONValue {
            .members([
                "at": .string(at), "code": JSONValue(code), "duration_ms": JSONValue(durationMillis),
                "error": JSONValue(error), "response": JSONValue(response),
            ])
        }
    }

    public var id: String
    public var eventId: String
    public var eventType: String
    public var caseId: String
    /// The `seq` of the causing log entry.
    public var eventSeq: Int
    public var thread: ThreadName?
    public var channel: Channel
    /// The endpoint's URL or the participant's e-mail address.
    public var target: String
    public var endpointId: String?
    public var participantId: String?
    public var status: Status
    public var attempts: [Attempt]
    public var nextAttemptAt: String?
    public var createdAt: String
    /// Why this recipient was chosen: the routing rule, or `milestone`, `escalation`; nil for
    /// an endpoint's own subscription.
    public var reason: String?

    public init(
        id: String, eventId: String, eventType: String, caseId: String, eventSeq: Int, thread: ThreadName?, channel: Channel,
        target: String, endpointId: String?, participantId: String?, status: Status, attempts: [Attempt], nextAttemptAt: String?,
        createdAt: String, reason: String? = nil
    ) {
        self.id = id
        self.eventId = eventId
        self.eventType = eventType
        self.caseId = caseId
        self.eventSeq = eventSeq
        self.thread = thread
        self.channel = channel
        self.target = target
        self.endpointId = endpointId
        self.participantId = participantId
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.reason = reason
    }

    /// The delivery as a case manager sees it: a webhook's URL cut to its origin (paths and
    /// queries often carry the receiver's credentials) and no answers from the receiver.
    public var withoutReceiverDetails: Delivery {
        guard channel == .webhook else { return self }
        var copy = self
        copy.target = Self.origin(of: target)
        copy.attempts = attempts.map { attempt in
            var attempt = attempt
            attempt.response = nil
            return attempt
        }
        return copy
    }

    /// `scheme://host[:port]` of a URL.
    static func origin(of url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<hostEnd]
        let host = authority.split(separator: "@").last.map(String.init) ?? String(authority)  // no user:password
        return String(url[..<schemeEnd.upperBound]) + host
    }

    /// The API shape; `waiting` says why a due delivery is not being sent (for example no
    /// SMTP server configured), nil when nothing holds it back.
    public func json(waiting: String? = nil) -> JSONValue {
        .members([
            "attempts": .array(attempts.map(\.json)), "case_id": .string(caseId), "channel": .string(channel.rawValue),
            "created_at": .string(createdAt), "endpoint_id": JSONValue(endpointId), "event_id": .string(eventId),
            "event_seq": JSONValue(eventSeq), "event_type": .string(eventType), "id": .string(id),
            "next_attempt_at": JSONValue(nextAttemptAt), "participant_id": JSONValue(participantId), "reason": JSONValue(reason),
            "status": .string(status.rawValue),
            "target": .string(target), "thread": JSONValue(thread?.rawValue), "waiting": JSONValue(waiting),
        ])
    }
}

/// Filters of `GET /v1/deliveries`.
public struct DeliveryQuery: Sendable {
    public var status: Delivery.Status?
    public var caseId: String?
    public var endpointId: String?
    /// Only deliveries of events in these threads (never those of case-level events); nil for all.
    public var threads: Set<ThreadName>?
    public var limit: Int
    /// The last delivery id of the previous page (newest first).
    public var before: String?

    public init(
        status: Delivery.Status? = nil, caseId: String? = nil, endpointId: String? = nil, threads: Set<ThreadName>? = nil, limit: Int = 50,
        before: String? = nil
    ) {
        self.status = status
        self.caseId = caseId
        self.endpointId = endpointId
        self.threads = threads
        self.limit = limit
        self.before = before
    }
}
