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

    @Test("a wrong method on a known path answers a 4xx with the error shape")
    func wrongMethod() async throws {
        try await withHub { hub in
            let reply = try await hub.request(.put, "/v1/cases", token: hub.adminToken, json: "{}")
            #expect((400..<500).contains(reply.status.code))
            let error = try #require(try reply.json()["error"] as? JSONObject)
            #expect(error["code"] is String)
            #expect(error["message"] is String)
        }
    }
}
