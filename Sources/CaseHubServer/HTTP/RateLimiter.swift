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

/// The token buckets of ``RateLimit``, one per token that made a request lately. One limiter
/// serves the API and the live stream's upgrades, so that a token's budget covers both.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    let limit: RateLimit
    /// Beyond this many buckets, those full again are dropped (a full bucket is what a new one
    /// is), so idle tokens cost nothing.
    let bucketLimit: Int
    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock = ContinuousClock()

    public init(_ limit: RateLimit, bucketLimit: Int = 50_000) {
        self.limit = limit
        self.bucketLimit = bucketLimit
    }

    /// How many tokens have a bucket now.
    var bucketCount: Int { buckets.withLock { $0.count } }

    /// Takes one request from the token's bucket, or throws `rate_limited` saying in how many
    /// whole seconds the next one is allowed.
    func take(for tokenHash: String) throws(CaseHubError) {
        let now = clock.now
        let wait: Double? = buckets.withLock { buckets in
            if buckets.count >= bucketLimit, buckets[tokenHash] == nil {
                buckets = buckets.filter { refilled($0.value, at: now).tokens < Double(limit.burst) }
            }
            var bucket = buckets[tokenHash].map { refilled($0, at: now) } ?? Bucket(tokens: Double(limit.burst), refilledAt: now)
            defer { buckets[tokenHash] = bucket }
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

    private var perSecond: Double { Double(limit.perMinute) / 60 }

    /// The bucket topped up for the time since it was last.
    private func refilled(_ bucket: Bucket, at now: ContinuousClock.Instant) -> Bucket {
        let elapsed = now - bucket.refilledAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Bucket(tokens: min(Double(limit.burst), bucket.tokens + seconds * perSecond), refilledAt: now)
    }
}
