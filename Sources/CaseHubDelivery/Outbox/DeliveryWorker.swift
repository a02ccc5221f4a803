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
/// ``DeliverySettings/smtpConcurrency`` to the SMTP server. Claims are leases: a row whose
/// worker died is sent again (with the same `webhook-id`) once its lease runs out, and at
/// start, since nothing can be in flight then, every lease is freed.
public final class DeliveryWorker: Service {
    private let store: any Store
    private let engine: CurlEngine
    private let composer: EmailComposer
    private let settings: DeliverySettings
    private let judgement: AttemptJudgement
    private let logger: Logger
    /// Transfers running, per concurrency key.
    private let inFlight = Mutex<[String: Int]>([:])
    /// Rung when deliveries are queued or a transfer ends.
    private let wake = Doorbell()
    private let stopping = Atomic(false)

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
    }

    public func run() async throws {
        try await store.releaseDeliveryClaims()
        if let reason = settings.emailWaitingReason { logger.warning("e-mail deliveries wait: \(reason)") }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { outer in
                outer.addTask { [store, wake] in
                    // Forwards the store's "queued" signal until the worker stops.
                    while !Task.isCancelled {
                        await store.deliveriesQueued()
                        wake.ring()
                    }
                }
                await withDiscardingTaskGroup { deliveries in
                    while !stopping.load(ordering: .relaxed), !Task.isCancelled {
                        let claimed = await claimDue()
                        for delivery in claimed {
                            deliveries.addTask { await self.deliver(delivery) }
                        }
                        if claimed.isEmpty { await waitForWork() }
                    }
                    // Transfers under way finish (their timeouts bound them) before this returns.
                }
                outer.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.wake.ring()
        }
        if ownsEngine { engine.shutdown() }
        logger.info("delivery worker stopped")
    }

    private func claimDue() async -> [ClaimedDelivery] {
        var (freeSlots, total) = inFlight.withLock { counts in
            (Dictionary(uniqueKeysWithValues: counts.map { ($0.key, limit(for: $0.key) - $0.value) }), counts.values.reduce(0, +))
        }
        freeSlots[ClaimedDelivery.smtpConcurrencyKey] = freeSlots[ClaimedDelivery.smtpConcurrencyKey] ?? settings.smtpConcurrency
        let room = settings.maxInFlight - total
        guard room > 0 else { return [] }
        var channels: Set<Delivery.Channel> = [.webhook]
        if settings.smtpURL != nil { channels.insert(.email) }
        do {
            let claim = DeliveryClaim(
                nowMillis: Timestamp.nowMillis(), limit: room, leaseMillis: leaseMillis, freeSlots: freeSlots,
                perTargetLimit: settings.perEndpointConcurrency, channels: channels)
            let claimed = try await store.claimDeliveries(claim)
            inFlight.withLock { counts in
                for delivery in claimed { counts[delivery.concurrencyKey, default: 0] += 1 }
            }
            return claimed
        } catch {
            logger.error("could not claim deliveries: \(error)")
            return []
        }
    }

    /// Free slots for the claim: SMTP has its own limit.
    private func limit(for key: String) -> Int {
        key == ClaimedDelivery.smtpConcurrencyKey ? settings.smtpConcurrency : settings.perEndpointConcurrency
    }

    private var leaseMillis: UInt64 {
        AttemptJudgement.milliseconds(max(settings.webhookTimeout, settings.smtpTimeout) * 2 + .seconds(30))
    }

    private func waitForWork() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wake.wait() }
            group.addTask { try? await Task.sleep(for: self.settings.pollInterval) }
            await group.next()
            group.cancelAll()
        }
    }

    /// One attempt: render, send, judge, record.
    func deliver(_ claimed: ClaimedDelivery) async {
        defer {
            inFlight.withLock { counts in
                counts[claimed.concurrencyKey, default: 1] -= 1
                if counts[claimed.concurrencyKey] == 0 { counts[claimed.concurrencyKey] = nil }
            }
            wake.ring()
        }
        let startedAt = Timestamp.now()
        let result: TransferResult
        let decision: AttemptJudgement.Decision
        do {
            result = await engine.perform(try request(for: claimed))
            decision = judgement.judge(
                result, channel: claimed.delivery.channel, scheduleIndex: claimed.scheduleIndex, nowMillis: Timestamp.nowMillis())
        } catch {
            // Nothing to send (the recipient has no address, the endpoint is gone): trying
            // again would not help.
            result = TransferResult(code: nil, error: "\(error)", duration: .zero)
            decision = AttemptJudgement.Decision(verdict: .dead)
        }
        let attempt = Delivery.Attempt(
            at: startedAt, code: result.code, error: result.error, durationMillis: Int(AttemptJudgement.milliseconds(result.duration)),
            response: result.body.isEmpty ? nil : String(decoding: result.body, as: UTF8.self))
        let record = AttemptRecord(
            deliveryId: claimed.delivery.id, caseId: claimed.delivery.caseId, attempt: attempt, verdict: decision.verdict,
            disableEndpoint: decision.disableEndpoint,
            disableFailingAfterMillis: AttemptJudgement.milliseconds(settings.disableFailingEndpointAfter))
        do {
            try await store.recordAttempt(record)
        } catch {
            // The lease runs out and the delivery is sent again: at least once, never lost.
            logger.error("could not record a delivery attempt", metadata: ["delivery": "\(claimed.delivery.id)", "error": "\(error)"])
        }
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
