import CaseHubCore
import Hummingbird

/// The request context of every CaseHub route: Hummingbird's core storage plus the caller,
/// set by ``AuthMiddleware`` before any `/v1` handler runs.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// The SHA-256 of the caller's token, to drop it from the principal cache when its
    /// memberships change.
    var tokenHash: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// Request bodies above 1 MiB answer 413 (API contract).
    public var maxUploadSize: Int { 1 << 20 }

    /// The authenticated caller; only `/v1` handlers ask, behind the auth middleware.
    func caller() throws -> Principal {
        guard let principal else { throw CaseHubError.unauthorized() }
        return principal
    }
}
