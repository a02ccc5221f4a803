import CaseHubCore
import CaseHubDelivery
import CaseHubTemplates
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The case manager's console in the browser, served by `casehub serve` at `/`.
///
/// The page is rendered from `Templates/web/console.mustache` in the visitor's language
/// (`?lang=id`, the default, or `?lang=en`), with the strings of `Templates/web/i18n/`; one
/// plain script and one stylesheet from `Templates/web/assets/` do the rest through the API,
/// with the token the user signs in with kept in the tab's session storage. The page holds
/// no case data, so it needs no token: nothing about a patient is rendered on the server.
///
/// Every answer carries a strict Content-Security-Policy: scripts and styles only from the hub
/// itself, no inline code, no framing.
public struct WebConsole: Sendable {
    private let page: MustacheTemplate
    private let strings: [String: [String: String]]
    private let stringsJSON: [String: String]
    private let assets: [String: (bytes: [UInt8], contentType: String)]

    public static let languages = ["id", "en"]

    /// The policy sent with every page and asset; see ``WebConsole``.
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        + "base-uri 'none'; frame-ancestors 'none'"

    /// Loads the page, its strings and assets from `directory` (the bundled templates by
    /// default); a missing file, a page that does not parse, or languages whose strings differ
    /// in their keys stop start-up.
    public init(directory: URL = TemplateBundle.directory) throws(TemplateError) {
        let web = directory.appendingPathComponent("web")
        func read(_ path: String) throws(TemplateError) -> Data {
            do {
                return try Data(contentsOf: web.appendingPathComponent(path))
            } catch {
                throw TemplateError("missing console file web/\(path)")
            }
        }
        do {
            page = try MustacheTemplate(string: String(decoding: try read("console.mustache"), as: UTF8.self))
        } catch let error as TemplateError {
            throw error
        } catch {
            throw TemplateError("web/console.mustache does not parse: \(error)")
        }
        var strings: [String: [String: String]] = [:]
        for language in Self.languages {
            let data = try read("i18n/\(language).json")
            guard let table = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
                throw TemplateError("web/i18n/\(language).json must be a JSON object of strings")
            }
            strings[language] = table
        }
        let keys = Set(strings["id"]?.keys ?? [:].keys)
        for (language, table) in strings where Set(table.keys) != keys {
            let differing = keys.symmetricDifference(table.keys).sorted().prefix(5).joined(separator: ", ")
            throw TemplateError("web/i18n/\(language).json and web/i18n/id.json differ in their keys: \(differing)")
        }
        self.strings = strings
        self.stringsJSON = strings.mapValues(Self.scriptSafeJSON)
        self.assets = [
            "console.js": (Array(try read("assets/console.js")), "text/javascript; charset=utf-8"),
            "console.css": (Array(try read("assets/console.css")), "text/css; charset=utf-8"),
        ]
    }

    func register(on router: Router<HubRequestContext>) {
        router.get("/") { request, _ in render(request, caseId: nil) }
        router.get("cases/:case") { request, context in render(request, caseId: try context.parameters.require("case")) }
        router.get("assets/:file") { _, context in
            guard let asset = assets[try context.parameters.require("file")] else { throw CaseHubError.notFound("no such file") }
            return Self.response(asset.bytes, contentType: asset.contentType, cache: "no-cache")
        }
    }

    /// The page in the language the query asks for.
    func render(_ request: Request, caseId: String?) -> Response {
        let language = request.uri.queryParameters.get("lang").flatMap { Self.languages.contains($0) ? $0 : nil } ?? "id"
        let context: [String: Any] = [
            "lang": language, "other_lang": language == "id" ? "en" : "id", "t": strings[language] ?? [:],
            "strings_json": stringsJSON[language] ?? "{}", "case_id": caseId ?? "",
        ]
        return Self.response(Array(page.render(context).utf8), contentType: "text/html; charset=utf-8", cache: "no-store")
    }

    static func response(_ bytes: [UInt8], contentType: String, cache: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: contentType, .contentLength: String(bytes.count), .cacheControl: cache,
                HTTPField.Name("Content-Security-Policy")!: contentSecurityPolicy, HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                HTTPField.Name("Referrer-Policy")!: "no-referrer", HTTPField.Name("X-Frame-Options")!: "DENY",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped, so no
    /// string can close the block or open a comment.
    static func scriptSafeJSON(_ table: [String: String]) -> String {
        let text = JSONValue.object(table.mapValues(JSONValue.string)).canonicalString
        return text.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }
}
