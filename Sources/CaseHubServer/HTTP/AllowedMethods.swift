import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each route answers, read off the router once every route is added. A known
/// path asked with another method then answers 405 with `Allow` (RFC 9110, 15.5.6) rather
/// than the 404 Hummingbird gives, so a client sees its mistake instead of a missing resource.
final class AllowedMethods: Sendable {
    private struct Route {
        let path: RouterPath
        var methods: Set<HTTPRequest.Method>
    }

    private let routes = Mutex<[Route]>([])

    /// Takes the router's routes; call it after the last route is added.
    func load<Context>(from router: Router<Context>) {
        var byPath: [String: Route] = [:]
        for route in router.routes {
            byPath[route.path.description, default: Route(path: route.path, methods: [])].methods.insert(route.method)
        }
        // HEAD is answered wherever GET is: the router adds those routes when it is built.
        let loaded = byPath.values.map { route in
            var route = route
            if route.methods.contains(.get) { route.methods.insert(.head) }
            return route
        }
        routes.withLock { $0 = loaded }
    }

    /// The methods a route with `path` answers, in a stable order; empty when no route has it.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let allowed = routes.withLock { routes in
            routes.filter { route in
                route.path.components.count == segments.count && zip(route.path.components, segments).allSatisfy { $0 ~= $1 }
            }
            .reduce(into: Set<HTTPRequest.Method>()) { $0.formUnion($1.methods) }
        }
        return allowed.sorted { $0.rawValue < $1.rawValue }
    }
}
