import CaseHubCore
import CaseHubStore
import Testing

@testable import CaseHubDelivery

/// How the worker's lanes hand out transfer slots and size its claims.
@Suite struct DeliveryLanesTests {
    static let limits = DeliveryLanes.Limits(perEndpoint: 2, smtp: 1, inFlight: 3)

    static func row(_ number: Int, endpoint: String? = "ep-a") -> PreparedDelivery {
        let delivery = Delivery(
            id: "dlv-\(number)", eventId: "evt-\(number)", eventType: "message.posted", caseId: "case-1", eventSeq: number, thread: .ppa,
            channel: endpoint == nil ? .email : .webhook, target: "http://127.0.0.1/hook", endpointId: endpoint, participantId: nil,
            status: .pending, attempts: [], nextAttemptAt: nil, createdAt: "2026-11-23T00:00:00.000Z")
        let event = LogEntry(
            caseId: "case-1", seq: number, at: "2026-11-23T00:00:00.000Z", type: "message.posted", thread: .ppa, parentSeq: nil,
            actor: .null, data: [:], content: nil, hash: "", prevHash: "")
        let claimed = ClaimedDelivery(
            delivery: delivery, event: event, attemptNumber: 1, scheduleIndex: 0, endpoint: nil, recipient: nil, message: nil)
        return PreparedDelivery(claimed: claimed, request: .failure(CompositionError("not sent in this test")))
    }

    static func ids(_ rows: [PreparedDelivery]) -> [String] { rows.map(\.claimed.delivery.id) }

    @Test func slotsKeepToEachLanesLimitAndTheOverallOne() {
        var lanes = DeliveryLanes(limits: Self.limits, maxWait: .seconds(1))
        let now = ContinuousClock.now
        // ep-a takes its two slots; ep-b gets the one left of the three in all.
        #expect(Self.ids(lanes.admit((1...4).map { Self.row($0) }, at: now)) == ["dlv-1", "dlv-2"])
        #expect(Self.ids(lanes.admit([Self.row(5, endpoint: "ep-b"), Self.row(6, endpoint: "ep-b")], at: now)) == ["dlv-5"])
        #expect(lanes.admit([], at: now).isEmpty)
        // A freed slot takes its lane's next row, oldest first.
        let (next, stale) = lanes.sent("ep-a", took: .milliseconds(1), takeNext: true, at: now)
        #expect(next?.claimed.delivery.id == "dlv-3" && stale.isEmpty)
        // Given up, the slot goes to a waiting row (the overall limit lets one more start).
        _ = lanes.sent("ep-a", took: .milliseconds(1), takeNext: false, at: now)
        let restarted = Self.ids(lanes.admit([], at: now))
        #expect(restarted == ["dlv-4"] || restarted == ["dlv-6"])
        #expect(lanes.admit([], at: now).isEmpty)
    }

    @Test func aSlotGivesBackRowsThatWaitedTooLongAndIsGivenUpWhenNothingWaits() {
        var lanes = DeliveryLanes(limits: Self.limits, maxWait: .seconds(1))
        let then = ContinuousClock.now
        _ = lanes.admit((1...4).map { Self.row($0) }, at: then)
        let (next, stale) = lanes.sent("ep-a", took: .milliseconds(1), takeNext: true, at: then + .seconds(2))
        #expect(next == nil)
        #expect(Self.ids(stale) == ["dlv-3", "dlv-4"])
        // The slot was given up: a new row starts at once in it.
        #expect(Self.ids(lanes.admit([Self.row(7)], at: then + .seconds(2))) == ["dlv-7"])
    }

    @Test func aFastLaneKeepsMoreRoundsWaitingThanASlowOne() {
        var lanes = DeliveryLanes(limits: DeliveryLanes.Limits(perEndpoint: 4, smtp: 1, inFlight: 100), maxWait: .seconds(1))
        let now = ContinuousClock.now
        // A target without a lane: the slots and one round, only when every target is looked at.
        #expect(lanes.claimRoom(newTargets: true).otherTargets == 8)
        #expect(lanes.claimRoom(newTargets: false).otherTargets == 0)
        _ = lanes.admit([Self.row(1), Self.row(2, endpoint: "ep-slow")], at: now)
        _ = lanes.sent("ep-a", took: .microseconds(300), takeNext: true, at: now)
        _ = lanes.sent("ep-slow", took: .milliseconds(400), takeNext: true, at: now)
        let room = lanes.claimRoom(newTargets: false).perKey
        #expect(room["ep-a"] == (1 + DeliveryLanes.maxWaitingRounds) * 4)
        #expect(room["ep-slow"] == 8, "400 ms transfers: one round waiting, not more")
    }

    @Test func aLaneClaimsARoundAtATimeNotARowPerFreedSlot() {
        var lanes = DeliveryLanes(limits: DeliveryLanes.Limits(perEndpoint: 4, smtp: 1, inFlight: 100), maxWait: .seconds(1))
        let now = ContinuousClock.now
        _ = lanes.admit((1...8).map { Self.row($0) }, at: now)
        _ = lanes.sent("ep-a", took: .milliseconds(400), takeNext: true, at: now)
        // Four sending, three waiting: room for one row, less than a round.
        #expect(lanes.claimRoom(newTargets: false).perKey["ep-a"] == 0)
        for _ in 0..<3 { _ = lanes.sent("ep-a", took: .milliseconds(400), takeNext: true, at: now) }
        #expect(lanes.claimRoom(newTargets: false).perKey["ep-a"] == 4)
    }

    @Test func rowsBeingRecordedCountAgainstTheHoldLimit() {
        var lanes = DeliveryLanes(limits: DeliveryLanes.Limits(perEndpoint: 1, smtp: 1, inFlight: 100), maxWait: .seconds(1))
        let now = ContinuousClock.now
        var number = 0
        // Send and leave unrecorded as many as a lane may hold.
        for _ in 0..<DeliveryLanes.holdFactor {
            number += 1
            _ = lanes.admit([Self.row(number)], at: now)
            _ = lanes.sent("ep-a", took: .microseconds(100), takeNext: false, at: now)
        }
        #expect(lanes.claimRoom(newTargets: false).perKey["ep-a"] == 0)
        lanes.recorded(["ep-a", "ep-a"])
        #expect(lanes.claimRoom(newTargets: false).perKey["ep-a"] == 2)
    }

    @Test func droppingALanesWaitingRowsLeavesTheOthers() {
        var lanes = DeliveryLanes(limits: DeliveryLanes.Limits(perEndpoint: 2, smtp: 1, inFlight: 100), maxWait: .seconds(1))
        let now = ContinuousClock.now
        _ = lanes.admit((1...3).map { Self.row($0) } + (4...6).map { Self.row($0, endpoint: "ep-b") }, at: now)
        #expect(Self.ids(lanes.dropWaiting("ep-a")) == ["dlv-3"])
        #expect(Self.ids(lanes.dropWaiting()) == ["dlv-6"])
    }

    @Test func aLaneThatHoldsNothingMoreIsForgotten() {
        var lanes = DeliveryLanes(limits: Self.limits, maxWait: .seconds(1))
        let now = ContinuousClock.now
        _ = lanes.admit([Self.row(1)], at: now)
        _ = lanes.sent("ep-a", took: .milliseconds(1), takeNext: true, at: now)
        #expect(lanes.claimRoom(newTargets: false).perKey["ep-a"] != nil, "the lane holds an attempt being recorded")
        lanes.recorded(["ep-a"])
        // Sent and recorded: the lane is gone, and the endpoint claims as a new target again.
        #expect(lanes.claimRoom(newTargets: false).perKey["ep-a"] == nil)
    }
}
