import CaseHubCore
import CaseHubStore
import Hummingbird

/// Resolves `Authorization: Bearer <token>` to the caller, or answers 401.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let store: any Store
    let cache: PrincipalCache

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw CaseHubError.unauthorized("missing Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw CaseHubError.unauthorized("the Authorization header must be: Bearer <token>")
        }
        let tokenHash = Token.hash(String(parts[1]))
        var principal = cache.principal(tokenHash: tokenHash)
        if principal == nil {
            let generation = cache.generation
            principal = try await store.principal(tokenHash: tokenHash)
            guard let principal else { throw CaseHubError.unauthorized("unknown or revoked token") }
            cache.remember(principal, tokenHash: tokenHash, readAt: generation)
        }
        var context = context
        context.principal = principal
        context.tokenHash = tokenHash
        return try await next(request, context)
    }
}
