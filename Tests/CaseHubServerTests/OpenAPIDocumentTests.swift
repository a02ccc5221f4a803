import Foundation
import Testing

@testable import CaseHubServer

/// The OpenAPI document shipped in `Resources/openapi.json` and served at `GET /openapi.json`
/// must parse, be OpenAPI 3.1, and describe every route the router registers.
@Suite struct OpenAPIDocumentTests {
    /// Every path the router registers, with its methods (lowercase, as OpenAPI keys them).
    static let registeredRoutes: [String: Set<String>] = [
        "/healthz": ["get"],
        "/readyz": ["get"],
        "/metrics": ["get"],
        "/openapi.json": ["get"],
        "/v1/me": ["get"],
        "/v1/cases/{case}/threads/{thread}/read-markers": ["get"],
        "/v1/cases": ["get", "post"],
        "/v1/cases/{case}": ["get"],
        "/v1/cases/{case}/close": ["post"],
        "/v1/cases/{case}/participants": ["get", "post"],
        "/v1/cases/{case}/participants/{participant}": ["delete"],
        "/v1/cases/{case}/participants/{participant}/token": ["post"],
        "/v1/cases/{case}/participants/{participant}/preferences": ["get", "patch"],
        "/v1/cases/{case}/threads": ["get"],
        "/v1/cases/{case}/threads/{thread}/messages": ["get", "post"],
        "/v1/cases/{case}/threads/{thread}/read": ["post"],
        "/v1/cases/{case}/messages/{message}": ["get", "patch", "delete"],
        "/v1/cases/{case}/messages/{message}/relay": ["post"],
        "/v1/cases/{case}/messages/{message}/ack": ["post"],
        "/v1/cases/{case}/milestones": ["get", "post"],
        "/v1/cases/{case}/milestones/{milestone}": ["get", "patch"],
        "/v1/cases/{case}/log": ["get"],
        "/v1/cases/{case}/log/verify": ["get"],
        "/v1/cases/{case}/stream": ["get"],
        "/v1/endpoints": ["get", "post"],
        "/v1/endpoints/{endpoint}": ["patch"],
        "/v1/endpoints/{endpoint}/rotate-secret": ["post"],
        "/v1/deliveries": ["get"],
        "/v1/deliveries/{delivery}/retry": ["post"],
    ]

    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    func document() throws -> [String: Any] {
        let bytes = try #require(OperationsRoutes.openAPIDocument, "openapi.json must ship with the server")
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(object as? [String: Any], "openapi.json must be a JSON object")
    }

    @Test func parsesAsOpenAPI31() throws {
        let document = try document()
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.1"))
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["title"] as? String == "CaseHub")
        #expect(info["version"] as? String == "1.0.0")
    }

    @Test func describesEveryRegisteredRouteWithItsMethods() throws {
        let paths = try #require(try document()["paths"] as? [String: Any])
        for (path, methods) in Self.registeredRoutes {
            let item = try #require(paths[path] as? [String: Any], "missing path \(path)")
            let documented = Set(item.keys).intersection(Self.httpMethods)
            #expect(documented == methods, "\(path) documents \(documented.sorted()), the router serves \(methods.sorted())")
        }
        let extra = Set(paths.keys).subtracting(Self.registeredRoutes.keys)
        #expect(extra.isEmpty, "documented but not registered: \(extra.sorted())")
    }

    @Test func everyOperationHasResponsesAndUnauthenticatedRoutesNeedNoToken() throws {
        let paths = try #require(try document()["paths"] as? [String: Any])
        for (path, methods) in Self.registeredRoutes {
            let item = try #require(paths[path] as? [String: Any])
            for method in methods {
                let operation = try #require(item[method] as? [String: Any], "\(method) \(path)")
                let responses = try #require(operation["responses"] as? [String: Any], "\(method) \(path) has no responses")
                #expect(!responses.isEmpty)
                if path.hasPrefix("/v1/") {
                    #expect(responses["401"] != nil, "\(method) \(path) must document 401")
                } else {
                    let security = try #require(operation["security"] as? [Any], "\(method) \(path) must override security")
                    #expect(security.isEmpty)
                }
            }
        }
    }

    @Test func declaresTheSharedSchemasAndBearerScheme() throws {
        let components = try #require(try document()["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        for name in ["Case", "Participant", "Message", "Ack", "Author", "ThreadSummary", "LogEntry", "VerifyResult", "Error"] {
            #expect(schemas[name] != nil, "missing schema \(name)")
        }
        let schemes = try #require(components["securitySchemes"] as? [String: Any])
        let bearer = try #require(schemes["bearerAuth"] as? [String: Any])
        #expect(bearer["type"] as? String == "http")
        #expect(bearer["scheme"] as? String == "bearer")
    }

    @Test func everyLocalReferenceResolves() throws {
        let document = try document()
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        #expect(!references.isEmpty)
        for reference in references {
            #expect(reference.hasPrefix("#/"), "non-local reference \(reference)")
            var node: Any? = document
            for part in reference.dropFirst(2).split(separator: "/") {
                node = (node as? [String: Any])?[String(part)]
            }
            #expect(node != nil, "unresolved reference \(reference)")
        }
    }
}
