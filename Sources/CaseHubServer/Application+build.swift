import CaseHubCore
import CaseHubStore
import Hummingbird
import Logging

/// Builds the router: error shape first, then the unauthenticated operational routes and the
/// authenticated `/v1` API. Tests drive it in-process with `app.test(.router)`.
public func buildRouter(store: any Store, policy: AccessPolicy) -> Router<HubRequestContext> {
    let router = Router(context: HubRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    OperationsRoutes.register(on: router, store: store)
    HubAPI(store: store, policy: policy).register(on: router)
    return router
}

/// Builds the hub's HTTP application on a store that is already migrated.
///
/// - Parameter onServerRunning: called with the bound port once the server listens (port 0
///   in the configuration picks a free one).
public func buildApplication(
    configuration: HubConfiguration, store: any Store, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(store: store, policy: configuration.access),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "CaseHub"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
