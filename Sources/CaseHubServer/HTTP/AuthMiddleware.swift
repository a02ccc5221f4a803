import CaseHubCore
import CaseHubStore
import Hummingbird

/// Resolves `Authorization: Bearer <token>` to the caller, or answers 401; then holds a
/// participant token to its rate limit, if one is set (429).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let tokens: TokenResolver
    let rateLimiter: RateLimiter?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers.first(.authorization) else {
            throw CaseHubError.unauthorized("missing Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw CaseHubError.unauthorized("the Authorization header must be: Bearer <token>")
        }
        let (principal, tokenHash) = try await tokens.principal(token: String(parts[1]))
        if let rateLimiter, principal.role != .admin { try rateLimiter.take(for: tokenHash) }
        var context = context
        context.principal = principal
        context.tokenHash = tokenHash
        return try await next(request, context)
    }
}

/// Turns a token into its caller through the principal cache.
struct TokenResolver: Sendable {
    let store: any Store
    let cache: PrincipalCache

    /// The caller and the token's hash; 401 for an unknown or revoked token.
    func principal(token: String) async throws -> (Principal, String) {
        let tokenHash = Token.hash(token)
        if let principal = cache.principal(tokenHash: tokenHash) { return (principal, tokenHash) }
        let generation = cache.generation
        guard let principal = try await store.principal(tokenHash: tokenHash) else {
            throw CaseHubError.unauthorized("unknown or revoked token")
        }
        cache.remember(principal, tokenHash: tokenHash, readAt: generation)
        return (principal, tokenHash)
    }

    /// As ``principal(token:)``, but read from the store whatever the cache holds: for a
    /// connection that lasts, which a principal cached before a removal (on another instance)
    /// would otherwise keep open for good.
    func storedPrincipal(token: String) async throws -> (Principal, String) {
        let tokenHash = Token.hash(token)
        guard let principal = try await store.principal(tokenHash: tokenHash) else {
            throw CaseHubError.unauthorized("unknown or revoked token")
        }
        return (principal, tokenHash)
    }
}
