import CaseHubStore

/// The worker's deliveries per concurrency key (an endpoint, or the SMTP server), from claim
/// to record: leased and waiting for a transfer slot, being sent, and sent but not yet recorded.
///
/// A lane keeps a few rounds of transfers waiting (``waitingRounds``) beside those being
/// sent, so a slot that frees is taken at once: the store's claims and records overlap the
/// transfers instead of standing between them. The transfer limits are unchanged by this;
/// only rows the worker holds grow, and they are bounded too (``holdFactor``).
struct DeliveryLanes {
    struct Limits {
        var perEndpoint: Int
        var smtp: Int
        /// Transfers at once in all.
        var inFlight: Int

        func transfers(_ key: String) -> Int { key == ClaimedDelivery.smtpConcurrencyKey ? smtp : perEndpoint }
    }

    /// A lane holds at most this many times its transfer limit (waiting, sending and being
    /// recorded): when the store falls behind, claiming stops instead of memory growing.
    static let holdFactor = 8
    /// Rows a lane keeps waiting, in multiples of its transfer limit: enough to bridge a claim
    /// that waits behind a large group of records in the store.
    static let waitingRounds = 4

    private struct Waiting {
        var claimed: ClaimedDelivery
        var since: ContinuousClock.Instant
    }

    private struct Lane {
        var waiting: [Waiting] = []
        var sending = 0
        var recording = 0
        var held: Int { waiting.count + sending + recording }
    }

    let limits: Limits
    /// A row waiting longer than this is given back rather than sent: what was read with it
    /// (the endpoint's URL, secrets and subscriptions) may have changed meanwhile.
    let maxWait: Duration
    private var lanes: [String: Lane] = [:]
    private var sendingTotal = 0

    init(limits: Limits, maxWait: Duration) {
        self.limits = limits
        self.maxWait = maxWait
    }

    /// How many rows each key may take in the next claim: enough to fill its transfer slots
    /// and the rounds waiting. A key not listed may take ``freshLaneRoom``.
    func claimRoom() -> (perKey: [String: Int], total: Int) {
        var perKey: [String: Int] = [:]
        var held = 0
        for (key, lane) in lanes {
            let limit = limits.transfers(key)
            perKey[key] = max(0, min(room(limit) - lane.waiting.count - lane.sending, Self.holdFactor * limit - lane.held))
            held += lane.held
        }
        perKey[ClaimedDelivery.smtpConcurrencyKey] = perKey[ClaimedDelivery.smtpConcurrencyKey] ?? room(limits.smtp)
        return (perKey, max(0, Self.holdFactor * limits.inFlight - held))
    }

    var freshLaneRoom: Int { room(limits.perEndpoint) }

    /// Rows a lane of this transfer limit takes while none are held: its slots, and the rounds waiting.
    private func room(_ limit: Int) -> Int { (1 + Self.waitingRounds) * limit }

    /// Adds claimed rows; returns those to send now (each in a slot of its own).
    mutating func admit(_ claimed: [ClaimedDelivery], at now: ContinuousClock.Instant) -> [ClaimedDelivery] {
        for delivery in claimed {
            lanes[delivery.concurrencyKey, default: Lane()].waiting.append(Waiting(claimed: delivery, since: now))
        }
        var start: [ClaimedDelivery] = []
        for (key, var lane) in lanes where !lane.waiting.isEmpty {
            while sendingTotal < limits.inFlight, lane.sending < limits.transfers(key), !lane.waiting.isEmpty {
                start.append(lane.waiting.removeFirst().claimed)
                lane.sending += 1
                sendingTotal += 1
            }
            lanes[key] = lane
        }
        return start
    }

    /// A transfer of `key` ended and its attempt goes to be recorded. Returns the next row
    /// the freed slot sends (nil: the slot is given up), and waiting rows too old to send.
    mutating func sent(_ key: String, takeNext: Bool, at now: ContinuousClock.Instant) -> (next: ClaimedDelivery?, stale: [ClaimedDelivery]) {
        guard var lane = lanes[key] else { return (nil, []) }
        lane.recording += 1
        var stale: [ClaimedDelivery] = []
        var next: ClaimedDelivery?
        while takeNext, next == nil, !lane.waiting.isEmpty {
            let waiting = lane.waiting.removeFirst()
            if now - waiting.since > maxWait { stale.append(waiting.claimed) } else { next = waiting.claimed }
        }
        if next == nil {
            lane.sending -= 1
            sendingTotal -= 1
        }
        lanes[key] = lane
        return (next, stale)
    }

    /// Attempts of these keys are recorded (or given up on).
    mutating func recorded(_ keys: [String]) {
        for key in keys {
            guard var lane = lanes[key] else { continue }
            lane.recording -= 1
            lanes[key] = lane.held == 0 ? nil : lane
        }
    }

    /// Takes the rows waiting in `key`'s lane, or in every lane.
    mutating func dropWaiting(_ key: String? = nil) -> [ClaimedDelivery] {
        var dropped: [ClaimedDelivery] = []
        for name in key.map({ [$0] }) ?? Array(lanes.keys) {
            guard var lane = lanes[name] else { continue }
            dropped += lane.waiting.map(\.claimed)
            lane.waiting.removeAll()
            lanes[name] = lane.held == 0 ? nil : lane
        }
        return dropped
    }
}
