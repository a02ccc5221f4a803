import CaseHubCore
import Testing

@testable import CaseHubServer

@Suite struct RateLimiterTests {
    @Test func theBudgetFillsAgainWithTime() async throws {
        let limiter = RateLimiter(RateLimit(perMinute: 60, burst: 1))
        try limiter.take(for: "a")
        let refused = try #require(throws: CaseHubError.self) { try limiter.take(for: "a") }
        #expect(refused.name == "rate_limited" && refused.retryAfterSeconds == 1)
        try await Task.sleep(for: .milliseconds(1100))  // one a second
        try limiter.take(for: "a")
    }

    /// Tokens that stopped asking do not keep a bucket for ever: past the limit, the buckets
    /// full again are dropped; those still drawn down are kept.
    @Test func bucketsFullAgainAreDroppedPastTheLimit() async throws {
        let limiter = RateLimiter(RateLimit(perMinute: 60_000, burst: 1), bucketLimit: 3)
        for token in ["a", "b", "c"] { try limiter.take(for: token) }
        #expect(limiter.bucketCount == 3)
        try await Task.sleep(for: .milliseconds(20))  // 1,000 a second: all three are full again
        try limiter.take(for: "d")
        #expect(limiter.bucketCount == 1)

        let slow = RateLimiter(RateLimit(perMinute: 1, burst: 1), bucketLimit: 2)
        for token in ["a", "b"] { try slow.take(for: token) }
        #expect(throws: CaseHubError.self) { try slow.take(for: "a") }
        try slow.take(for: "c")
        #expect(slow.bucketCount == 3, "drawn-down buckets are kept, or their tokens would start afresh")
    }
}
