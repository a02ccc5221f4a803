import CaseHubCore
import CaseHubStore
import Foundation
import Testing

@testable import CaseHubDelivery

@Suite struct AttemptJudgementTests {
    /// A judgement whose jitter is pinned to `random` (0 → -20 %, 0.5 → none, 1 → +20 %).
    func judgement(_ schedule: [Duration] = [.seconds(5), .seconds(300)], random: Double = 0.5) -> AttemptJudgement {
        var judgement = AttemptJudgement(schedule: schedule)
        judgement.random = { random }
        return judgement
    }

    func answer(_ code: Int?, error: String? = nil, retryAfter: String? = nil) -> TransferResult {
        TransferResult(code: code, error: error, retryAfter: retryAfter, duration: .milliseconds(3))
    }

    @Test(arguments: [200, 201, 202, 204, 299])
    func anyTwoHundredIsDelivered(code: Int) {
        #expect(judgement().judge(answer(code), channel: .webhook, scheduleIndex: 0, nowMillis: 0).verdict == .delivered)
    }

    @Test func aFailureWaitsTheScheduledDelayWithinTwentyPercent() {
        let now: UInt64 = 1_000_000
        let low = judgement(random: 0).judge(answer(500), channel: .webhook, scheduleIndex: 1, nowMillis: now)
        let middle = judgement(random: 0.5).judge(answer(500), channel: .webhook, scheduleIndex: 1, nowMillis: now)
        let high = judgement(random: 0.999_999).judge(answer(500), channel: .webhook, scheduleIndex: 1, nowMillis: now)
        #expect(low.verdict == .retry(atMillis: now + 240_000))
        #expect(middle.verdict == .retry(atMillis: now + 300_000))
        guard case .retry(let at) = high.verdict else { Issue.record("expected a retry"); return }
        #expect(at > now + 359_000 && at <= now + 360_000)
    }

    @Test func afterTheLastDelayAFailureIsFinal() {
        #expect(judgement().judge(answer(500), channel: .webhook, scheduleIndex: 2, nowMillis: 0).verdict == .dead)
        #expect(judgement([]).judge(answer(nil, error: "refused"), channel: .webhook, scheduleIndex: 0, nowMillis: 0).verdict == .dead)
    }

    @Test func goneIsFinalAndDisablesTheEndpoint() {
        let decision = judgement().judge(answer(410), channel: .webhook, scheduleIndex: 0, nowMillis: 0)
        #expect(decision.verdict == .dead)
        #expect(decision.disableEndpoint?.contains("410") == true)
    }

    @Test(arguments: [429, 503])
    func retryAfterInSecondsIsHonoured(code: Int) {
        let decision = judgement().judge(answer(code, retryAfter: "120"), channel: .webhook, scheduleIndex: 0, nowMillis: 1000)
        #expect(decision.verdict == .retry(atMillis: 121_000))
    }

    @Test func retryAfterAsAnHTTPDateIsHonoured() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let wait = AttemptJudgement.retryAfter(formatter.string(from: Date().addingTimeInterval(60)))
        #expect(wait != nil && wait! > .seconds(58) && wait! <= .seconds(60))
        #expect(AttemptJudgement.retryAfter("soon") == nil)
        // A receiver's "nan" or "inf" is no delay (and must not crash the hub).
        #expect(AttemptJudgement.retryAfter("nan") == nil && AttemptJudgement.retryAfter("inf") == nil)
        #expect(AttemptJudgement.retryAfter("999999") == .seconds(86_400))
    }

    @Test func aTimeoutOrRefusedConnectionIsRetried() {
        let decision = judgement().judge(answer(nil, error: "Connection refused"), channel: .webhook, scheduleIndex: 0, nowMillis: 0)
        #expect(decision.verdict == .retry(atMillis: 5000))
    }

    @Test func anAddressRefusedByTheGuardIsFinal() {
        let refused = TransferResult(code: nil, error: "refused", duration: .zero, refusedAddress: "10.0.0.1")
        #expect(judgement().judge(refused, channel: .webhook, scheduleIndex: 0, nowMillis: 0).verdict == .dead)
    }

    @Test func smtpTemporaryFailuresRetryAndPermanentOnesAreFinal() {
        #expect(judgement().judge(answer(250), channel: .email, scheduleIndex: 0, nowMillis: 0).verdict == .delivered)
        #expect(judgement().judge(answer(451, error: "RCPT failed"), channel: .email, scheduleIndex: 0, nowMillis: 0).verdict == .retry(atMillis: 5000))
        #expect(judgement().judge(answer(550, error: "RCPT failed"), channel: .email, scheduleIndex: 0, nowMillis: 0).verdict == .dead)
        #expect(judgement().judge(answer(nil, error: "Couldn't connect"), channel: .email, scheduleIndex: 0, nowMillis: 0).verdict == .retry(atMillis: 5000))
    }
}
