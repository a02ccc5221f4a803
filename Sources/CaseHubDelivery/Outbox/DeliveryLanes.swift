import CaseHubStore
import DequeModule

/// The worker's deliveries per concurrency key (an endpoint, or the SMTP server), from claim
/// to record: leased and waiting for a transfer slot, being sent, and sent but not yet recorded.
///
/// A fast lane keeps rounds of transfers waiting beside those being sent (up to
/// ``maxWaitingRounds``), so a slot that frees is taken at once: the store's claims and
/// records overlap the transfers instead of standing between them. A slow lane keeps only what
/// it can send within ``maxWait``. The transfer limits are unchanged by this; only rows the
/// worker holds grow, and they are bounded too (``holdFactor``).
struct DeliveryLanes {
    struct Limits {
        var perEndpoint: Int
        var smtp: Int
        /// Transfers at once in all.
        var inFlight: Int

        func transfers(_ key: String) -> Int { key == ClaimedDelivery.smtpConcurrencyKey ? smtp : perEndpoint }
    }

    /// A lane holds at most this many times its transfer limit (waiting, sending and being
    /// recorded), and all lanes together this many times the overall limit: when the store
    /// falls behind, claiming stops instead of memory growing.
    static let holdFactor = 16
    /// Rounds of transfers a fast lane keeps waiting: enough to bridge a claim that waits
    /// behind a large group of records in the store.
    static let maxWaitingRounds = 8

    private struct Waiting {
        var delivery: PreparedDelivery
        var since: ContinuousClock.Instant
    }

    private struct Lane {
        var waiting: Deque<Waiting> = []
        var sending = 0
        var recording = 0
        /// How long the lane's transfers take, on a moving average (nil until one ends).
        var typicalTransfer: Duration?
        var held: Int { waiting.count + sending + recording }

        /// Moves up to `count` waiting rows, oldest first, into transfer slots.
        mutating func startWaiting(upTo count: Int) -> [PreparedDelivery] {
            var started: [PreparedDelivery] = []
            while started.count < count, let next = waiting.popFirst() {
                started.append(next.delivery)
            }
            sending += started.count
            return started
        }
    }

    let limits: Limits
    /// A row waiting longer than this is given back rather than sent: what was read and
    /// rendered with it (the endpoint's URL, secrets and subscriptions, the signature's
    /// timestamp) may be out of date.
    let maxWait: Duration
    private var lanes: [String: Lane] = [:]
    private var sendingTotal = 0

    init(limits: Limits, maxWait: Duration) {
        self.limits = limits
        self.maxWait = maxWait
    }

    /// Changes `key`'s lane where it is stored, and forgets the lane once it holds nothing.
    /// (A lane taken out as a copy and put back would copy all its waiting rows on each change.)
    private mutating func changeLane<Outcome>(_ key: String, _ change: (inout Lane) -> Outcome) -> Outcome? {
        guard let index = lanes.index(forKey: key) else { return nil }
        let outcome = change(&lanes.values[index])
        if lanes.values[index].held == 0 { lanes.remove(at: index) }
        return outcome
    }

    /// How many rows each key may take in the next claim: enough to fill its transfer slots
    /// and the rounds it keeps waiting, once there is room for a round at least. Keys without
    /// a lane take `otherTargets` each: a round and its slots when `newTargets` (the outbox has
    /// news, or it is time to look), else none.
    func claimRoom(newTargets: Bool) -> (perKey: [String: Int], otherTargets: Int, total: Int) {
        var perKey: [String: Int] = [:]
        var held = 0
        for (key, lane) in lanes {
            let limit = limits.transfers(key)
            let wanted = (1 + waitingRounds(lane)) * limit
            let room = min(wanted - lane.waiting.count - lane.sending, Self.holdFactor * limit - lane.held)
            // A round at a time: a claim per freed slot would cost the store a transaction per row.
            perKey[key] = room >= limit ? room : 0
            held += lane.held
        }
        let smtp = ClaimedDelivery.smtpConcurrencyKey
        perKey[smtp] = perKey[smtp] ?? (newTargets ? 2 * limits.smtp : 0)
        return (perKey, newTargets ? 2 * limits.perEndpoint : 0, max(0, Self.holdFactor * limits.inFlight - held))
    }

    /// Rounds the lane keeps waiting: as many as it sends in half of ``maxWait``, at least one.
    private func waitingRounds(_ lane: Lane) -> Int {
        guard let typical = lane.typicalTransfer, typical > .zero else { return 1 }
        return max(1, min(Self.maxWaitingRounds, Int(maxWait / (typical * 2))))
    }

    /// Adds claimed rows; returns those to send now (each in a slot of its own).
    mutating func admit(_ claimed: [PreparedDelivery], at now: ContinuousClock.Instant) -> [PreparedDelivery] {
        for delivery in claimed {
            lanes[delivery.key, default: Lane()].waiting.append(Waiting(delivery: delivery, since: now))
        }
        var start: [PreparedDelivery] = []
        // Walks by index (not `lanes.indices`, which holds a second reference to the storage)
        // so that each lane changes where it is stored.
        var index = lanes.startIndex
        while index != lanes.endIndex {
            let room = min(limits.inFlight - sendingTotal, limits.transfers(lanes.keys[index]) - lanes.values[index].sending)
            let started = lanes.values[index].startWaiting(upTo: room)
            start += started
            sendingTotal += started.count
            lanes.formIndex(after: &index)
        }
        return start
    }

    /// A transfer of `key` ended after `took` and its attempt goes to be recorded. Returns the
    /// next row the freed slot sends (nil: the slot is given up), and waiting rows too old to send.
    mutating func sent(
        _ key: String, took: Duration, takeNext: Bool, at now: ContinuousClock.Instant
    ) -> (next: PreparedDelivery?, stale: [PreparedDelivery]) {
        let maxWait = maxWait  // the closure may not read `self` while `changeLane` changes it
        let outcome = changeLane(key) { lane -> (next: PreparedDelivery?, stale: [PreparedDelivery]) in
            lane.recording += 1
            lane.typicalTransfer = lane.typicalTransfer.map { ($0 * 7 + took) / 8 } ?? took
            var stale: [PreparedDelivery] = []
            while takeNext, let waiting = lane.waiting.popFirst() {
                guard now - waiting.since > maxWait else { return (waiting.delivery, stale) }
                stale.append(waiting.delivery)
            }
            lane.sending -= 1
            return (nil, stale)
        }
        guard let outcome else { return (nil, []) }
        if outcome.next == nil { sendingTotal -= 1 }
        return outcome
    }

    /// Attempts of these keys are recorded (or given up on).
    mutating func recorded(_ keys: [String]) {
        for key in keys {
            changeLane(key) { $0.recording -= 1 }
        }
    }

    /// Takes the rows waiting in `key`'s lane, or in every lane.
    mutating func dropWaiting(_ key: String? = nil) -> [PreparedDelivery] {
        var dropped: [PreparedDelivery] = []
        for name in key.map({ [$0] }) ?? Array(lanes.keys) {
            changeLane(name) { lane in
                dropped += lane.waiting.map(\.delivery)
                lane.waiting.removeAll()
            }
        }
        return dropped
    }
}

/// A claimed delivery and what it sends, rendered before it takes a transfer slot so that a
/// slot is held for the transfer alone.
struct PreparedDelivery: Sendable {
    var claimed: ClaimedDelivery
    /// The transfer, or why there is nothing to send (the attempt is then dead at once).
    var request: Result<TransferRequest, any Error>
    var key: String { claimed.concurrencyKey }
}
