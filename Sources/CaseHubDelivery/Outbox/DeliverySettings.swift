/// How the delivery worker sends: the parts of the hub's configuration it needs, and its limits.
public struct DeliverySettings: Sendable {
    public var retrySchedule: [Duration]
    /// Lets webhooks reach loopback and private networks (`CASEHUB_WEBHOOK_ALLOW_PRIVATE`).
    public var allowPrivateNetworks: Bool
    /// `smtp://host:port` or `smtps://host:port`; nil means e-mail waits.
    public var smtpURL: String?
    public var smtpFrom: String
    /// Transfers at once to one webhook endpoint, so one slow receiver cannot hold up the others.
    public var perEndpointConcurrency = 16
    /// Connections at once to the SMTP server.
    public var smtpConcurrency = 8
    /// Transfers at once in all: room for many endpoints hanging until their timeout at once
    /// without holding up the rest.
    public var maxInFlight = 1024
    public var connectTimeout: Duration = .seconds(5)
    public var webhookTimeout: Duration = .seconds(15)
    public var smtpTimeout: Duration = .seconds(30)
    /// An endpoint failing without a success for this long is disabled.
    public var disableFailingEndpointAfter: Duration = .seconds(5 * 86_400)
    /// How long a claimed row may wait for a transfer slot before it is given back to the
    /// outbox, to be read afresh (its endpoint may have changed meanwhile).
    public var maxClaimWait: Duration = .seconds(1)
    /// How often to look for due deliveries when nothing wakes the worker.
    public var pollInterval: Duration = .milliseconds(250)

    public init(retrySchedule: [Duration], allowPrivateNetworks: Bool, smtpURL: String?, smtpFrom: String) {
        self.retrySchedule = retrySchedule
        self.allowPrivateNetworks = allowPrivateNetworks
        self.smtpURL = smtpURL
        self.smtpFrom = smtpFrom
    }

    /// Why e-mail deliveries are not being sent, when they are not.
    public var emailWaitingReason: String? {
        smtpURL == nil ? "no SMTP server is configured (CASEHUB_SMTP_URL)" : nil
    }
}
