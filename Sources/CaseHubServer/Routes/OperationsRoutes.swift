import CaseHubCore
import CaseHubStore
import Foundation
import Hummingbird
import Logging
import Prometheus

/// Unauthenticated operational endpoints: liveness, readiness and the API description.
enum OperationsRoutes {
    static func register(on router: Router<HubRequestContext>, store: any Store, emailWaiting: String?) {
        router.get("healthz") { _, _ in
            Response.json(["status": "ok"])
        }

        router.get("readyz") { _, context in
            do {
                try await store.ping()
                return Response.json([
                    "status": "ready",
                    "email": emailWaiting.map { ["status": "waiting", "reason": .string($0)] } ?? ["status": "configured"],
                ])
            } catch {
                context.logger.warning("store is not answering", metadata: ["error": "\(error)"])
                return Response.error(status: .serviceUnavailable, code: "unavailable", message: "the store is not answering")
            }
        }

        let document = openAPIDocument
        router.get("openapi.json") { _, _ in
            guard let document else {
                return Response.error(status: .internalServerError, code: "internal_error", message: "openapi.json is missing from this build")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    /// `GET /metrics`: the registry in Prometheus text format (request counts and durations by
    /// route and status, as Hummingbird's metrics middleware records them; the worker's
    /// attempts), with the outbox's backlog read from the store (``DeliveryBacklogGauges``).
    static func registerMetrics(on router: Router<HubRequestContext>, registry: PrometheusCollectorRegistry, store: any Store) {
        let backlog = DeliveryBacklogGauges(registry: registry)
        router.get("metrics") { _, context in
            do {
                try await backlog.refresh(from: store)
            } catch {
                // The request metrics are still worth answering; the gauges keep their last values.
                context.logger.warning("could not read the delivery backlog for /metrics", metadata: ["error": "\(error)"])
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    /// The OpenAPI 3.1 document shipped with the server (`Resources/openapi.json`).
    static let openAPIDocument: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json", subdirectory: "Resources"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        return Array(data)
    }()
}
