import CaseHubServer
import Foundation
import HTTPTypes
import Testing

/// `rate_limit_per_minute` and `rate_limit_burst`: each participant token's budget of API
/// requests, answered 429 `rate_limited` with `Retry-After` beyond it.
@Suite struct RateLimitTests {
    @Test("a participant token beyond its burst answers 429 rate_limited with Retry-After; other tokens keep theirs")
    func participantTokensAreLimited() async throws {
        try await withHub(emailWaiting: nil, rateLimit: RateLimit(perMinute: 6, burst: 3)) { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let nurse = try await hub.addParticipant(caseId: caseId, role: "ppa").token
            let family = try await hub.addParticipant(caseId: caseId, role: "family").token
            for _ in 0..<3 {
                #expect(try await hub.get("/v1/cases/\(caseId)/threads", token: nurse).status == .ok)
            }
            let before = try await hub.snapshot()
            let refused = try await hub.post(
                "/v1/cases/\(caseId)/threads/ppa/messages", token: nurse, json: #"{"body": "keempat", "kind": "text"}"#)
            expectError(refused, .tooManyRequests, "rate_limited")
            // One request a 10 s at 6 a minute: the next is allowed within 10 s.
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...10).contains(retryAfter))
            #expect(try await hub.snapshot() == before, "a refused post stores nothing")
            // Another participant's budget is its own.
            #expect(try await hub.get("/v1/cases/\(caseId)/threads", token: family).status == .ok)
        }
    }

    @Test("admin tokens (operators, integrations) are not limited")
    func adminTokensAreNotLimited() async throws {
        try await withHub(emailWaiting: nil, rateLimit: RateLimit(perMinute: 6, burst: 2)) { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            for index in 0..<10 {
                _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "pesan \(index)")
            }
        }
    }

    @Test("without a limit configured, a participant token is never refused")
    func noLimitByDefault() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let nurse = try await hub.addParticipant(caseId: caseId, role: "ppa").token
            for _ in 0..<100 {
                #expect(try await hub.get("/v1/cases/\(caseId)/threads", token: nurse).status == .ok)
            }
        }
    }
}
