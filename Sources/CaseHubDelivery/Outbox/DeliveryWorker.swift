import CaseHubCore
import CaseHubStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends what the outbox holds: claims due deliveries, renders and sends each through
/// libcurl, and records every attempt (the row's new state and a `delivery.*` log entry under
/// the causing event) in one store transaction.
///
/// Limits keep one receiver from holding up the others: at most
/// ``DeliverySettings/perEndpointConcurrency`` transfers per endpoint and
/// ``DeliverySettings/smtpConcurrency`` to the SMTP server. Claims, transfers and records run
/// as a pipeline (``DeliveryLanes``, ``AttemptRecorder``): a slot freed by one transfer takes
/// the next claimed row at once, while attempts are written in batches behind.
/// Claims are leases: a row whose worker died is sent again (with the same `webhook-id`) once
/// its lease runs out, and at start, since nothing can be in flight then, every lease is freed.
public final class DeliveryWorker: Service {
    private let store: any Store
    private let engine: CurlEngine
    private let composer: EmailComposer
    private let settings: DeliverySettings
    private let judgement: AttemptJudgement
    private let attemptCounters = AttemptCounters()
    private let logger: Logger
    private let lanes: Mutex<DeliveryLanes>
    private let recorder: AttemptRecorder
    /// Rung when deliveries are queued, a lane has room again, or the worker stops.
    private let wake = Doorbell()
    private let stopping = Atomic(false)
    /// Set when new rows were queued: they may be for targets the worker holds nothing of.
    private let outboxNews = Atomic(true)

    /// Whether the engine is this worker's own, to stop when it stops.
    private let ownsEngine: Bool

    /// - Parameter engine: an engine to share; by default the worker makes its own and stops
    ///   it when it stops.
    public init(store: any Store, engine: CurlEngine? = nil, composer: EmailComposer, settings: DeliverySettings, logger: Logger) {
        self.store = store
        self.engine = engine ?? CurlEngine()
        self.ownsEngine = engine == nil
        self.composer = composer
        self.settings = settings
        self.judgement = AttemptJudgement(schedule: settings.retrySchedule)
        self.logger = logger
        let limits = DeliveryLanes.Limits(
            perEndpoint: settings.perEndpointConcurrency, smtp: settings.smtpConcurrency, inFlight: settings.maxInFlight)
        self.lanes = Mutex(DeliveryLanes(limits: limits, maxWait: settings.maxClaimWait))
        self.recorder = AttemptRecorder(store: store, logger: logger)
    }

    public func run() async throws {
        try await store.releaseDeliveryClaims()
        if let reason = settings.emailWaitingReason { logger.warning("e-mail deliveries wait: \(reason)") }
        // Not a child task: attempts already sent are written even when the worker is cancelled.
        let recording = Task {
            await recorder.run { keys in
                self.lanes.withLock { $0.recorded(keys) }
                self.wake.ring()
            }
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { outer in
                outer.addTask { [store, wake, self] in
                    // Forwards the store's "queued" signal until the worker stops.
                    while !Task.isCancelled {
                        await store.deliveriesQueued()
                        self.outboxNews.store(true, ordering: .relaxed)
                        wake.ring()
                    }
                }
                await withDiscardingTaskGroup { senders in
                    var lastLook = ContinuousClock.now
                    while !stopping.load(ordering: .relaxed), !Task.isCancelled {
                        // Every target is looked at on news and at each poll interval (retries
                        // fall due); in between, only lanes with room for a round.
                        let everyTarget = outboxNews.exchange(false, ordering: .relaxed) || .now - lastLook >= settings.pollInterval
                        if everyTarget { lastLook = .now }
                        let claimed = await claimDue(everyTarget: everyTarget)
                        let prepared = claimed.map { one in PreparedDelivery(claimed: one, request: Result { try request(for: one) }) }
                        for delivery in lanes.withLock({ $0.admit(prepared, at: .now) }) {
                            senders.addTask { await self.send(from: delivery) }
                        }
                        if claimed.isEmpty { await wake.wait(atMost: settings.pollInterval) }
                    }
                    // Transfers under way finish (their timeouts bound them) before this returns.
                }
                outer.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.wake.ring()
        }
        await giveBack(lanes.withLock { $0.dropWaiting() })
        recorder.close()
        await recording.value
        if ownsEngine { engine.shutdown() }
        logger.info("delivery worker stopped")
    }

    private func claimDue(everyTarget: Bool) async -> [ClaimedDelivery] {
        let room = lanes.withLock { $0.claimRoom(newTargets: everyTarget) }
        guard room.total > 0, room.otherTargets > 0 || room.perKey.values.contains(where: { $0 > 0 }) else { return [] }
        var channels: Set<Delivery.Channel> = [.webhook]
        if settings.smtpURL != nil { channels.insert(.email) }
        do {
            let claim = DeliveryClaim(
                nowMillis: Timestamp.nowMillis(), limit: room.total, leaseMillis: leaseMillis, freeSlots: room.perKey,
                perTargetLimit: room.otherTargets, channels: channels)
            return try await store.claimDeliveries(claim)
        } catch {
            logger.error("could not claim deliveries: \(error)")
            return []
        }
    }

    private var leaseMillis: UInt64 {
        AttemptJudgement.milliseconds(max(settings.webhookTimeout, settings.smtpTimeout) * 2 + settings.maxClaimWait + .seconds(30))
    }

    /// One transfer slot of a lane, from the row it was given until nothing waits.
    private final class Slot: Sendable {
        let key: String
        /// The row being sent, and when its transfer started.
        let current: Mutex<(delivery: PreparedDelivery, startedAt: String)>
        let cancelled = Atomic(false)

        init(_ first: PreparedDelivery) {
            key = first.key
            current = Mutex((first, Timestamp.now()))
        }
    }

    /// Holds one transfer slot of a lane: sends `first`, then whatever waits in the lane, and
    /// hands each attempt to the recorder. The engine settles each transfer as it ends and
    /// starts the next at once, on its own thread.
    private func send(from first: PreparedDelivery) async {
        let slot = Slot(first)
        guard let request = request(for: first, in: slot) else { return }
        await withTaskCancellationHandler {
            _ = await engine.perform(request) { result in self.settle(slot, after: result) }
        } onCancel: {
            slot.cancelled.store(true, ordering: .relaxed)
        }
    }

    /// What the slot sends for `delivery`. A row with nothing to send is settled at once, and
    /// the lane's next row is sent instead.
    private func request(for delivery: PreparedDelivery, in slot: Slot) -> TransferRequest? {
        slot.current.withLock { $0 = (delivery, Timestamp.now()) }
        switch delivery.request {
        case .success(let request): return request
        case .failure(let error): return settle(slot, after: TransferResult(code: nil, error: "\(error)", duration: .zero))
        }
    }

    /// Judges the slot's current row by `result` and hands the attempt to the recorder;
    /// returns the transfer of the lane's next row, or nil when the slot is given up.
    private func settle(_ slot: Slot, after result: TransferResult) -> TransferRequest? {
        let (delivery, startedAt) = slot.current.withLock { $0 }
        let (record, decision) = judge(delivery, by: result, startedAt: startedAt)
        attemptCounters.count(delivery.claimed.delivery.channel, decision.verdict)
        let gone = decision.disableEndpoint != nil
        let goOn = !gone && !stopping.load(ordering: .relaxed) && !slot.cancelled.load(ordering: .relaxed)
        let (following, stale) = lanes.withLock { $0.sent(slot.key, took: result.duration, takeNext: goOn, at: .now) }
        recorder.submit(record, key: slot.key)
        // Gone: what waits for the endpoint goes back to the outbox, to wait there while the
        // endpoint is disabled.
        let dropped = gone ? lanes.withLock { $0.dropWaiting(slot.key) } : []
        if !stale.isEmpty || !dropped.isEmpty { Task { await self.giveBack(stale + dropped) } }
        wake.ring()
        return following.flatMap { request(for: $0, in: slot) }
    }

    /// Frees the leases of rows the worker holds but will not send now.
    private func giveBack(_ rows: [PreparedDelivery]) async {
        guard !rows.isEmpty else { return }
        do {
            try await store.releaseDeliveryClaims(ids: rows.map(\.claimed.delivery.id))
        } catch {
            logger.error("could not give back claimed deliveries (their leases run out): \(error)")
        }
    }

    /// The attempt `result` makes of `prepared`, and what follows from it.
    private func judge(
        _ prepared: PreparedDelivery, by result: TransferResult, startedAt: String
    ) -> (AttemptRecord, AttemptJudgement.Decision) {
        let claimed = prepared.claimed
        let decision: AttemptJudgement.Decision
        switch prepared.request {
        case .success:
            decision = judgement.judge(
                result, channel: claimed.delivery.channel, scheduleIndex: claimed.scheduleIndex, nowMillis: Timestamp.nowMillis())
        case .failure:
            // Nothing to send (the recipient has no address, the endpoint is gone): trying
            // again would not help.
            decision = AttemptJudgement.Decision(verdict: .dead)
        }
        let attempt = Delivery.Attempt(
            at: startedAt, code: result.code, error: result.error, durationMillis: Int(AttemptJudgement.milliseconds(result.duration)),
            response: result.body.isEmpty ? nil : String(decoding: result.body, as: UTF8.self))
        let record = AttemptRecord(
            deliveryId: claimed.delivery.id, caseId: claimed.delivery.caseId, attempt: attempt, verdict: decision.verdict,
            disableEndpoint: decision.disableEndpoint,
            disableFailingAfterMillis: AttemptJudgement.milliseconds(settings.disableFailingEndpointAfter))
        return (record, decision)
    }

    private func request(for claimed: ClaimedDelivery) throws -> TransferRequest {
        switch claimed.delivery.channel {
        case .webhook:
            guard let endpoint = claimed.endpoint else { throw CompositionError("the endpoint is gone") }
            guard endpoint.subscribed else {
                throw CompositionError("the endpoint no longer subscribes to \(claimed.event.type) events of this thread")
            }
            let body = WebhookPayload.body(for: claimed, includeText: endpoint.includeText)
            let headers = ["Content-Type: application/json", "User-Agent: CaseHub"]
                + WebhookSignature.headers(
                    id: claimed.delivery.eventId, timestamp: Int(Date().timeIntervalSince1970), body: body, secrets: endpoint.secrets)
            return TransferRequest(
                url: endpoint.url, payload: .httpPost(headers: headers, body: body), connectTimeout: settings.connectTimeout,
                totalTimeout: settings.webhookTimeout, allowPrivateAddresses: settings.allowPrivateNetworks)
        case .email:
            guard let smtpURL = settings.smtpURL else { throw CompositionError("no SMTP server is configured") }
            let mail = try composer.compose(claimed)
            return TransferRequest(
                url: smtpURL, payload: .smtp(from: settings.smtpFrom, recipients: [mail.to.address], message: mail.rendered()),
                connectTimeout: settings.connectTimeout, totalTimeout: settings.smtpTimeout, allowPrivateAddresses: true)
        }
    }
}
