import CaseHubCore
import CaseHubDelivery
import CaseHubStore
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Builds the router: error shape first, then the unauthenticated operational routes and the
/// authenticated `/v1` API. Tests drive it in-process with `app.test(.router)`.
///
/// - Parameter metrics: the registry `/metrics` serves; request counts and durations are
///   recorded through swift-metrics, so the process must have bootstrapped it with this
///   registry's factory (``bootstrapMetrics()``). Without one, `/metrics` is not served.
///
/// - Parameter emailWaiting: why e-mail deliveries are not sent (no SMTP server configured),
///   shown by `/readyz` and the deliveries list; nil when they are.
/// - Parameter principals: the token cache, shared with the stream router so that both forget
///   a token's stale memberships together.
/// - Parameter console: the web console served at `/`; none when nil.
/// - Parameter rateLimiter: holds each participant token to its request budget, shared with
///   the stream router; none when nil.
public func buildRouter(
    store: any Store, policy: AccessPolicy, metrics: PrometheusCollectorRegistry? = nil, emailWaiting: String? = nil,
    principals: PrincipalCache = PrincipalCache(), console: WebConsole? = nil, rateLimiter: RateLimiter? = nil
) -> Router<HubRequestContext> {
    // HEAD answers wherever GET does (load balancers probe `/healthz` with HEAD).
    let router = Router(context: HubRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Middleware applies to the routes added after it: all of them come first.
    if metrics != nil { router.add(middleware: MetricsMiddleware()) }
    let allowedMethods = AllowedMethods()
    router.add(middleware: ErrorMiddleware(allowedMethods: allowedMethods))
    router.add(middleware: BodySizeMiddleware())
    if let metrics { OperationsRoutes.registerMetrics(on: router, registry: metrics, store: store) }
    OperationsRoutes.register(on: router, store: store, emailWaiting: emailWaiting)
    console?.register(on: router)
    HubAPI(store: store, policy: policy, emailWaiting: emailWaiting, principals: principals, rateLimiter: rateLimiter)
        .register(on: router)
    allowedMethods.load(from: router)
    return router
}

/// Builds the router of WebSocket upgrades: the live stream of a case.
///
/// - Parameter maxLag: how long a stream reader may stay behind the log before it is closed
///   (code 4008) and must reconnect with `after`.
/// - Parameter accessCheckInterval: how often an idle reader's token is checked again (a
///   revoked one is closed with code 4003).
/// - Parameter rateLimiter: the API's limiter: each new connection takes one request from the
///   participant token's budget.
public func buildStreamRouter(
    store: any Store, policy: AccessPolicy, principals: PrincipalCache, maxLag: Duration = .seconds(30),
    accessCheckInterval: Duration = .seconds(10), rateLimiter: RateLimiter? = nil
) -> Router<StreamRequestContext> {
    let router = Router(context: StreamRequestContext.self)
    var stream = CaseStream(
        store: store, policy: policy, tokens: TokenResolver(store: store, cache: principals), rateLimiter: rateLimiter)
    stream.maxLag = maxLag
    stream.accessCheckInterval = accessCheckInterval
    stream.register(on: router)
    return router
}

/// The HTTP/1.1 server with WebSocket upgrades for the live stream; pings keep idle sockets
/// open through proxies and find dead peers.
public func hubServer(
    store: any Store, policy: AccessPolicy, principals: PrincipalCache, streamMaxLag: Duration = .seconds(30),
    streamAccessCheckInterval: Duration = .seconds(10), rateLimiter: RateLimiter? = nil
) -> HTTPServerBuilder {
    .http1WebSocketUpgrade(
        webSocketRouter: buildStreamRouter(
            store: store, policy: policy, principals: principals, maxLag: streamMaxLag, accessCheckInterval: streamAccessCheckInterval,
            rateLimiter: rateLimiter),
        configuration: .init(ws: .init(autoPing: .enabled(timePeriod: .seconds(30)))))
}

/// Makes swift-metrics record into a Prometheus registry, once per process, and returns it.
public func bootstrapMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}

/// Builds the hub's HTTP application on a store that is already migrated.
///
/// - Parameters:
///   - services: long-lived parts run beside the server and stopped with it (the delivery worker).
///   - onServerRunning: called with the bound port once the server listens (port 0 in the
///     configuration picks a free one).
public func buildApplication(
    configuration: HubConfiguration, store: any Store, logger: Logger, metrics: PrometheusCollectorRegistry? = nil,
    console: WebConsole? = nil, services: [any Service] = [], onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let principals = PrincipalCache()
    let rateLimiter = configuration.rateLimit.map { RateLimiter($0) }
    var app = Application(
        router: buildRouter(
            store: store, policy: configuration.access, metrics: metrics, emailWaiting: configuration.deliverySettings.emailWaitingReason,
            principals: principals, console: console, rateLimiter: rateLimiter),
        server: hubServer(store: store, policy: configuration.access, principals: principals, rateLimiter: rateLimiter),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "CaseHub"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
    app.addServices(services)
    return app
}

/// The delivery worker for this configuration, sending through a libcurl engine of its own.
public func buildDeliveryWorker(configuration: HubConfiguration, store: any Store, templates: TemplateCatalog, logger: Logger) -> DeliveryWorker {
    let composer = EmailComposer(
        templates: templates, from: configuration.smtpFrom, publicURL: configuration.publicURL, timeZone: configuration.timeZone)
    return DeliveryWorker(store: store, composer: composer, settings: configuration.deliverySettings, logger: logger)
}

/// The scheduler of milestone notices and escalations, on the wall clock unless told otherwise.
public func buildFiringScheduler(
    configuration: HubConfiguration, store: any Store, templates: TemplateCatalog, clock: any HubClock = SystemClock(), logger: Logger
) -> FiringScheduler {
    FiringScheduler(store: store, texts: MilestoneTexts(templates: templates, timeZone: configuration.timeZone), clock: clock, logger: logger)
}
