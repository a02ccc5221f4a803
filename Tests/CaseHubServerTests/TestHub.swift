import CaseHubCore
import CaseHubServer
import CaseHubStore
import CaseHubTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Shared harness of the HTTP API tests: each test gets its own SQLite file in a fresh
/// temporary folder, an admin token, and the router driven in-process, so tests run in
/// parallel without sharing state.

/// JSON objects as `JSONSerialization` gives them.
typealias JSONObject = [String: Any]

/// The four threads and the participant roles, as the API names them.
let allThreads = ["patient", "family", "ppa", "payer"]
let participantRoles = ["case_manager", "ppa", "family", "patient", "payer"]

/// The default access table of API.md (admin sees every thread).
let expectedAccess: [String: Set<String>] = [
    "case_manager": ["patient", "family", "ppa", "payer"],
    "ppa": ["patient", "family", "ppa"],
    "family": ["family"],
    "patient": ["patient"],
    "payer": ["payer"],
    "admin": ["patient", "family", "ppa", "payer"],
]

/// One response: status, headers and the raw body bytes.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let bytes: [UInt8]

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The body as a JSON object, or nil when it is not one.
    var object: JSONObject? {
        guard !bytes.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) as? JSONObject
    }

    /// The body as a JSON object; records an issue (and throws) when it is not one.
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONObject {
        try #require(object, "expected a JSON object, got \(status.code): \(text)", sourceLocation: sourceLocation)
    }

    /// Whether the raw body contains `needle` anywhere.
    func contains(_ needle: String) -> Bool { text.contains(needle) }
}

extension Reply: CustomStringConvertible {
    /// Status and body text, so failed expectations print something readable.
    var description: String {
        let body = text.count > 600 ? String(text.prefix(600)) + "…" : text
        return "HTTP \(status.code) \(body)"
    }
}

/// A client bound to one hub: the test client, the admin token and the database file.
struct HubClient: Sendable {
    let client: any TestClientProtocol
    let adminToken: String
    let databasePath: String

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    /// Sends one request. `token` nil sends no Authorization header; `json` is sent as the
    /// body with `Content-Type: application/json` unless `contentType` says otherwise.
    func request(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, json: String? = nil, bytes: [UInt8]? = nil,
        contentType: String? = "application/json", headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json { body = ByteBuffer(string: json) }
        if let bytes { body = ByteBuffer(bytes: bytes) }
        if body != nil, let contentType { headers[.contentType] = contentType }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        return Reply(status: response.status, headers: response.headers, bytes: Array(response.body.readableBytesView))
    }

    func get(_ uri: String, token: String?) async throws -> Reply {
        try await request(.get, uri, token: token)
    }

    func post(_ uri: String, token: String?, json: String, headers: HTTPFields = [:]) async throws -> Reply {
        try await request(.post, uri, token: token, json: json, headers: headers)
    }

    // MARK: - Fixtures

    /// Opens a case as admin (or `token`) and returns it; expects 201.
    func createCase(
        mrn: String = "RM-\(UUID().uuidString.prefix(8))", patient: String = "Budi Santoso", payer: String? = nil, token: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONObject {
        var fields = [#""mrn": \#(quoted(mrn))"#, #""patient": {"name": \#(quoted(patient))}"#]
        if let payer { fields.append(#""payer": {"name": \#(quoted(payer)), "member_id": "0001234567890"}"#) }
        let reply = try await post("/v1/cases", token: token ?? adminToken, json: "{\(fields.joined(separator: ", "))}")
        #expect(reply.status == .created, "POST /v1/cases: \(reply.text)", sourceLocation: sourceLocation)
        return try reply.json(sourceLocation: sourceLocation)
    }

    /// Adds a participant as admin and returns (participant, token); expects 201.
    func addParticipant(
        caseId: String, role: String, name: String? = nil, email: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (participant: JSONObject, token: String) {
        var fields = [#""role": \#(quoted(role))"#, #""name": \#(quoted(name ?? "\(role) person"))"#]
        if let email { fields.append(#""email": \#(quoted(email))"#) }
        let reply = try await post("/v1/cases/\(caseId)/participants", token: adminToken, json: "{\(fields.joined(separator: ", "))}")
        #expect(reply.status == .created, "POST participants (\(role)): \(reply.text)", sourceLocation: sourceLocation)
        let object = try reply.json(sourceLocation: sourceLocation)
        let participant = try #require(object["participant"] as? JSONObject, sourceLocation: sourceLocation)
        let token = try #require(object["token"] as? String, sourceLocation: sourceLocation)
        return (participant, token)
    }

    /// Posts a text message and returns it; expects 201.
    func postMessage(
        caseId: String, thread: String, body: String, token: String? = nil, extra: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONObject {
        let json = #"{"body": \#(quoted(body)), "kind": "text"\#(extra.isEmpty ? "" : ", " + extra)}"#
        let reply = try await post("/v1/cases/\(caseId)/threads/\(thread)/messages", token: token ?? adminToken, json: json)
        #expect(reply.status == .created, "POST \(thread) message: \(reply.text)", sourceLocation: sourceLocation)
        return try reply.json(sourceLocation: sourceLocation)
    }

    /// A thread's messages as admin (up to 200).
    func messages(caseId: String, thread: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [JSONObject] {
        let reply = try await get("/v1/cases/\(caseId)/threads/\(thread)/messages?limit=200", token: adminToken)
        #expect(reply.status == .ok, sourceLocation: sourceLocation)
        return try #require(reply.json(sourceLocation: sourceLocation)["messages"] as? [JSONObject], sourceLocation: sourceLocation)
    }

    /// The whole case log as admin.
    func log(caseId: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [JSONObject] {
        let reply = try await get("/v1/cases/\(caseId)/log?limit=1000", token: adminToken)
        #expect(reply.status == .ok, "GET log: \(reply.text)", sourceLocation: sourceLocation)
        return try #require(reply.json(sourceLocation: sourceLocation)["entries"] as? [JSONObject], sourceLocation: sourceLocation)
    }

    /// GET log/verify as admin.
    func verify(caseId: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONObject {
        let reply = try await get("/v1/cases/\(caseId)/log/verify", token: adminToken)
        #expect(reply.status == .ok, "GET log/verify: \(reply.text)", sourceLocation: sourceLocation)
        return try reply.json(sourceLocation: sourceLocation)
    }

    /// Every case the admin can list (walking the cursor).
    func allCaseIds(sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        var ids: [String] = []
        var cursor: String?
        repeat {
            let uri = "/v1/cases?limit=200" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await get(uri, token: adminToken).json(sourceLocation: sourceLocation)
            ids += (page["cases"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return ids
    }

    /// A count of everything stored: cases, and per case its log length (every state
    /// change of a case is a log entry), to show that a refused request stored nothing.
    func snapshot(sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let ids = try await allCaseIds(sourceLocation: sourceLocation)
        counts["cases"] = ids.count
        for id in ids {
            counts["log:\(id)"] = try await log(caseId: id, sourceLocation: sourceLocation).count
            for thread in allThreads {
                counts["messages:\(id):\(thread)"] = try await messages(caseId: id, thread: thread, sourceLocation: sourceLocation).count
            }
        }
        return counts
    }
}

/// Runs `body` against a fresh hub: a new SQLite file, migrated, with one admin token.
func withHub(_ body: @Sendable (HubClient) async throws -> Void) async throws {
    try await withHub(emailWaiting: nil, body)
}

/// A JSON string literal for `text` (quotes and backslashes escaped).
func quoted(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}

/// Unique text to find (or not find) in raw response bytes.
func marker(_ label: String) -> String {
    "\(label)-\(UUID().uuidString.lowercased())"
}

/// Checks the API's error shape: exactly `{"error": {"code", "message"}}`, the given status
/// and code, and (for 400s) that the message names `field`.
func expectError(
    _ reply: Reply, _ status: HTTPResponse.Status, _ code: String, naming field: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard reply.status == status else {
        Issue.record("expected \(status.code) \(code), got \(reply)", sourceLocation: sourceLocation)
        return
    }
    guard let object = reply.object else {
        Issue.record("error body is not a JSON object: \(reply.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(Set(object.keys) == ["error"], "error body: \(reply.text)", sourceLocation: sourceLocation)
    guard let error = object["error"] as? JSONObject else {
        Issue.record("no error object: \(reply.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(Set(error.keys) == ["code", "message"], "error body: \(reply.text)", sourceLocation: sourceLocation)
    #expect(error["code"] as? String == code, "error code in \(reply.text)", sourceLocation: sourceLocation)
    let message = error["message"] as? String ?? ""
    #expect(!message.isEmpty, "error message is empty: \(reply.text)", sourceLocation: sourceLocation)
    if let field {
        #expect(message.contains(field), "message should name \(field): \(message)", sourceLocation: sourceLocation)
    }
}

/// Whether `text` is an RFC 3339 UTC timestamp.
func isUTCTimestamp(_ value: Any?) -> Bool {
    guard let text = value as? String else { return false }
    return text.hasSuffix("Z") && Timestamp.parseMillis(text) != nil
}

func isNull(_ value: Any?) -> Bool {
    value is NSNull
}

/// The log entry of `type` about message `id` (its `data.message_id`).
func entry(_ entries: [JSONObject], type: String, messageId: String) -> JSONObject? {
    entries.first { $0["type"] as? String == type && ($0["data"] as? JSONObject)?["message_id"] as? String == messageId }
}

/// Runs the sqlite3 command-line tool on a database file and returns its standard output.
func sqlite3(_ path: String, _ sql: String) throws -> String {
    let output = path + ".sqlite3-\(UUID().uuidString.prefix(8))"
    defer {
        try? FileManager.default.removeItem(atPath: output + ".stdout")
        try? FileManager.default.removeItem(atPath: output + ".stderr")
    }
    let process = try ChildProcess(
        executable: "/usr/bin/sqlite3", arguments: ["-cmd", ".timeout 10000", path, sql], environment: [:],
        standardOutput: output + ".stdout", standardError: output + ".stderr")
    process.waitUntilExit()
    let errorText = (try? String(contentsOfFile: output + ".stderr", encoding: .utf8)) ?? ""
    #expect(process.terminationStatus == 0, "sqlite3 failed: \(errorText)")
    let text = (try? String(contentsOfFile: output + ".stdout", encoding: .utf8)) ?? ""
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}
