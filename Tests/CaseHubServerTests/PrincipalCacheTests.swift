import CaseHubCore
import Testing

@testable import CaseHubServer

@Suite struct PrincipalCacheTests {
    static let manager = Principal(tokenId: "t1", role: .caseManager, name: "MPP Dewi", memberships: ["c1": "p1"])

    @Test func remembersUntilTheLifetimeEnds() {
        let cache = PrincipalCache()
        cache.remember(Self.manager, tokenHash: "h", readAt: cache.generation, now: 1_000)
        #expect(cache.principal(tokenHash: "h", now: 1_000 + PrincipalCache.lifetimeMillis - 1) == Self.manager)
        #expect(cache.principal(tokenHash: "h", now: 1_000 + PrincipalCache.lifetimeMillis) == nil)
    }

    @Test func aPrincipalReadBeforeAForgetIsNotRemembered() {
        let cache = PrincipalCache()
        let before = cache.generation
        cache.forget(tokenHash: "h")  // the case manager opened a case meanwhile
        cache.remember(Self.manager, tokenHash: "h", readAt: before, now: 1_000)
        #expect(cache.principal(tokenHash: "h", now: 1_001) == nil)
        cache.remember(Self.manager, tokenHash: "h", readAt: cache.generation, now: 1_000)
        #expect(cache.principal(tokenHash: "h", now: 1_001) == Self.manager)
    }
}
