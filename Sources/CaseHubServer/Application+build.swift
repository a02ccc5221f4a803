import CaseHubCore
import CaseHubStore
import Hummingbird
import Logging
import Metrics
import Prometheus

/// Builds the router: error shape first, then the unauthenticated operational routes and the
/// authenticated `/v1` API. Tests drive it in-process with `app.test(.router)`.
///
/// - Parameter metrics: the registry `/metrics` serves; request counts and durations are
///   recorded through swift-metrics, so the process must have bootstrapped it with this
///   registry's factory (``bootstrapMetrics()``). Without one, `/metrics` is not served.
public func buildRouter(store: any Store, policy: AccessPolicy, metrics: PrometheusCollectorRegistry? = nil) -> Router<HubRequestContext> {
    let router = Router(context: HubRequestContext.self)
    if let metrics {
        router.add(middleware: MetricsMiddleware())
        OperationsRoutes.registerMetrics(on: router, registry: metrics)
    }
    router.add(middleware: ErrorMiddleware())
    OperationsRoutes.register(on: router, store: store)
    HubAPI(store: store, policy: policy).register(on: router)
    return router
}

/// Makes swift-metrics record into a Prometheus registry, once per process, and returns it.
public func bootstrapMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}

/// Builds the hub's HTTP application on a store that is already migrated.
///
/// - Parameter onServerRunning: called with the bound port once the server listens (port 0
///   in the configuration picks a free one).
public func buildApplication(
    configuration: HubConfiguration, store: any Store, logger: Logger, metrics: PrometheusCollectorRegistry? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(store: store, policy: configuration.access, metrics: metrics),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "CaseHub"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}
