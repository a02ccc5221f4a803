import Foundation
import HTTPTypes
import Testing

@Suite("Operations")
struct OperationsTests {
    @Test("/healthz and /readyz answer 200 without a token")
    func health() async throws {
        try await withHub { hub in
            let health = try await hub.get("/healthz", token: nil)
            #expect(health.status == .ok)
            let ready = try await hub.get("/readyz", token: nil)
            #expect(ready.status == .ok)
            // Load balancers often probe with HEAD.
            #expect(try await hub.request(.head, "/healthz", token: nil).status == .ok)
            #expect(try await hub.request(.head, "/readyz", token: nil).status == .ok)
            #expect(try await hub.request(.head, "/v1/cases", token: hub.adminToken).status == .ok)
            #expect(try await hub.request(.head, "/v1/cases", token: nil).status == .unauthorized)
        }
    }

    @Test("an unknown path answers 404 with the error shape")
    func unknownPath() async throws {
        try await withHub { hub in
            expectError(try await hub.get("/nope", token: nil), .notFound, "not_found")
            expectError(try await hub.get("/v1/nope", token: hub.adminToken), .notFound, "not_found")
            expectError(try await hub.get("/v1/cases/x/y/z", token: hub.adminToken), .notFound, "not_found")
        }
    }

    @Test("a wrong method on a known path answers 405 naming the methods it allows, on every route")
    func wrongMethod() async throws {
        try await withHub { hub in
            let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
            // `/metrics` is served only by a hub with a metrics registry, which this one has not.
            for (path, served) in OpenAPIDocumentTests.registeredRoutes where path != "/metrics" {
                // A path with sample values in place of its parameters.
                let concrete = path.split(separator: "/").map { $0.hasPrefix("{") ? "x1" : String($0) }.joined(separator: "/")
                let allowed = (served.contains("get") ? served.union(["head"]) : served).map { $0.uppercased() }.sorted()
                for method in methods where !served.contains(method.rawValue.lowercased()) {
                    let reply = try await hub.request(method, "/" + concrete, token: nil, json: "{}")
                    expectError(reply, .methodNotAllowed, "method_not_allowed")
                    #expect(reply.headers[.allow] == allowed.joined(separator: ", "), "\(method) \(path): \(reply.headers)")
                }
            }
            // A path no route has is still 404, whatever the method.
            expectError(try await hub.request(.delete, "/v1/cases/x/y/z", token: hub.adminToken), .notFound, "not_found")
        }
    }
}
