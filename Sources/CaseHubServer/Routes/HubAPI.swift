import CaseHubCore
import CaseHubStore
import Hummingbird
import Logging

/// The `/v1` API: each feature's routes live in an extension beside this file.
struct HubAPI: Sendable {
    let store: any Store
    let policy: AccessPolicy
    /// Why e-mail deliveries wait (no SMTP server configured); nil when they are sent.
    let emailWaiting: String?
    /// Shared with the live stream, so both drop a token's stale memberships together.
    let principals: PrincipalCache
    /// Participant tokens' request budgets; nil: no limit.
    let rateLimiter: RateLimiter?
    /// Thread pages as answered, while their case is unchanged.
    let pages = MessagePageCache()
    var tokens: TokenResolver { TokenResolver(store: store, cache: principals) }

    func register(on router: Router<HubRequestContext>) {
        let v1 = router.group("v1").add(middleware: AuthMiddleware(tokens: tokens, rateLimiter: rateLimiter))
        registerCases(on: v1)
        registerParticipants(on: v1)
        registerPreferences(on: v1)
        registerThreads(on: v1)
        registerMessages(on: v1)
        registerMilestones(on: v1)
        registerLog(on: v1)
        registerEndpoints(on: v1)
        registerDeliveries(on: v1)
    }
}
