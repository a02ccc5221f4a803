import CaseHubCore
import CaseHubDelivery
import CaseHubServer
import CaseHubStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The console's page and assets as the hub serves them: in the asked language, under a strict
/// Content-Security-Policy, with no case data and no token anywhere in them.
@Suite("Web console") struct WebConsoleTests {
    static let csp = HTTPField.Name("Content-Security-Policy")!

    /// A templates folder holding a small console, to test the serving rules apart from the
    /// shipped page.
    static func fixture(_ edit: (URL) throws -> Void = { _ in }) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-web-\(UUID().uuidString)")
        let web = root.appendingPathComponent("web")
        try FileManager.default.createDirectory(at: web.appendingPathComponent("assets"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: web.appendingPathComponent("i18n"), withIntermediateDirectories: true)
        try #"<html lang="{{lang}}"><title>{{t.title}}</title><a id="lang-{{other_lang}}">x</a><main data-case="{{case_id}}"></main><script type="application/json" id="strings">{{{strings_json}}}</script>"#
            .write(to: web.appendingPathComponent("console.mustache"), atomically: true, encoding: .utf8)
        try #"{"title": "Konsol </script><script>alert(1)</script> & co"}"#.write(to: web.appendingPathComponent("i18n/id.json"), atomically: true, encoding: .utf8)
        try #"{"title": "Console"}"#.write(to: web.appendingPathComponent("i18n/en.json"), atomically: true, encoding: .utf8)
        try "console.log(1)".write(to: web.appendingPathComponent("assets/console.js"), atomically: true, encoding: .utf8)
        try "body{}".write(to: web.appendingPathComponent("assets/console.css"), atomically: true, encoding: .utf8)
        try edit(web)
        return root
    }

    static func withConsole(_ console: WebConsole, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await TestDatabase.with { database in
            let store = try await database.open()
            let app = Application(router: buildRouter(store: store, policy: .default, console: console))
            try await app.test(.router) { client in try await body(client) }
        }
    }

    @Test("the page comes in Bahasa Indonesia by default and in English on ?lang=en, under the CSP")
    func pageLanguagesAndHeaders() async throws {
        let root = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: root) }
        try await Self.withConsole(try WebConsole(directory: root)) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[Self.csp] == WebConsole.contentSecurityPolicy)
                #expect(response.headers[.cacheControl] == "no-store")
                let page = String(buffer: response.body)
                #expect(page.contains(#"<html lang="id">"#) && page.contains(#"id="lang-en""#))
                // Strings reach the page escaped: in HTML by Mustache, in the JSON block with \u003c.
                #expect(!page.contains("<script>alert(1)</script>"), "\(page)")
                #expect(page.contains(#"\u003c/script\u003e"#))
            }
            try await client.execute(uri: "/?lang=en", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(page.contains(#"<html lang="en">"#) && page.contains("<title>Console</title>") && page.contains(#"id="lang-id""#))
            }
            try await client.execute(uri: "/?lang=xx", method: .get) { response in
                #expect(String(buffer: response.body).contains(#"<html lang="id">"#), "an unknown language falls back to id")
            }
            try await client.execute(uri: "/cases/01a2-case", method: .get) { response in
                #expect(String(buffer: response.body).contains(#"data-case="01a2-case""#), "links in e-mails open the case")
            }
            try await client.execute(uri: "/assets/console.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.headers[Self.csp] != nil && response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(String(buffer: response.body) == "console.log(1)")
            }
            try await client.execute(uri: "/assets/console.css", method: .get) { response in
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
            }
            try await client.execute(uri: "/assets/secrets.txt", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("a console whose languages differ in their keys, or that misses a file, stops start-up naming it")
    func brokenConsoles() throws {
        let mismatched = try Self.fixture { web in
            try #"{"title": "Console", "extra": "x"}"#.write(to: web.appendingPathComponent("i18n/en.json"), atomically: true, encoding: .utf8)
        }
        defer { try? FileManager.default.removeItem(at: mismatched) }
        #expect { try WebConsole(directory: mismatched) } throws: { "\($0)".contains("extra") }
        let missing = try Self.fixture { web in try FileManager.default.removeItem(at: web.appendingPathComponent("assets/console.js")) }
        defer { try? FileManager.default.removeItem(at: missing) }
        #expect { try WebConsole(directory: missing) } throws: { "\($0)".contains("web/assets/console.js") }
    }

    @Test("the shipped console loads, and its two languages cover the same strings")
    func shippedConsole() async throws {
        try await Self.withConsole(try WebConsole()) { client in
            for language in ["id", "en"] {
                try await client.execute(uri: "/?lang=\(language)", method: .get) { response in
                    let page = String(buffer: response.body)
                    #expect(response.status == .ok)
                    #expect(page.contains(#"<html lang="\#(language)""#))
                    #expect(page.contains(#"src="/assets/console.js""#))
                    #expect(!page.contains("style=\""), "inline styles are refused by the CSP")
                    #expect(!page.contains("<script>"), "inline scripts are refused by the CSP")
                }
            }
        }
    }

    @Test("GET /v1/me tells the console its role and its participant per case")
    func me() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family", name: "Ibu Sari")
            let me = try await hub.get("/v1/me", token: family.token).json()
            #expect(me["role"] as? String == "family" && me["name"] as? String == "Ibu Sari")
            #expect((me["memberships"] as? JSONObject)?[caseId] as? String == family.participant["id"] as? String)
            let admin = try await hub.get("/v1/me", token: hub.adminToken).json()
            #expect(admin["role"] as? String == "admin" && (admin["memberships"] as? JSONObject)?.isEmpty == true)
            // An admin's messages carry its id as author id: the console tells its own by it.
            let posted = try await hub.postMessage(caseId: caseId, thread: "family", body: "Catatan admin")
            #expect((posted["author"] as? JSONObject)?["id"] as? String == admin["id"] as? String)
            expectError(try await hub.get("/v1/me", token: nil), .unauthorized, "unauthorized")
        }
    }
}
