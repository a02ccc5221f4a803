import CaseHubTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The real peers the delivery tests send to: the Python scripts in Tests/Peers, started as
// processes on 127.0.0.1 (a webhook receiver that checks signatures with the official
// Standard Webhooks library, an aiosmtpd SMTP server), each recording what it received as
// JSON lines in a file of the test's scratch folder.

enum PeerScripts {
    static let directory = CaseHubBinary.packageRoot.appendingPathComponent("Tests/Peers")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `python3` is found on PATH through env(1), which execs it: the PID we hold is Python's.
    static let env = "/usr/bin/env"

    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        return environment
    }
}

/// One started peer script: it printed `listening PORT` and appends records to `recordURL`.
/// Stopped by its PID (SIGTERM, then SIGKILL), always reaped; `stop` is safe to call twice.
final class PeerProcess {
    let child: HubProcess
    let port: Int
    let recordURL: URL
    let script: String

    private init(child: HubProcess, port: Int, recordURL: URL, script: String) {
        self.child = child
        self.port = port
        self.recordURL = recordURL
        self.script = script
    }

    /// Starts `python3 Tests/Peers/SCRIPT --record FILE` and waits for its `listening PORT` line.
    static func start(_ script: String, in scratch: Scratch, timeout: Duration = .seconds(30)) async throws -> PeerProcess {
        let recordURL = scratch.file("\(script)-\(UUID().uuidString.prefix(8)).jsonl")
        guard FileManager.default.createFile(atPath: recordURL.path, contents: nil) else {
            throw HarnessError("cannot create \(recordURL.path)")
        }
        let child = try HubProcess(
            ["python3", PeerScripts.path(script), "--record", recordURL.path], in: scratch, environment: PeerScripts.environment,
            executable: PeerScripts.env)
        let deadline = ContinuousClock.now + timeout
        let pattern = #/^listening (\d+)$/#
        for _ in 0..<100_000 {
            let output = child.stdout
            if output.hasSuffix("\n"), let first = CommandResult.lines(output).first {
                if let match = first.wholeMatch(of: pattern), let port = Int(match.1), port > 0 {
                    return PeerProcess(child: child, port: port, recordURL: recordURL, script: script)
                }
                child.stop(grace: .seconds(2))
                throw HarnessError("\(script) printed \(first.debugDescription) instead of `listening PORT`; stderr: \(child.stderr)")
            }
            if !child.isRunning {
                child.process.waitUntilExit()
                throw HarnessError("\(script) exited with status \(child.process.terminationStatus) before listening; stderr: \(child.stderr)")
            }
            if ContinuousClock.now >= deadline { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        child.stop(grace: .seconds(2))
        throw HarnessError("\(script) printed no listening line within \(timeout); stderr: \(child.stderr)")
    }

    func stop() { child.stop(grace: .seconds(5)) }

    /// Every complete line of the record file, decoded (a line being written is left for later).
    func records<Record: Decodable>(_ type: Record.Type = Record.self) throws -> [Record] {
        let text = try String(contentsOf: recordURL, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // the text after the last newline: empty, or a line not yet complete
        let decoder = JSONDecoder()
        return try lines.filter { !$0.isEmpty }.map { line in
            do {
                return try decoder.decode(Record.self, from: Data(line.utf8))
            } catch {
                throw HarnessError("\(script) wrote a record that is not a \(Record.self): \(line.prefix(300)) (\(error))")
            }
        }
    }
}

/// One request the webhook receiver got, as `webhook_receiver.py` records it.
struct ReceivedWebhook: Decodable, Sendable, CustomStringConvertible {
    let path: String
    /// Header names in lower case.
    let headers: [String: String]
    let body: String
    /// What the official `standardwebhooks` library said of the signature; nil when the
    /// receiver knew no secret for the path.
    let verified: Bool?
    /// The status the receiver answered.
    let answered: Int

    var webhookId: String? { headers["webhook-id"] }

    /// The body as a JSON object (throws when it is not one).
    func payload() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw HarnessError("webhook body is not a JSON object: \(body)")
        }
        return object
    }

    var description: String { "\(path) answered \(answered), verified \(verified.map(String.init) ?? "nil"), webhook-id \(webhookId ?? "none"): \(body)" }
}

/// `webhook_receiver.py`: answers by path (/ok, /status/CODE, /flaky/N, /retry-after/S/N,
/// /slow/S) and verifies signatures once told the secrets.
final class WebhookReceiver {
    let peer: PeerProcess

    private init(peer: PeerProcess) { self.peer = peer }

    static func start(in scratch: Scratch) async throws -> WebhookReceiver {
        WebhookReceiver(peer: try await PeerProcess.start("webhook_receiver.py", in: scratch))
    }

    var port: Int { peer.port }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Tells the receiver which secret signs requests to paths starting with each prefix.
    func register(secrets: [String: String]) async throws {
        let client = HubClient(port: port, token: nil)
        defer { client.close() }
        let answer = try await client.post("/_secrets", json: try jsonText(secrets))
        guard answer.status == 204 else { throw HarnessError("POST /_secrets to the receiver: \(answer)") }
    }

    /// Every request recorded so far.
    func requests() throws -> [ReceivedWebhook] { try peer.records() }

    /// The requests to paths starting with `prefix`.
    func requests(under prefix: String) throws -> [ReceivedWebhook] { try requests().filter { $0.path.hasPrefix(prefix) } }

    func stop() { peer.stop() }
}

/// One mail the SMTP sink accepted, as `smtp_sink.py` records it.
struct ReceivedMail: Decodable, Sendable {
    let mailFrom: String
    let rcptTos: [String]
    /// The raw message as sent in DATA.
    let data: String

    enum CodingKeys: String, CodingKey {
        case mailFrom = "mail_from"
        case rcptTos = "rcpt_tos"
        case data
    }
}

/// `smtp_sink.py` (aiosmtpd): temp-fail-N@… get 451 N times, reject@… gets 550.
final class SMTPSink {
    let peer: PeerProcess

    private init(peer: PeerProcess) { self.peer = peer }

    static func start(in scratch: Scratch) async throws -> SMTPSink {
        SMTPSink(peer: try await PeerProcess.start("smtp_sink.py", in: scratch))
    }

    var url: String { "smtp://127.0.0.1:\(peer.port)" }

    func mails() throws -> [ReceivedMail] { try peer.records() }

    func stop() { peer.stop() }
}

/// A mail as Python's `email` package reads it (`parse_mail.py`).
struct ParsedMail: Decodable, Sendable {
    struct Part: Decodable, Sendable {
        let type: String
        let charset: String?
        let text: String

        /// The text with CRLF line ends turned into LF.
        var lines: String { text.replacingOccurrences(of: "\r\n", with: "\n") }
    }

    let subject: String
    let from: String
    let to: String
    let toName: String?
    let date: String
    let messageId: String
    let inReplyTo: String
    let references: String
    let contentType: String
    let defects: [String]
    let parts: [Part]

    func part(_ type: String) -> Part? { parts.first { $0.type == type } }

    /// Parses `raw` with `parse_mail.py`.
    static func parse(_ raw: String, in scratch: Scratch) async throws -> ParsedMail {
        let output = try await runPeerScript("parse_mail.py", input: Data(raw.utf8), in: scratch)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(ParsedMail.self, from: Data(output.utf8))
        } catch {
            throw HarnessError("parse_mail.py printed something else than its JSON: \(output.prefix(500)) (\(error))")
        }
    }
}

/// Runs `python3 Tests/Peers/SCRIPT ARGUMENTS` with `input` on stdin and answers its stdout;
/// throws when it fails or runs longer than `timeout` (then it is killed by PID).
///
/// - Parameter python: the interpreter; the browser test names Debian's, where the
///   `python3-selenium` package installs Selenium.
func runPeerScript(
    _ script: String, arguments: [String] = [], input: Data = Data(), in scratch: Scratch, python: String = "python3",
    timeout: Duration = .seconds(30)
) async throws -> String {
    let stem = "\(script)-\(UUID().uuidString.prefix(8))"
    let inputURL = scratch.file("\(stem).stdin")
    let outputURL = scratch.file("\(stem).stdout")
    let errorURL = scratch.file("\(stem).stderr")
    try input.write(to: inputURL)
    let process = try ChildProcess(
        executable: PeerScripts.env, arguments: [python, PeerScripts.path(script)] + arguments, environment: PeerScripts.environment,
        directory: scratch.url.path, standardInput: inputURL.path, standardOutput: outputURL.path, standardError: errorURL.path)
    let deadline = ContinuousClock.now + timeout
    for _ in 0..<100_000 where process.isRunning && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(10))
    }
    if process.isRunning {
        process.send(SIGKILL)
        process.waitUntilExit()
        throw HarnessError("\(script) ran longer than \(timeout)")
    }
    process.waitUntilExit()
    let output = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
        let errors = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
        throw HarnessError("\(script) failed with status \(process.terminationStatus): \(output) \(errors.suffix(2000))")
    }
    return output
}

/// A JSON text of a dictionary, array or string (for request bodies holding arbitrary text).
func jsonText(_ value: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    return String(decoding: data, as: UTF8.self)
}

/// A TCP port on 127.0.0.1 that nothing listens on: bound once by us, then closed.
func closedLoopbackPort() throws -> Int {
    #if canImport(Glibc)
    let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    let streamType = SOCK_STREAM
    #endif
    let descriptor = socket(AF_INET, streamType, 0)
    guard descriptor >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw HarnessError("bind() failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw HarnessError("getsockname() failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
