import CaseHubCore

/// What a worker asks of ``Store/claimDeliveries(_:)``.
public struct DeliveryClaim: Sendable {
    public var nowMillis: UInt64
    public var limit: Int
    /// How long the claimed rows stay leased to this worker.
    public var leaseMillis: UInt64
    /// How many more transfers each target may take now (keys from ``ClaimedDelivery/concurrencyKey``);
    /// a target missing here takes up to `perTargetLimit`.
    public var freeSlots: [String: Int]
    public var perTargetLimit: Int
    /// E-mail waits while no SMTP server is configured.
    public var channels: Set<Delivery.Channel>

    public init(
        nowMillis: UInt64, limit: Int, leaseMillis: UInt64, freeSlots: [String: Int], perTargetLimit: Int, channels: Set<Delivery.Channel>
    ) {
        self.nowMillis = nowMillis
        self.limit = limit
        self.leaseMillis = leaseMillis
        self.freeSlots = freeSlots
        self.perTargetLimit = perTargetLimit
        self.channels = channels
    }
}

/// A leased delivery with everything needed to render and send it.
public struct ClaimedDelivery: Sendable {
    public var delivery: Delivery
    /// The log entry that caused it.
    public var event: LogEntry
    /// 1 for the first attempt.
    public var attemptNumber: Int
    /// Failed attempts since the schedule (re)started; picks the next delay.
    public var scheduleIndex: Int
    /// For webhooks: where to send now (the endpoint's current URL) and how to sign.
    public var endpoint: EndpointTarget?
    /// For e-mail: the participant it goes to.
    public var recipient: Participant?
    /// The message the event is about, as it is now (a redacted one carries no text); read
    /// only for e-mail and for endpoints that opted in to text.
    public var message: Message?

    public init(
        delivery: Delivery, event: LogEntry, attemptNumber: Int, scheduleIndex: Int, endpoint: EndpointTarget?, recipient: Participant?,
        message: Message?
    ) {
        self.delivery = delivery
        self.event = event
        self.attemptNumber = attemptNumber
        self.scheduleIndex = scheduleIndex
        self.endpoint = endpoint
        self.recipient = recipient
        self.message = message
    }

    /// Deliveries sharing a key share a concurrency limit: one per endpoint (its id), and
    /// ``smtpConcurrencyKey`` for e-mail, which shares the SMTP server.
    public var concurrencyKey: String { delivery.endpointId ?? Self.smtpConcurrencyKey }
    public static let smtpConcurrencyKey = "smtp"
}

/// A webhook endpoint as the sender needs it.
public struct EndpointTarget: Sendable {
    public var url: String
    /// Every secret that signs now: the current one first, then one still inside its overlap.
    public var secrets: [String]
    public var includeText: Bool
    /// Whether the endpoint, as it is now, still subscribes to the event (its roles or events
    /// may have changed since the delivery was queued).
    public var subscribed: Bool

    public init(url: String, secrets: [String], includeText: Bool, subscribed: Bool) {
        self.url = url
        self.secrets = secrets
        self.includeText = includeText
        self.subscribed = subscribed
    }
}

/// One attempt's outcome, for ``Store/recordAttempts(_:)``.
public struct AttemptRecord: Sendable {
    public enum Verdict: Sendable, Equatable {
        case delivered
        /// Failed; try again at this time.
        case retry(atMillis: UInt64)
        /// Failed for good.
        case dead

        /// The delivery's status once the attempt is recorded.
        public var status: Delivery.Status {
            switch self {
            case .delivered: .delivered
            case .retry: .failed
            case .dead: .dead
            }
        }
    }

    public var deliveryId: String
    public var caseId: String
    public var attempt: Delivery.Attempt
    public var verdict: Verdict
    /// Disable the endpoint at once, for this reason (the receiver answered 410 Gone).
    public var disableEndpoint: String?
    /// Disable an endpoint that has not succeeded for this long.
    public var disableFailingAfterMillis: UInt64

    public init(
        deliveryId: String, caseId: String, attempt: Delivery.Attempt, verdict: Verdict, disableEndpoint: String? = nil,
        disableFailingAfterMillis: UInt64
    ) {
        self.deliveryId = deliveryId
        self.caseId = caseId
        self.attempt = attempt
        self.verdict = verdict
        self.disableEndpoint = disableEndpoint
        self.disableFailingAfterMillis = disableFailingAfterMillis
    }
}

/// An attempt ``Store/recordAttempts(_:)`` did not record, and why.
public struct UnrecordedAttempt: Sendable {
    public var deliveryId: String
    public var error: any Error

    public init(deliveryId: String, error: any Error) {
        self.deliveryId = deliveryId
        self.error = error
    }
}

extension Store {
    /// Records one attempt; throws why it could not.
    public func recordAttempt(_ record: AttemptRecord) async throws {
        if let unrecorded = await recordAttempts([record]).first { throw unrecorded.error }
    }
}
