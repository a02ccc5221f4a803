import CaseHubCore
import Synchronization

/// How many API requests one participant token may make: `perMinute` on average, up to `burst`
/// at once (a token bucket per token, as Matrix homeservers limit each user).
///
/// Admin tokens are not limited: they are the operators and the integrations (a ward system
/// replaying a backlog), whose bursts are legitimate. Off unless configured.
public struct RateLimit: Sendable, Equatable {
    public var perMinute: Int
    public var burst: Int

    public init(perMinute: Int, burst: Int) {
        self.perMinute = perMinute
        self.burst = burst
    }
}

/// The token buckets of ``RateLimit``, one per token that made a request lately.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    /// Beyond this many buckets, the full ones are dropped (a full bucket is what a new one is).
    static let bucketLimit = 50_000

    let limit: RateLimit
    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock = ContinuousClock()

    init(_ limit: RateLimit) {
        self.limit = limit
    }

    /// Takes one request from the token's bucket, or throws `rate_limited` saying in how many
    /// whole seconds the next one is allowed.
    func take(for tokenHash: String) throws(CaseHubError) {
        let now = clock.now
        let perSecond = Double(limit.perMinute) / 60
        let capacity = Double(limit.burst)
        let wait: Double? = buckets.withLock { buckets in
            var bucket = buckets[tokenHash] ?? Bucket(tokens: capacity, refilledAt: now)
            let elapsed = now - bucket.refilledAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * perSecond)
            bucket.refilledAt = now
            defer {
                if buckets.count >= Self.bucketLimit { buckets = buckets.filter { $0.value.tokens < capacity } }
                buckets[tokenHash] = bucket
            }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / perSecond }
            bucket.tokens -= 1
            return nil
        }
        if let wait {
            let seconds = max(1, Int(wait.rounded(.up)))
            throw CaseHubError.rateLimited(
                "this token made more than \(limit.perMinute) requests a minute (\(limit.burst) at once); try again in \(seconds) s",
                retryAfterSeconds: seconds)
        }
    }
}
