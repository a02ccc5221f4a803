import CaseHubTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Helpers for the process-level tests: they start the built `casehub` executable as a separate
// process, in a fresh temporary folder (so the checkout's config/casehub.yaml is never read),
// with its configuration in environment variables, and talk to it over HTTP on 127.0.0.1.

/// A failure of the test harness itself (binary missing, server that never listened, …).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum CaseHubBinary {
    /// The package root: three levels up from this file (Tests/CaseHubCLITests/HubProcess.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$CASEHUB_BIN`, else `<package root>/.build/debug/casehub`; throws when it is not there.
    static func path() throws -> String {
        let path: String
        if let fromEnvironment = ProcessInfo.processInfo.environment["CASEHUB_BIN"], !fromEnvironment.isEmpty {
            path = fromEnvironment
        } else {
            path = packageRoot.appendingPathComponent(".build/debug/casehub").path
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("no casehub executable at \(path): build first: swift build (or set CASEHUB_BIN)")
        }
        return path
    }
}

/// A fresh temporary folder for one test: working directory, database, output files.
struct Scratch: Sendable {
    let url: URL

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("casehub-cli-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var databasePath: String { url.appendingPathComponent("hub.sqlite").path }

    /// `sqlite:///<tmpdir>/hub.sqlite`
    var databaseURL: String { "sqlite://\(databasePath)" }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ name: String, _ text: String) throws -> URL {
        let file = file(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file
    }

    /// The environment for a child: ours without any CASEHUB_* setting, then the test's
    /// database, port 0 and log level warning, then `overrides`, minus `removing`.
    func environment(_ overrides: [String: String] = [:], removing: [String] = []) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CASEHUB_") }
        environment["CASEHUB_DATABASE_URL"] = databaseURL
        environment["CASEHUB_PORT"] = "0"
        environment["CASEHUB_LOG_LEVEL"] = "warning"
        environment.merge(overrides) { _, new in new }
        for name in removing { environment[name] = nil }
        return environment
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// One started `casehub` process, its stdout and stderr going to files in the scratch folder.
final class HubProcess {
    let process: ChildProcess
    let arguments: [String]
    let stdoutURL: URL
    let stderrURL: URL

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Starts `casehub ARGUMENTS` (or another `executable`) in the scratch folder with exactly `environment`.
    init(_ arguments: [String], in scratch: Scratch, environment: [String: String], executable: String? = nil) throws {
        self.arguments = arguments
        let tool = executable.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "casehub"
        let command = arguments.first.map { $0.filter { $0.isLetter || $0.isNumber } } ?? ""
        let stem = "\(tool)-\(command.prefix(20))-\(UUID().uuidString.prefix(8))"
        stdoutURL = scratch.file("\(stem).stdout")
        stderrURL = scratch.file("\(stem).stderr")
        process = try ChildProcess(
            executable: try executable ?? CaseHubBinary.path(), arguments: arguments, environment: environment, directory: scratch.url.path,
            standardOutput: stdoutURL.path, standardError: stderrURL.path)
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits until the process exits (true) or `timeout` passes or `giveUp` answers true (false).
    func waitForExit(timeout: Duration, giveUp: () -> Bool = { false }) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<100_000 {
            if !process.isRunning { return true }
            if ContinuousClock.now >= deadline || giveUp() { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !process.isRunning
    }

    /// Sends `signal` by PID (only while the process still runs).
    func send(_ signal: Int32) {
        process.send(signal)
    }

    /// Ends the process whatever its state: SIGTERM, up to `grace` to exit, then SIGKILL; always
    /// reaps it. Safe to call more than once; meant for `defer`.
    func stop(grace: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        process.send(SIGTERM)
        let deadline = ContinuousClock.now + grace
        for _ in 0..<10_000 where process.isRunning && ContinuousClock.now < deadline {
            usleep(20_000)
        }
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// SIGKILL now, then reap.
    func crash() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }
}

/// What a finished command printed and how it ended.
struct CommandResult: Sendable, CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let exitedNormally: Bool
    let stdout: String
    let stderr: String

    var stdoutLines: [String] { Self.lines(stdout) }
    var stderrLines: [String] { Self.lines(stderr) }

    /// Lines, without the final newline's empty remainder.
    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    var description: String {
        "casehub \(arguments.joined(separator: " ")) → status \(status)\(exitedNormally ? "" : " (signal)")\n"
            + "stdout: \(stdout.debugDescription)\nstderr: \(stderr.debugDescription)"
    }
}

/// Runs `casehub ARGUMENTS` to its end (killed, and a harness error, after `timeout`).
/// When `failIfServing` is set, a process that prints its listening line is stopped at once.
func runCaseHub(
    _ arguments: [String], in scratch: Scratch, environment: [String: String],
    timeout: Duration = .seconds(60), failIfServing: Bool = false, executable: String? = nil
) async throws -> CommandResult {
    let child = try HubProcess(arguments, in: scratch, environment: environment, executable: executable)
    defer { child.stop(grace: .seconds(5)) }
    var serving = false
    let exited = await child.waitForExit(timeout: timeout) {
        guard failIfServing else { return false }
        serving = child.stdout.contains("casehub listening on")
        return serving
    }
    guard exited else {
        child.stop(grace: .seconds(5))
        throw HarnessError(
            "\(executable ?? "casehub") \(arguments.joined(separator: " ")) \(serving ? "started serving instead of failing" : "did not exit within \(timeout)")"
                + "; stdout: \(child.stdout.debugDescription), stderr: \(child.stderr.debugDescription)")
    }
    child.process.waitUntilExit()
    return CommandResult(
        arguments: arguments, status: child.process.terminationStatus,
        exitedNormally: child.process.terminationReason == .exit, stdout: child.stdout, stderr: child.stderr)
}

/// A hub for one test: a fresh scratch folder and database, `casehub serve` running on it, an
/// admin token and a client holding it.
struct RunningHub {
    let scratch: Scratch
    let environment: [String: String]
    let server: HubServer
    let token: String
    let admin: HubClient
}

/// Runs `body` against a fresh running hub; stops the process and removes the folder after.
func withRunningHub<T>(_ label: String, _ body: (RunningHub) async throws -> T) async throws -> T {
    let scratch = try Scratch(label)
    defer { scratch.remove() }
    let environment = scratch.environment()
    let server = try await HubServer.start(in: scratch, environment: environment)
    defer { server.stop() }
    // Issued while the hub runs: the CLI and the server share the store.
    let token = try await issueAdminToken(in: scratch, environment: environment)
    let admin = HubClient(port: server.port, token: token)
    defer { admin.close() }
    return try await body(RunningHub(scratch: scratch, environment: environment, server: server, token: token, admin: admin))
}

/// A running `casehub serve`, started with port 0, and the port it printed.
final class HubServer {
    let child: HubProcess
    let port: Int
    let listeningLine: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(child: HubProcess, port: Int, line: String) {
        self.child = child
        self.port = port
        self.listeningLine = line
    }

    /// Starts `casehub serve` and reads its stdout until `casehub listening on http://127.0.0.1:PORT`.
    static func start(
        in scratch: Scratch, environment: [String: String], arguments: [String] = [], timeout: Duration = .seconds(60)
    ) async throws -> HubServer {
        let child = try HubProcess(["serve"] + arguments, in: scratch, environment: environment)
        let deadline = ContinuousClock.now + timeout
        let pattern = #/^casehub listening on http://127\.0\.0\.1:(\d+)$/#
        for _ in 0..<100_000 {
            let lines = CommandResult.lines(child.stdout)
            // A line counts once complete (newline written).
            if child.stdout.hasSuffix("\n"), let first = lines.first {
                if let match = first.wholeMatch(of: pattern), let port = Int(match.1), port > 0 {
                    return HubServer(child: child, port: port, line: first)
                }
                child.stop()
                throw HarnessError("casehub serve printed \(first.debugDescription) instead of its listening line; stderr: \(child.stderr)")
            }
            if !child.isRunning {
                child.process.waitUntilExit()
                throw HarnessError(
                    "casehub serve exited with status \(child.process.terminationStatus) before listening; stderr: \(child.stderr)")
            }
            if ContinuousClock.now >= deadline { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        child.stop()
        throw HarnessError("casehub serve printed no listening line within \(timeout); stderr: \(child.stderr)")
    }

    func stop() { child.stop() }
    func crash() { child.crash() }
}

/// An HTTP answer.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    let status: Int
    let body: Data
    let contentType: String?

    var text: String { String(decoding: body, as: UTF8.self) }
    var description: String { "HTTP \(status) \(text)" }

    func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: body)
    }
}

/// A small client of one hub on 127.0.0.1, with a bearer token.
final class HubClient: Sendable {
    let session: URLSession
    let baseURL: String
    let token: String?

    init(port: Int, token: String?, requestTimeout: TimeInterval = 15) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.timeoutIntervalForRequest = requestTimeout
        configuration.timeoutIntervalForResource = requestTimeout * 2
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
        baseURL = "http://127.0.0.1:\(port)"
        self.token = token
    }

    /// `method path` with an optional JSON body (sent as application/json).
    func send(_ method: String, _ path: String, json: String? = nil) async throws -> HTTPAnswer {
        guard let url = URL(string: baseURL + path) else { throw HarnessError("bad URL \(baseURL + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw HarnessError("\(method) \(path): not an HTTP answer") }
        return HTTPAnswer(status: http.statusCode, body: data, contentType: http.value(forHTTPHeaderField: "Content-Type"))
    }

    func get(_ path: String) async throws -> HTTPAnswer { try await send("GET", path) }

    func post(_ path: String, json: String) async throws -> HTTPAnswer { try await send("POST", path, json: json) }

    func close() { session.invalidateAndCancel() }
}

// MARK: - API shapes the tests read (snake_case keys decoded as camelCase)

struct CaseView: Decodable, Sendable {
    let id: String
    let mrn: String
    let status: String
}

struct MessageView: Decodable, Sendable {
    let id: String
    let caseId: String
    let thread: String
    let seq: Int
    let body: String
}

struct MessagePage: Decodable, Sendable {
    let messages: [MessageView]
    let hasMore: Bool
}

struct LogEntryView: Decodable, Sendable {
    struct EntryData: Decodable, Sendable {
        let messageId: String?
    }

    let seq: Int
    let at: String
    let type: String
    let thread: String?
    let hash: String
    let prevHash: String
    let data: EntryData
}

struct LogPage: Decodable, Sendable {
    let entries: [LogEntryView]
    let hasMore: Bool
}

struct VerifyView: Decodable, Sendable {
    let ok: Bool
    let entries: Int?
    let firstBadSeq: Int?
}

extension HubClient {
    /// Creates a case and answers it (requires 201).
    func createCase(mrn: String, patient: String = "Budi") async throws -> CaseView {
        let answer = try await post("/v1/cases", json: #"{"mrn":"\#(mrn)","patient":{"name":"\#(patient)"}}"#)
        guard answer.status == 201 else { throw HarnessError("POST /v1/cases: expected 201, got \(answer)") }
        return try answer.decode()
    }

    /// Posts one text message (requires 201).
    func postMessage(caseId: String, thread: String, body: String) async throws -> MessageView {
        let answer = try await post("/v1/cases/\(caseId)/threads/\(thread)/messages", json: #"{"body":"\#(body)"}"#)
        guard answer.status == 201 else { throw HarnessError("POST message: expected 201, got \(answer)") }
        return try answer.decode()
    }

    /// Every message of a thread, paging with after=SEQ&limit=200 until has_more is false.
    func allMessages(caseId: String, thread: String, maxPages: Int = 10_000) async throws -> [MessageView] {
        try await allPages(
            "messages", maxPages: maxPages, path: { "/v1/cases/\(caseId)/threads/\(thread)/messages?after=\($0)&limit=200" },
            items: { (page: MessagePage) in page.messages }, hasMore: \.hasMore, seq: \.seq)
    }

    /// The whole case log, paging with after=SEQ&limit=1000 until has_more is false.
    func allLogEntries(caseId: String, maxPages: Int = 10_000) async throws -> [LogEntryView] {
        try await allPages(
            "log", maxPages: maxPages, path: { "/v1/cases/\(caseId)/log?after=\($0)&limit=1000" },
            items: { (page: LogPage) in page.entries }, hasMore: \.hasMore, seq: \.seq)
    }

    /// Follows `after=SEQ` pages until `has_more` is false, checking each page advances.
    private func allPages<Page: Decodable, Item>(
        _ what: String, maxPages: Int, path: (Int) -> String, items: (Page) -> [Item], hasMore: (Page) -> Bool, seq: (Item) -> Int
    ) async throws -> [Item] {
        var all: [Item] = []
        var after = 0
        for _ in 0..<maxPages {
            let answer = try await get(path(after))
            guard answer.status == 200 else { throw HarnessError("GET \(what) after \(after): \(answer)") }
            let page: Page = try answer.decode()
            all += items(page)
            guard hasMore(page) else { return all }
            guard let last = items(page).last else { throw HarnessError("\(what) page after \(after): has_more but empty") }
            guard seq(last) > after else { throw HarnessError("\(what) page after \(after) did not advance") }
            after = seq(last)
        }
        throw HarnessError("\(what): more than \(maxPages) pages")
    }
}

/// Issues an admin token with the CLI and checks it is the only thing on stdout.
func issueAdminToken(in scratch: Scratch, environment: [String: String], name: String = "ops") async throws -> String {
    let result = try await runCaseHub(["token", "issue", "--role", "admin", "--name", name], in: scratch, environment: environment)
    guard result.status == 0, result.exitedNormally else { throw HarnessError("token issue failed: \(result)") }
    let lines = result.stdoutLines
    #expect(lines.count == 1, "token issue must print exactly one line: \(result)")
    #expect(result.stdout.hasSuffix("\n"))
    guard let token = lines.first else { throw HarnessError("token issue printed nothing: \(result)") }
    #expect(token.wholeMatch(of: #/chub_[A-Za-z0-9_\-]{43}/#) != nil, "token \(token.debugDescription) is not chub_ + 43 base64url characters")
    return token
}
