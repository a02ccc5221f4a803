import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `casehub log verify`, `export`, `migrate` and `token issue` against a real store.
@Suite("Command line")
struct CommandLineTests {
    static let sqlite3 = "/usr/bin/sqlite3"

    /// Runs one SQL script with the sqlite3 tool and answers its stdout.
    static func sql(_ script: String, on scratch: Scratch) async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: sqlite3) else { throw HarnessError("no sqlite3 tool at \(sqlite3)") }
        let result = try await runCaseHub(
            [scratch.databasePath, script], in: scratch, environment: ProcessInfo.processInfo.environment, executable: sqlite3)
        guard result.status == 0 else { throw HarnessError("sqlite3 \(script.debugDescription) failed: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A tampered log row makes `log verify` exit 1 naming the first bad seq; an intact case
    /// exits 0; an unknown case exits 2 with one line on stderr.
    @Test(.timeLimit(.minutes(3)))
    func logVerifyFindsTamperedRows() async throws {
        try await withRunningHub("tamper") { hub in
            let (scratch, environment, server, client) = (hub.scratch, hub.environment, hub.server, hub.admin)

            // Five cases with three messages each: seq 1 case.opened, seq 2…4 message.posted.
            var cases: [String: String] = [:]
            for (label, mrn) in [("a", "RM-1"), ("b", "RM-2"), ("c", "RM-3"), ("d", "RM-4"), ("e", "RM-5")] {
                let hubCase = try await client.createCase(mrn: mrn)
                cases[label] = hubCase.id
                for n in 1...3 {
                    let message = try await client.postMessage(caseId: hubCase.id, thread: "ppa", body: "\(label)-\(n)")
                    #expect(message.seq == n + 1)
                }
            }
            let a = try #require(cases["a"])
            let b = try #require(cases["b"])
            let c = try #require(cases["c"])
            let d = try #require(cases["d"])
            let e = try #require(cases["e"])
            server.stop()

            // Each statement must change exactly one row, and only where the old text is present.
            // a: the case.opened row's MRN (in data); b: a message.posted row's hashed fields (data);
            // e: a message.posted row's text (content, covered by data.content_sha256);
            // d: its last row removed.
            let tampering = [
                "UPDATE log_entries SET data = replace(data, 'RM-1', 'RM-9') WHERE case_id = '\(a)' AND seq = 1 AND instr(data, 'RM-1') > 0",
                "UPDATE log_entries SET data = replace(data, '\"routine\"', '\"urgent\"') WHERE case_id = '\(b)' AND seq = 3 AND type = 'message.posted' AND instr(data, '\"routine\"') > 0",
                "UPDATE log_entries SET content = replace(content, 'e-2', 'e-X') WHERE case_id = '\(e)' AND seq = 3 AND type = 'message.posted' AND instr(content, 'e-2') > 0",
                "DELETE FROM log_entries WHERE case_id = '\(d)' AND seq = 4",
            ]
            for statement in tampering {
                #expect(try await Self.sql(statement + "; SELECT changes();", on: scratch) == "1", "no row changed by \(statement)")
            }

            for (label, id, bad) in [("case.opened data", a, 1), ("message.posted data", b, 3), ("message.posted content", e, 3), ("last row removed", d, 4)] {
                let broken = try await runCaseHub(["log", "verify", id], in: scratch, environment: environment)
                #expect(broken.status == 1, "\(label): \(broken)")
                #expect(broken.stdout.contains("first bad seq \(bad)"), "\(label): \(broken)")
            }

            let intact = try await runCaseHub(["log", "verify", c], in: scratch, environment: environment)
            #expect(intact.status == 0, "\(intact)")
            #expect(!intact.stdout.contains("bad"), "\(intact)")

            let unknown = try await runCaseHub(["log", "verify", "01900000-0000-7000-8000-000000000000"], in: scratch, environment: environment)
            #expect(unknown.status == 2, "\(unknown)")
            #expect(unknown.stderrLines.count == 1, "\(unknown)")
            #expect(unknown.stdout.isEmpty, "\(unknown)")

            // The API says the same after a restart.
            let again = try await HubServer.start(in: scratch, environment: environment)
            defer { again.stop() }
            let apiClient = HubClient(port: again.port, token: hub.token)
            defer { apiClient.close() }
            for (id, bad) in [(a, 1), (b, 3), (e, 3), (d, 4)] {
                let answer = try await apiClient.get("/v1/cases/\(id)/log/verify")
                #expect(answer.status == 200, "\(answer)")
                let verdict: VerifyView = try answer.decode()
                #expect(!verdict.ok && verdict.firstBadSeq == bad, "log/verify of a case tampered at seq \(bad): \(answer)")
            }
            let intactAnswer = try await apiClient.get("/v1/cases/\(c)/log/verify")
            let intactVerdict: VerifyView = try intactAnswer.decode()
            #expect(intactVerdict.ok && intactVerdict.entries == 4, "\(intactAnswer)")
        }
    }

    /// `export --format jsonl`: one JSON object per log entry, seq ascending, chained.
    @Test(.timeLimit(.minutes(3)))
    func exportWritesTheLogAsJSONLines() async throws {
        try await withRunningHub("export") { hub in
            let (scratch, environment, client) = (hub.scratch, hub.environment, hub.admin)

            let hubCase = try await client.createCase(mrn: "RM-1")
            var ids: [String] = []
            for (n, thread) in ["ppa", "family", "patient", "payer", "ppa"].enumerated() {
                ids.append(try await client.postMessage(caseId: hubCase.id, thread: thread, body: "e-\(n)").id)
            }
            let other = try await client.createCase(mrn: "RM-2")
            _ = try await client.postMessage(caseId: other.id, thread: "ppa", body: "other")
            let viaAPI = try await client.allLogEntries(caseId: hubCase.id)

            // While the hub still runs: the export reads beside it.
            let result = try await runCaseHub(["export", hubCase.id, "--format", "jsonl"], in: scratch, environment: environment)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.hasSuffix("\n"), "\(result)")
            let lines = result.stdoutLines
            #expect(lines.count == 6, "one line per entry (case.opened + 5 messages): \(result)")

            var exported: [LogEntryView] = []
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
                #expect(object is [String: Any], "not a JSON object: \(line)")
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                exported.append(try decoder.decode(LogEntryView.self, from: Data(line.utf8)))
                for key in ["seq", "at", "type", "hash", "prev_hash"] {
                    #expect((object as? [String: Any])?[key] != nil, "line lacks \(key): \(line)")
                }
            }
            #expect(exported.map(\.seq) == Array(1...6))
            #expect(exported.first?.type == "case.opened")
            #expect(exported.dropFirst().allSatisfy { $0.type == "message.posted" })
            #expect(exported.compactMap(\.data.messageId) == ids)
            #expect(exported.first?.prevHash == String(repeating: "0", count: 64))
            for (previous, entry) in zip(exported, exported.dropFirst()) {
                #expect(entry.prevHash == previous.hash, "entry \(entry.seq)'s prev_hash")
            }
            #expect(exported.map(\.hash) == viaAPI.map(\.hash), "the export and GET /log differ")

            // The default format is jsonl too; an unknown case is status 2.
            let plain = try await runCaseHub(["export", hubCase.id], in: scratch, environment: environment)
            #expect(plain.status == 0 && plain.stdout == result.stdout, "\(plain)")
            let unknown = try await runCaseHub(["export", "no-such-case"], in: scratch, environment: environment)
            #expect(unknown.status == 2 && unknown.stderrLines.count == 1 && unknown.stdout.isEmpty, "\(unknown)")
        }
    }

    /// `migrate` on a new database creates it and exits 0, and again on the same one.
    @Test func migrateCreatesANewDatabase() async throws {
        let scratch = try Scratch("migrate")
        defer { scratch.remove() }
        let environment = scratch.environment()
        #expect(!FileManager.default.fileExists(atPath: scratch.databasePath))

        let first = try await runCaseHub(["migrate"], in: scratch, environment: environment)
        #expect(first.status == 0, "\(first)")
        #expect(FileManager.default.fileExists(atPath: scratch.databasePath), "migrate made no file at \(scratch.databasePath)")
        let again = try await runCaseHub(["migrate"], in: scratch, environment: environment)
        #expect(again.status == 0, "\(again)")
        let tables = try await Self.sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;", on: scratch)
        #expect(tables.contains("log_entries") && tables.contains("cases"), "tables: \(tables)")

        // --database overrides CASEHUB_DATABASE_URL.
        let otherPath = scratch.file("nested/other.sqlite").path
        let other = try await runCaseHub(["migrate", "--database", "sqlite://\(otherPath)"], in: scratch, environment: environment)
        #expect(other.status == 0, "\(other)")
        #expect(FileManager.default.fileExists(atPath: otherPath), "migrate --database made no file at \(otherPath)")
    }

    /// Inspecting a database never creates or changes one: a mistyped path is an error, not a
    /// new empty hub.
    @Test func inspectionCommandsCreateNothing() async throws {
        let scratch = try Scratch("inspect")
        defer { scratch.remove() }
        let environment = scratch.environment()
        for command in [["log", "verify", "some-case"], ["export", "some-case"]] {
            let result = try await runCaseHub(command, in: scratch, environment: environment)
            #expect(result.status == 2 && result.stderrLines.count == 1 && result.stdout.isEmpty, "\(result)")
            #expect(result.stderr.contains("no database"), "\(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.databasePath))
    }

    /// `casehub --version` names the API version the build serves, as its OpenAPI document does.
    @Test func versionIsTheAPIVersion() async throws {
        let scratch = try Scratch("version")
        defer { scratch.remove() }
        let result = try await runCaseHub(["--version"], in: scratch, environment: scratch.environment())
        let document = CaseHubBinary.packageRoot.appendingPathComponent("Sources/CaseHubServer/Resources/openapi.json")
        let openAPI = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: document)) as? [String: Any])
        let version = try #require((openAPI["info"] as? [String: Any])?["version"] as? String)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == version, "\(result)")
    }

    /// Only admin tokens come from the CLI.
    @Test func tokenIssueRefusesParticipantRoles() async throws {
        let scratch = try Scratch("token")
        defer { scratch.remove() }
        let environment = scratch.environment()

        let family = try await runCaseHub(["token", "issue", "--role", "family", "--name", "x"], in: scratch, environment: environment)
        #expect(family.status == 2, "\(family)")
        #expect(family.stderrLines.count == 1, "\(family)")
        #expect(family.stdout.isEmpty, "\(family)")

        // Two admin tokens differ; each is one line.
        let one = try await issueAdminToken(in: scratch, environment: environment, name: "ops")
        let two = try await issueAdminToken(in: scratch, environment: environment, name: "ops")
        #expect(one != two)
    }

    /// `token list` shows every token but never a secret; `token revoke ID` makes it answer 401.
    @Test(.timeLimit(.minutes(2)))
    func tokenListAndRevoke() async throws {
        try await withRunningHub("revoke") { hub in
            let integration = try await issueAdminToken(in: hub.scratch, environment: hub.environment, name: "lab integration")
            let hubCase = try await hub.admin.createCase(mrn: "RM-1")
            let added = try await hub.admin.post("/v1/cases/\(hubCase.id)/participants", json: #"{"role":"family","name":"Ibu Sari"}"#)
            #expect(added.status == 201, "\(added)")

            let listed = try await runCaseHub(["token", "list"], in: hub.scratch, environment: hub.environment)
            #expect(listed.status == 0, "\(listed)")
            let rows = listed.stdoutLines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            #expect(rows.first == ["id", "role", "name", "created_at", "revoked_at", "cases"])
            let byName = Dictionary(rows.dropFirst().map { ($0[2], $0) }, uniquingKeysWith: { first, _ in first })
            let lab = try #require(byName["lab integration"], "\(listed)")
            #expect(lab[1] == "admin" && lab[4] == "-" && lab[5] == "all")
            #expect(byName["Ibu Sari"]?[1] == "family" && byName["Ibu Sari"]?[5] == "1", "\(listed)")
            #expect(!listed.stdout.contains(integration) && !listed.stdout.contains(hub.token), "no secret is listed")

            let revoked = try await runCaseHub(["token", "revoke", lab[0]], in: hub.scratch, environment: hub.environment)
            #expect(revoked.status == 0 && revoked.stdout.isEmpty, "\(revoked)")
            let client = HubClient(port: hub.server.port, token: integration)
            defer { client.close() }
            #expect(try await client.get("/v1/cases").status == 401)
            #expect(try await hub.admin.get("/v1/cases").status == 200, "other tokens still work")
            let after = try await runCaseHub(["token", "list"], in: hub.scratch, environment: hub.environment)
            #expect(after.stdoutLines.contains { $0.hasPrefix(lab[0]) && !$0.contains("\t-\t") }, "\(after)")

            // A participant's token is not revoked from here: its access ends through its case.
            let family = try #require(byName["Ibu Sari"])
            let refused = try await runCaseHub(["token", "revoke", family[0]], in: hub.scratch, environment: hub.environment)
            #expect(refused.status == 2 && refused.stderrLines.count == 1 && refused.stderr.contains("participants"), "\(refused)")
            let participant = try #require(try JSONSerialization.jsonObject(with: added.body) as? [String: Any])
            let participantId = try #require((participant["participant"] as? [String: Any])?["id"] as? String)
            #expect(try await hub.admin.send("DELETE", "/v1/cases/\(hubCase.id)/participants/\(participantId)").status == 200)
            let afterRemoval = try await runCaseHub(["token", "list"], in: hub.scratch, environment: hub.environment)
            #expect(afterRemoval.stdoutLines.contains { $0.hasPrefix(family[0]) && $0.hasSuffix("\t0") && !$0.contains("\t-\t") }, "\(afterRemoval)")

            let unknown = try await runCaseHub(["token", "revoke", "no-such-token"], in: hub.scratch, environment: hub.environment)
            #expect(unknown.status == 2 && unknown.stderrLines.count == 1 && unknown.stdout.isEmpty, "\(unknown)")
        }
    }

    /// An issued token works on the API; a made-up one does not.
    @Test(.timeLimit(.minutes(2)))
    func issuedTokenAuthenticates() async throws {
        try await withRunningHub("auth") { hub in
            let server = hub.server
            #expect(server.child.stdout == server.listeningLine + "\n", "serve must print exactly its listening line on stdout")

            let list = try await hub.admin.get("/v1/cases")
            #expect(list.status == 200, "\(list)")

            let bad = HubClient(port: server.port, token: "chub_" + String(repeating: "A", count: 43))
            defer { bad.close() }
            let refused = try await bad.get("/v1/cases")
            #expect(refused.status == 401, "\(refused)")

            let health = try await bad.get("/healthz")
            #expect(health.status == 200, "\(health)")
        }
    }

    /// `/metrics` answers without a token in Prometheus text format, counting requests by
    /// route template (never by raw path, which would carry case ids) and status.
    @Test(.timeLimit(.minutes(2)))
    func metricsCountRequestsByRoute() async throws {
        try await withRunningHub("metrics") { hub in
            let (server, client) = (hub.server, hub.admin)
            let created = try await client.createCase(mrn: "RM-METRICS")
            for _ in 0..<3 { #expect(try await client.get("/v1/cases/\(created.id)").status == 200) }

            let anonymous = HubClient(port: server.port, token: nil)
            defer { anonymous.close() }
            let metrics = try await anonymous.get("/metrics")
            #expect(metrics.status == 200, "\(metrics)")
            #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true, "\(metrics.contentType ?? "no content type")")
            let lines = metrics.text.split(separator: "\n").map(String.init)
            let caseReads = lines.filter {
                $0.hasPrefix("hb_requests{") && $0.contains(#"http_route="/v1/cases/{case}""#) && $0.contains(#"http_response_status_code="200""#)
            }
            #expect(caseReads.count == 1 && caseReads.first?.hasSuffix(" 3") == true, "\(caseReads)")
            #expect(!metrics.text.contains(created.id), "metrics must not carry case ids")
        }
    }

    /// The worker's attempts are counted by channel and outcome: here one webhook attempt
    /// refused by the address guard (loopback is private), which is final.
    @Test(.timeLimit(.minutes(2)))
    func metricsCountDeliveryAttempts() async throws {
        try await withRunningHub("metrics-attempts") { hub in
            let client = hub.admin
            let endpoint = try await client.post(
                "/v1/endpoints", json: #"{"url": "http://127.0.0.1:9/hook", "events": ["message.posted"], "roles": ["ppa"]}"#)
            #expect(endpoint.status == 201, "\(endpoint)")
            let created = try await client.createCase(mrn: "RM-ATTEMPTS")
            _ = try await client.postMessage(caseId: created.id, thread: "ppa", body: "Tekanan darah 120/80")

            let anonymous = HubClient(port: hub.server.port, token: nil)
            defer { anonymous.close() }
            func sample(_ text: String, _ series: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
            }
            let dead = #"casehub_delivery_attempts_total{channel="webhook",outcome="dead"}"#
            let deadRows = #"casehub_deliveries{channel="webhook",status="dead"}"#
            // The attempt is counted when judged, its row changed once recorded: wait for both.
            var text = try await anonymous.get("/metrics").text
            var polls = 1
            while sample(text, dead) != 1 || sample(text, deadRows) != 1, polls < 100 {
                try await Task.sleep(for: .milliseconds(100))
                text = try await anonymous.get("/metrics").text
                polls += 1
            }
            #expect(sample(text, dead) == 1, "\(text)")
            #expect(sample(text, #"casehub_delivery_attempts_total{channel="webhook",outcome="delivered"}"#) == 0, "\(text)")
            #expect(sample(text, deadRows) == 1, "\(text)")
            #expect(sample(text, #"casehub_deliveries{channel="webhook",status="pending"}"#) == 0, "\(text)")
        }
    }
}
