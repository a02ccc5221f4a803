import CaseHubCore
import CaseHubStore
import Foundation

/// Decides what an attempt's result means for its delivery, by the rules of Standard
/// Webhooks and of SMTP:
/// - webhooks: 2xx delivered; 410 Gone is final and disables the endpoint; 429 and 503 wait
///   as long as `Retry-After` says; anything else (other statuses, timeouts, refused
///   connections) is retried on the schedule;
/// - e-mail: 2xx delivered; a 5xx reply is final; a 4xx reply or a failed connection is retried;
/// - an address refused by the private-network guard is final (the configuration decides it,
///   not the receiver); a dead delivery can be retried by hand.
///
/// After the schedule's last delay, a failure is final.
public struct AttemptJudgement: Sendable {
    public var schedule: [Duration]
    /// ±20 %: spreads the retries of many deliveries that failed together.
    public var jitter: Double = 0.2
    /// A random number in 0..<1; replaceable so tests can pin it.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init(schedule: [Duration]) {
        self.schedule = schedule
    }

    public struct Decision: Sendable, Equatable {
        public var verdict: AttemptRecord.Verdict
        /// Set when the endpoint must be disabled at once.
        public var disableEndpoint: String?
    }

    public func judge(_ result: TransferResult, channel: Delivery.Channel, scheduleIndex: Int, nowMillis: UInt64) -> Decision {
        if result.error == nil, let code = result.code, (200..<300).contains(code) {
            return Decision(verdict: .delivered)
        }
        if result.refusedAddress != nil { return Decision(verdict: .dead) }
        switch channel {
        case .webhook:
            if result.code == 410 {
                return Decision(verdict: .dead, disableEndpoint: "the receiver answered 410 Gone")
            }
            if let code = result.code, code == 429 || code == 503, let wait = result.retryAfter.flatMap(Self.retryAfter) {
                return Decision(verdict: retry(scheduleIndex: scheduleIndex, nowMillis: nowMillis, after: wait))
            }
        case .email:
            if let code = result.code, (500..<600).contains(code) { return Decision(verdict: .dead) }
        }
        return Decision(verdict: retry(scheduleIndex: scheduleIndex, nowMillis: nowMillis, after: nil))
    }

    private func retry(scheduleIndex: Int, nowMillis: UInt64, after requested: Duration?) -> AttemptRecord.Verdict {
        guard scheduleIndex < schedule.count else { return .dead }
        let delay = requested ?? schedule[scheduleIndex] * (1 + jitter * (2 * random() - 1))
        return .retry(atMillis: nowMillis + Self.milliseconds(delay))
    }

    /// `Retry-After` as seconds or as an HTTP date; at most a day, never negative.
    static func retryAfter(_ value: String) -> Duration? {
        let seconds: Double
        if let number = Double(value.trimmingCharacters(in: .whitespaces)) {
            guard number.isFinite else { return nil }  // "nan", "inf": not a delay
            seconds = number
        } else {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            guard let date = formatter.date(from: value) else { return nil }
            seconds = date.timeIntervalSinceNow
        }
        return .milliseconds(Int64(min(max(seconds, 0), 86_400) * 1000))
    }

    static func milliseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
    }
}
