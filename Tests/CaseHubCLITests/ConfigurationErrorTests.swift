import Foundation
import Testing

/// A configuration error stops `casehub serve` before it listens: exit status 2 and one
/// line on stderr naming the key or the cause.
@Suite("Configuration errors")
struct ConfigurationErrorTests {
    /// Runs `casehub serve ARGUMENTS` and requires it to exit within 30 s without serving.
    static func serveMustFail(
        _ label: String, arguments: [String] = [], environment overrides: [String: String] = [:],
        files: [String: String] = [:], naming expected: [String]
    ) async throws {
        let scratch = try Scratch("config-\(label)")
        defer { scratch.remove() }
        for (name, text) in files { _ = try scratch.write(name, text) }
        let environment = scratch.environment(overrides)
        let result = try await runCaseHub(
            ["serve"] + arguments.map { $0.replacingOccurrences(of: "$SCRATCH", with: scratch.url.path) },
            in: scratch, environment: environment, timeout: .seconds(30), failIfServing: true)
        #expect(result.exitedNormally && result.status == 2, "\(label): expected exit status 2: \(result)")
        #expect(result.stderrLines.count == 1, "\(label): expected one line on stderr: \(result)")
        let line = result.stderrLines.first ?? ""
        for word in expected {
            #expect(line.lowercased().contains(word.lowercased()), "\(label): the line should name \(word): \(result)")
        }
        #expect(!result.stdout.contains("listening"), "\(label): \(result)")
    }

    @Test func unknownKeyInConfigFile() async throws {
        try await Self.serveMustFail(
            "unknown-key", arguments: ["--config", "$SCRATCH/hub.yaml"], files: ["hub.yaml": "port: 0\ncolour: blue\n"],
            naming: ["colour"])
    }

    @Test func portOfTheWrongTypeInConfigFile() async throws {
        try await Self.serveMustFail(
            "port-list", arguments: ["--config", "$SCRATCH/hub.yaml"], files: ["hub.yaml": "port: [1]\n"], naming: ["port"])
        try await Self.serveMustFail(
            "port-string", arguments: ["--config", "$SCRATCH/hub.yaml"], files: ["hub.yaml": "port: \"abc\"\n"], naming: ["port"])
    }

    @Test func unknownKeyInTheDefaultFile() async throws {
        // config/casehub.yaml of the working directory is read when nothing else is named.
        try await Self.serveMustFail("default-file", files: ["config/casehub.yaml": "colour: blue\n"], naming: ["colour"])
    }

    @Test func unknownKeyInTheFileNamedByCASEHUB_CONFIG() async throws {
        let scratch = try Scratch("config-env-file")
        defer { scratch.remove() }
        let file = try scratch.write("named.yaml", "colour: blue\n")
        try await Self.serveMustFail("env-file", environment: ["CASEHUB_CONFIG": file.path], naming: ["colour"])
    }

    @Test func portVariableThatIsNotANumber() async throws {
        try await Self.serveMustFail("env-port", environment: ["CASEHUB_PORT": "notaport"], naming: ["CASEHUB_PORT"])
    }

    @Test func listenAddressThatIsNoHost() async throws {
        try await Self.serveMustFail("env-host", environment: ["CASEHUB_HOST": "not..a..host"], naming: ["CASEHUB_HOST"])
        try await Self.serveMustFail("env-host-digits", environment: ["CASEHUB_HOST": "999.1.1.1"], naming: ["CASEHUB_HOST"])
    }

    /// A well-formed host name that does not resolve stops start-up the same way (`.invalid`
    /// never resolves, RFC 2606).
    @Test func listenHostThatDoesNotResolve() async throws {
        try await Self.serveMustFail(
            "host-unresolved", arguments: ["--host", "no-such-host.invalid"], environment: ["CASEHUB_LOG_LEVEL": "error"],
            naming: ["host", "no-such-host.invalid"])
    }

    @Test func databaseURLOfAnUnknownKind() async throws {
        try await Self.serveMustFail("env-mysql", environment: ["CASEHUB_DATABASE_URL": "mysql://x"], naming: ["database_url"])
    }

    @Test func unreachableOrMalformedPostgres() async throws {
        let port = try closedLoopbackPort()
        try await Self.serveMustFail(
            "pg-closed-port", environment: ["CASEHUB_DATABASE_URL": "postgres://casehub@127.0.0.1:\(port)/casehub"],
            naming: ["database_url", "127.0.0.1:\(port)", "refused"])
        try await Self.serveMustFail(
            "pg-bad-option", environment: ["CASEHUB_DATABASE_URL": "postgres://casehub@127.0.0.1:5432/casehub?pool=3"],
            naming: ["database_url", "unknown parameter 'pool'"])
        try await Self.serveMustFail(
            "pg-no-database", environment: ["CASEHUB_DATABASE_URL": "postgres://casehub@127.0.0.1:5432"], naming: ["database_url", "no database"])
    }

    @Test func unusableSQLitePath() async throws {
        try await Self.serveMustFail(
            "sqlite-proc", environment: ["CASEHUB_DATABASE_URL": "sqlite:///proc/nonexistent/x.sqlite"], naming: [])
        // A path mistyped deep in the tree makes no folders: only the file's own folder is made.
        let scratch = try Scratch("sqlite-deep")
        defer { scratch.remove() }
        let deep = scratch.file("nowhere/deeper/hub.sqlite").path
        try await Self.serveMustFail(
            "sqlite-deep", environment: ["CASEHUB_DATABASE_URL": "sqlite://\(deep)"],
            naming: ["database_url", scratch.file("nowhere").path, "does not exist"])
        #expect(!FileManager.default.fileExists(atPath: scratch.file("nowhere").path))
    }

    @Test(.timeLimit(.minutes(2)))
    func portAlreadyInUse() async throws {
        let scratch = try Scratch("config-port-taken")
        defer { scratch.remove() }
        let first = try await HubServer.start(in: scratch, environment: scratch.environment([:]))
        defer { first.stop() }
        try await Self.serveMustFail(
            "port-taken", environment: ["CASEHUB_PORT": String(first.port), "CASEHUB_LOG_LEVEL": "error"], naming: ["cannot listen", String(first.port), "in use"])
    }

    @Test func missingConfigFile() async throws {
        try await Self.serveMustFail(
            "missing-file", arguments: ["--config", "$SCRATCH/nowhere.yaml"], naming: ["nowhere.yaml"])
    }

    /// The counterpart: a valid file named with --config is what serve runs with.
    @Test(.timeLimit(.minutes(2)))
    func validConfigFileIsUsed() async throws {
        let scratch = try Scratch("config-valid")
        defer { scratch.remove() }
        let database = scratch.file("from-file.sqlite").path
        let file = try scratch.write("hub.yaml", """
            host: 127.0.0.1
            port: 0
            database_url: sqlite://\(database)
            log_level: warning
            smtp_url:
            retry_schedule: 1s,2s
            access:
              ppa: [patient, ppa]
            """)
        let environment = scratch.environment(removing: ["CASEHUB_PORT", "CASEHUB_DATABASE_URL"])
        let server = try await HubServer.start(in: scratch, environment: environment, arguments: ["--config", file.path])
        defer { server.stop() }
        #expect(FileManager.default.fileExists(atPath: database), "serve did not open the database the file names")
        #expect(!FileManager.default.fileExists(atPath: scratch.databasePath))
    }
}
