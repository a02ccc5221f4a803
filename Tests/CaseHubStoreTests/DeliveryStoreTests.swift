import CaseHubCore
import CaseHubStore
import Testing

/// The outbox contract every store keeps: deliveries queued with their event, leased claims,
/// per-target limits, attempts recorded with their log entries.
@Suite struct DeliveryStoreTests {
    static func claim(
        _ store: any Store, now: UInt64 = Timestamp.nowMillis(), limit: Int = 50, freeSlots: [String: Int] = [:], perTarget: Int = 8,
        channels: Set<Delivery.Channel> = [.webhook, .email]
    ) async throws -> [ClaimedDelivery] {
        try await store.claimDeliveries(
            DeliveryClaim(nowMillis: now, limit: limit, leaseMillis: 60_000, freeSlots: freeSlots, perTargetLimit: perTarget, channels: channels))
    }

    static func endpoint(_ store: any Store, roles: [Role] = [.ppa], events: [String] = ["*"]) async throws -> WebhookEndpoint {
        try await store.createEndpoint(
            NewEndpoint(url: "https://ppa.rs.example/hook", description: "", events: events, roles: roles, includeText: false),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    }

    @Test(arguments: StoreBackend.all)
    func aPostQueuesItsDeliveriesAndANotificationEntryInOneTransaction(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let ppa = try await Self.endpoint(store, roles: [.ppa])
            _ = try await Self.endpoint(store, roles: [.payer])
            let message = try await Sample.post(store, caseValue.id, "Mohon evaluasi ulang")
            let deliveries = try await store.deliveries(DeliveryQuery(caseId: caseValue.id))
            #expect(deliveries.map(\.endpointId) == [ppa.id])
            let delivery = try #require(deliveries.first)
            #expect(delivery.status == .pending && delivery.eventSeq == message.seq && delivery.thread == .ppa)
            let log = try await store.logEntries(caseId: caseValue.id, after: 0, limit: 50, threads: Set(ThreadName.allCases)).entries
            let queued = try #require(log.first { $0.type == "notification.queued" })
            #expect(queued.parentSeq == message.seq)
            #expect(queued.data["deliveries"] == .array([.object(["channel": "webhook", "id": .string(delivery.id), "target": .string(ppa.url)])]))
        }
    }

    @Test(arguments: StoreBackend.all)
    func aClaimLeasesRowsSoASecondClaimGetsNoneUntilTheLeaseRunsOut(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            _ = try await Self.endpoint(store)
            try await Sample.post(store, caseValue.id, "satu")
            let now = Timestamp.nowMillis()
            let first = try await Self.claim(store, now: now)
            #expect(first.count == 1 && first[0].attemptNumber == 1 && first[0].scheduleIndex == 0)
            #expect(try await Self.claim(store, now: now).isEmpty)
            #expect(try await Self.claim(store, now: now + 61_000).count == 1)
            try await store.releaseDeliveryClaims()
            #expect(try await Self.claim(store, now: now).count == 1)
        }
    }

    @Test(arguments: StoreBackend.all)
    func claimsKeepToEachTargetsFreeSlotsAndTheChannelsAsked(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let busy = try await Self.endpoint(store)
            for index in 0..<5 { try await Sample.post(store, caseValue.id, "pesan \(index)") }
            #expect(try await Self.claim(store, freeSlots: [busy.id: 2]).count == 2)
            #expect(try await Self.claim(store, freeSlots: [busy.id: 0]).isEmpty)
            #expect(try await Self.claim(store, channels: [.email]).isEmpty)
            #expect(try await Self.claim(store, perTarget: 1).count == 1)
        }
    }

    @Test(arguments: StoreBackend.all)
    func deliveriesOfADisabledEndpointWaitUntilItIsEnabledAgain(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let endpoint = try await Self.endpoint(store)
            try await Sample.post(store, caseValue.id, "satu")
            _ = try await store.updateEndpoint(id: endpoint.id, EndpointChange(enabled: false))
            #expect(try await Self.claim(store).isEmpty)
            try await Sample.post(store, caseValue.id, "dua")
            #expect(try await store.deliveries(DeliveryQuery()).count == 1)
            _ = try await store.updateEndpoint(id: endpoint.id, EndpointChange(enabled: true))
            #expect(try await Self.claim(store).count == 1)
        }
    }

    @Test(arguments: StoreBackend.all)
    func attemptsAreRecordedOnTheRowAndInTheLogUnderTheEvent(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            _ = try await Self.endpoint(store)
            let message = try await Sample.post(store, caseValue.id, "satu")
            let queuedBy = Timestamp.nowMillis()
            var backlog = try await store.deliveryBacklog()
            #expect(backlog.map { [$0.channel.rawValue, $0.status.rawValue, "\($0.count)"] } == [["webhook", "pending", "1"]])
            #expect(backlog.first?.oldestDueMillis.map { $0 <= queuedBy } == true)
            let claimed = try #require(try await Self.claim(store).first)
            let retryAt = Timestamp.nowMillis() + 5000
            try await store.recordAttempt(
                AttemptRecord(
                    deliveryId: claimed.delivery.id, caseId: caseValue.id,
                    attempt: .init(at: Timestamp.now(), code: 500, error: nil, durationMillis: 12, response: "{\"error\":\"down\"}"),
                    verdict: .retry(atMillis: retryAt), disableFailingAfterMillis: 86_400_000))
            var delivery = try #require(try await store.delivery(id: claimed.delivery.id))
            #expect(delivery.status == .failed && delivery.attempts.map(\.code) == [500])
            #expect(delivery.attempts.first?.response == "{\"error\":\"down\"}")
            #expect(delivery.nextAttemptAt == Timestamp.format(millis: retryAt))
            backlog = try await store.deliveryBacklog()
            #expect(backlog == [DeliveryBacklog(channel: .webhook, status: .failed, count: 1, oldestDueMillis: retryAt)])
            // Not due yet; due at its time, as the second attempt.
            #expect(try await Self.claim(store).isEmpty)
            let second = try #require(try await Self.claim(store, now: retryAt).first)
            #expect(second.attemptNumber == 2 && second.scheduleIndex == 1)
            try await store.recordAttempt(
                AttemptRecord(
                    deliveryId: second.delivery.id, caseId: caseValue.id, attempt: .init(at: Timestamp.now(), code: 204, error: nil, durationMillis: 3, response: nil),
                    verdict: .delivered, disableFailingAfterMillis: 86_400_000))
            delivery = try #require(try await store.delivery(id: claimed.delivery.id))
            #expect(delivery.status == .delivered && delivery.nextAttemptAt == nil)
            #expect(try await store.deliveryBacklog().isEmpty, "delivered rows are not backlog")

            // A disabled endpoint's rows still count, but wait for nothing: no due time.
            let later = try await Sample.post(store, caseValue.id, "dua")
            #expect(later.seq > message.seq)
            let endpointId = try #require(delivery.endpointId)
            _ = try await store.updateEndpoint(id: endpointId, EndpointChange(enabled: false))
            #expect(try await store.deliveryBacklog() == [DeliveryBacklog(channel: .webhook, status: .pending, count: 1, oldestDueMillis: nil)])
            let log = try await store.logEntries(caseId: caseValue.id, after: 0, limit: 50, threads: Set(ThreadName.allCases)).entries
            let attempts = log.filter { $0.type.hasPrefix("delivery.") }
            #expect(attempts.map(\.type) == ["delivery.failed", "delivery.succeeded"])
            #expect(attempts.allSatisfy { $0.parentSeq == message.seq && $0.thread == .ppa })
            #expect(attempts.first?.data["code"] == 500)
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: log.count))
        }
    }

    @Test(arguments: StoreBackend.all)
    func attemptsRecordedTogetherEachGetTheirEntryAndARefusedOneSpoilsNoOther(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let first = try await Sample.openCase(store)
            let second = try await Sample.openCase(store, mrn: "RM-00124")
            _ = try await Self.endpoint(store)
            for caseValue in [first, first, second] { try await Sample.post(store, caseValue.id, "pesan") }
            let claimed = try await Self.claim(store)
            #expect(claimed.count == 3)
            let records = claimed.map { claim in
                AttemptRecord(
                    deliveryId: claim.delivery.id, caseId: claim.delivery.caseId,
                    attempt: .init(at: Timestamp.now(), code: 204, error: nil, durationMillis: 1, response: nil), verdict: .delivered,
                    disableFailingAfterMillis: 86_400_000)
            }
            let missing = AttemptRecord(
                deliveryId: "no-such-delivery", caseId: first.id,
                attempt: .init(at: Timestamp.now(), code: 204, error: nil, durationMillis: 1, response: nil), verdict: .delivered,
                disableFailingAfterMillis: 86_400_000)
            let unrecorded = await store.recordAttempts(records + [missing])
            #expect(unrecorded.map(\.deliveryId) == ["no-such-delivery"])
            #expect(try await store.deliveries(DeliveryQuery(status: .delivered)).count == 3)
            for caseValue in [first, second] {
                let log = try await store.logEntries(caseId: caseValue.id, after: 0, limit: 50, threads: Set(ThreadName.allCases)).entries
                #expect(log.filter { $0.type == "delivery.succeeded" }.count == (caseValue.id == first.id ? 2 : 1))
                #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: log.count))
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func claimsGivenBackAreClaimedAgainAtOnce(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            _ = try await Self.endpoint(store)
            for index in 0..<3 { try await Sample.post(store, caseValue.id, "pesan \(index)") }
            let now = Timestamp.nowMillis()
            let claimed = try await Self.claim(store, now: now)
            #expect(claimed.count == 3)
            #expect(try await Self.claim(store, now: now).isEmpty)
            try await store.releaseDeliveryClaims(ids: [claimed[0].delivery.id, claimed[2].delivery.id])
            let again = try await Self.claim(store, now: now)
            #expect(Set(again.map(\.delivery.id)) == [claimed[0].delivery.id, claimed[2].delivery.id])
        }
    }

    @Test(arguments: StoreBackend.all)
    func aRetryByHandRequeuesADeadDeliveryWithAFreshSchedule(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            _ = try await Self.endpoint(store)
            try await Sample.post(store, caseValue.id, "satu")
            let claimed = try #require(try await Self.claim(store).first)
            try await store.recordAttempt(
                AttemptRecord(
                    deliveryId: claimed.delivery.id, caseId: caseValue.id, attempt: .init(at: Timestamp.now(), code: 410, error: nil, durationMillis: 3, response: nil),
                    verdict: .dead, disableFailingAfterMillis: 86_400_000))
            #expect(try await Self.claim(store).isEmpty)
            let requeued = try await store.retryDelivery(id: claimed.delivery.id)
            // While an attempt is under way, a retry by hand would be overwritten by its outcome.
            _ = try #require(try await Self.claim(store).first)
            await #expect(throws: CaseHubError.conflict("the delivery is being sent now; retry it once this attempt is recorded")) {
                try await store.retryDelivery(id: claimed.delivery.id)
            }
            try await store.releaseDeliveryClaims()
            #expect(requeued.status == .failed && requeued.nextAttemptAt != nil && requeued.attempts.count == 1)
            let again = try #require(try await Self.claim(store).first)
            #expect(again.attemptNumber == 2 && again.scheduleIndex == 0)
            await #expect(throws: CaseHubError.self) { try await store.retryDelivery(id: "no-such-delivery") }
        }
    }

    @Test(arguments: StoreBackend.all)
    func aRotatedSecretSignsBesideTheNewOneUntilItsOverlapEnds(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let endpoint = try await Self.endpoint(store)
            let rotated = try await store.rotateEndpointSecret(id: endpoint.id, newSecret: "whsec_bmV3", overlapMillis: 3_600_000)
            #expect(rotated.previousSecretExpiresAt != nil)
            try await Sample.post(store, caseValue.id, "satu")
            let now = Timestamp.nowMillis()
            #expect(try await Self.claim(store, now: now).first?.endpoint?.secrets == ["whsec_bmV3", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
            try await store.releaseDeliveryClaims()
            #expect(try await Self.claim(store, now: now + 3_700_000).first?.endpoint?.secrets == ["whsec_bmV3"])
        }
    }
}
