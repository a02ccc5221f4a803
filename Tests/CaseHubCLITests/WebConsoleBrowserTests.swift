import Foundation
import Testing

/// The web console in a real browser: headless Chromium driven by Selenium
/// (`Tests/Peers/console_browser.py`) against `casehub serve` on a case seeded by `casehub demo`.
/// `scripts/setup` installs Debian's `chromium`, `chromium-driver` and `python3-selenium`.
///
/// With `CASEHUB_SCREENSHOTS=DIR` in the environment it also saves the main screens to DIR
/// (`docs/console` holds the ones the README shows).
@Suite("Web console in a real browser")
struct WebConsoleBrowserTests {
    /// Debian's Python, where `python3-selenium` installs Selenium.
    static let python = "/usr/bin/python3"

    @Test(.timeLimit(.minutes(3)))
    func managerPostsAndTheFamilySeesItLiveAsText() async throws {
        let scratch = try Scratch("browser")
        defer { scratch.remove() }
        let environment = scratch.environment()
        let demo = try await DemoCase.seed(in: scratch, environment: environment)
        func token(_ role: String) throws -> String { try #require(demo.tokens[role], "no \(role) token in \(demo.tokens)") }

        let server = try await HubServer.start(in: scratch, environment: environment)
        defer { server.stop() }
        var arguments = [
            "--base-url", server.baseURL, "--manager-token", try token("case_manager"), "--family-token", try token("family"),
            "--case-id", demo.caseId, "--admin-token", try token("admin"),
        ]
        if let screenshots = ProcessInfo.processInfo.environment["CASEHUB_SCREENSHOTS"] { arguments += ["--screenshots", screenshots] }
        let output = try await runPeerScript(
            "console_browser.py", arguments: arguments, in: scratch, python: Self.python, timeout: .seconds(150))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        #expect(report["ok"] as? Bool == true, "\(output)")
        let seen = report["seen"] as? [String: Any] ?? [:]
        #expect(seen["family_tabs"] as? [String] == ["family"], "\(output)")
        #expect(seen["live"] as? Bool == true && seen["script_body_is_text"] as? Bool == true, "\(output)")
        #expect(seen["access_ended"] as? Bool == true, "\(output)")
    }
}
