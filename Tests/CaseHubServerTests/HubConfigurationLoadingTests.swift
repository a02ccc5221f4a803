import CaseHubCore
import CaseHubDelivery
import Foundation
import Testing

@testable import CaseHubServer

/// Configuration: the shipped file, environment overrides, and one clear error per mistake.
@Suite struct HubConfigurationLoadingTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func withFile(_ yaml: String, _ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    func error(_ body: () throws -> HubConfiguration) -> ConfigurationError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test func theShippedFileHoldsTheContractDefaults() throws {
        let file = Self.packageRoot.appendingPathComponent("config/casehub.yaml").path
        let configuration = try HubConfiguration.load(file: file, environment: [:])
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.database == .sqlite(path: "./data/casehub.sqlite"))
        #expect(configuration.smtpURL == nil && configuration.smtpFrom == "casehub@localhost")
        #expect(!configuration.webhookAllowPrivate && configuration.publicURL == "http://127.0.0.1:8080")
        #expect(configuration.retrySchedule == RetrySchedule.default)
        #expect(configuration.access == AccessPolicy.default)
        #expect(configuration.coordination == CoordinationSettings.default, "the file writes out the shipped routing rules and timings")
        #expect(configuration.timeZone == "Asia/Jakarta")
        #expect(configuration.rateLimit == nil, "no rate limit unless one is set")
    }

    @Test func theRateLimitComesFromTheFileOrTheEnvironment() throws {
        try withFile("rate_limit_per_minute: 120\nrate_limit_burst: 30\n") { path in
            #expect(try HubConfiguration.load(file: path, environment: [:]).rateLimit == RateLimit(perMinute: 120, burst: 30))
            let overridden = try HubConfiguration.load(file: path, environment: ["CASEHUB_RATE_LIMIT_PER_MINUTE": "0"])
            #expect(overridden.rateLimit == nil, "0 turns the limit off")
        }
        let fromEnvironment = try HubConfiguration.load(file: nil, environment: ["CASEHUB_RATE_LIMIT_PER_MINUTE": "300"])
        #expect(fromEnvironment.rateLimit == RateLimit(perMinute: 300, burst: 60))
        for (name, value) in [("CASEHUB_RATE_LIMIT_PER_MINUTE", "-1"), ("CASEHUB_RATE_LIMIT_BURST", "0"), ("CASEHUB_RATE_LIMIT_BURST", "many")] {
            let problem = try #require(error { try HubConfiguration.load(file: nil, environment: [name: value]) })
            #expect(problem.key == name)
        }
        #expect(HubConfiguration.unknownVariables(in: ["CASEHUB_RATE_LIMIT_BURST": "5"]).isEmpty)
    }

    @Test("routing rules, timings and channels are read from the file and the environment")
    func coordinationKeys() throws {
        let yaml = """
            ack_timeout: 10m
            ack_escalation_interval: 5m
            ack_escalation_limit: 2
            milestone_overdue_grace: 2h
            escalation_channels: [email]
            time_zone: Asia/Makassar
            routing:
              - name: urgent_family_to_ppa
                when: {thread: family, priority: [urgent]}
                relay_to: [ppa]
                notify:
                  - {channel: webhook, roles: [ppa, case_manager]}
            """
        try withFile(yaml) { path in
            let configuration = try HubConfiguration.load(file: path, environment: ["CASEHUB_ACK_ESCALATION_LIMIT": "4"])
            let coordination = configuration.coordination
            #expect(coordination.ackTimeoutMillis == 600_000 && coordination.ackEscalationIntervalMillis == 300_000)
            #expect(coordination.ackEscalationLimit == 4, "the environment wins over the file")
            #expect(coordination.overdueGraceMillis == 7_200_000 && coordination.escalationChannels == [.email])
            #expect(configuration.timeZone == "Asia/Makassar")
            #expect(
                coordination.routing == [
                    RoutingRule(
                        name: "urgent_family_to_ppa", threads: [.family], priorities: [.urgent], relayTo: [.ppa],
                        notify: [RoutingRule.Notification(channel: .webhook, roles: [.ppa, .caseManager])])
                ])
        }
        let fromEnvironment = try HubConfiguration.load(
            file: nil, environment: ["CASEHUB_ROUTING": #"[{"name": "only", "when": {"kind": ["handoff"]}, "require_ack": true}]"#])
        #expect(fromEnvironment.coordination.routing == [RoutingRule(name: "only", kinds: [.handoff], requireAck: true)])
    }

    @Test("a routing mistake stops start-up with one line naming the rule, the key and the word", arguments: [
        ("routing:\n  - name: x\n    when: {kind: [handof]}\n", "routing[0].when.kind", "handof"),
        ("routing:\n  - name: x\n    when: {thread: [nurses]}\n", "routing[0].when.thread", "nurses"),
        ("routing:\n  - name: x\n    relay_to: [ppa]\n  - name: y\n    notify: [{channel: sms, roles: [ppa]}]\n", "routing[1].notify[0].channel", "sms"),
        ("routing:\n  - name: x\n    notify: [{channel: email, roles: [doctor]}]\n", "routing[0].notify[0].roles", "doctor"),
        ("routing:\n  - name: x\n    relay: [ppa]\n", "routing[0].relay", "unknown key"),
        ("routing:\n  - name: x\n    when: {kind: [milestone]}\n", "routing[0].when.kind", "milestone"),
        ("routing:\n  - name: x\n  - name: x\n", "routing[1].name", "two rules"),
        ("routing:\n  - when: {kind: [text]}\n", "routing[0].name", "required"),
        ("ack_timeout: soon\n", "ack_timeout", "soon"),
        ("escalation_channels: [pager]\n", "escalation_channels", "pager"),
        ("time_zone: Mars/Olympus\n", "time_zone", "Mars/Olympus"),
    ])
    func routingMistakes(yaml: String, key: String, word: String) throws {
        try withFile(yaml) { path in
            let problem = try #require(error { try HubConfiguration.load(file: path, environment: [:]) })
            #expect(problem.key == key, "\(problem)")
            #expect(problem.description.contains(word), "\(problem)")
            #expect(!problem.description.contains("\n"))
        }
    }

    @Test func environmentOverridesTheFile() throws {
        try withFile("port: 9000\nhost: 0.0.0.0\n") { path in
            let configuration = try HubConfiguration.load(
                file: path,
                environment: [
                    "CASEHUB_PORT": "9100", "CASEHUB_DATABASE_URL": "sqlite:///var/lib/casehub/hub.sqlite",
                    "CASEHUB_SMTP_URL": "smtp://127.0.0.1:2525", "CASEHUB_WEBHOOK_ALLOW_PRIVATE": "true",
                    "CASEHUB_RETRY_SCHEDULE": "1s,2m,3h", "CASEHUB_ACCESS_PPA": "patient,ppa", "CASEHUB_TEST_SOMETHING": "ignored",
                ])
            #expect(configuration.port == 9100 && configuration.host == "0.0.0.0")
            #expect(configuration.database == .sqlite(path: "/var/lib/casehub/hub.sqlite"))
            #expect(configuration.smtpURL == "smtp://127.0.0.1:2525" && configuration.webhookAllowPrivate)
            #expect(configuration.retrySchedule == [.seconds(1), .seconds(120), .seconds(10800)])
            #expect(configuration.access.threads(for: .ppa) == [.patient, .ppa])
        }
    }

    @Test func deliveryLimitsComeFromTheFileOrTheEnvironment() throws {
        try withFile("webhook_concurrency: 4\nsmtp_concurrency: 2\nendpoint_disable_after: 36h\n") { path in
            let fromFile = try HubConfiguration.load(file: path, environment: [:])
            #expect(fromFile.deliverySettings.perEndpointConcurrency == 4 && fromFile.deliverySettings.smtpConcurrency == 2)
            #expect(fromFile.deliverySettings.disableFailingEndpointAfter == .seconds(36 * 3600))
            let overridden = try HubConfiguration.load(file: path, environment: ["CASEHUB_WEBHOOK_CONCURRENCY": "32"])
            #expect(overridden.deliverySettings.perEndpointConcurrency == 32)
            #expect(throws: ConfigurationError.self) { try HubConfiguration.load(file: path, environment: ["CASEHUB_SMTP_CONCURRENCY": "0"]) }
        }
    }

    @Test func theAccessTableCanBeChangedInTheFile() throws {
        try withFile("access:\n  family: [family, patient]\n") { path in
            let configuration = try HubConfiguration.load(file: path, environment: [:])
            #expect(configuration.access.threads(for: .family) == [.patient, .family])
            #expect(configuration.access.threads(for: .payer) == [.payer])
        }
    }

    @Test(arguments: [
        ("colour: blue\n", "colour"),
        ("port: [1]\n", "port"),
        ("port: 70000\n", "port"),
        ("webhook_allow_private: maybe\n", "webhook_allow_private"),
        ("retry_schedule: soon\n", "retry_schedule"),
        ("database_url: mysql://db/hub\n", "database_url"),
        ("smtp_url: http://mail\n", "smtp_url"),
        ("smtp_url: smtp://\n", "smtp_url"),
        ("smtp_url: smtp://mail:99999\n", "smtp_url"),
        ("smtp_from: not-an-address\n", "smtp_from"),
        ("smtp_from: \"hub@rs.example.id\\r\\nBcc: x@y.z\"\n", "smtp_from"),
        ("public_url: rs.example.id\n", "public_url"),
        ("public_url: ftp://rs.example.id\n", "public_url"),
        ("host: not..a..host\n", "host"),
        ("host: \"10.0.0.1 \"\n", "host"),
        ("host: 999.1.1.1\n", "host"),
        ("access:\n  family: [kitchen]\n", "access.family"),
        ("access:\n  admin: [family]\n", "access.admin"),
        ("- just\n- a list\n", "config"),
    ])
    func fileMistakesNameTheirKey(_ yaml: String, _ key: String) throws {
        try withFile(yaml) { path in
            let problem = error { try HubConfiguration.load(file: path, environment: [:]) }
            #expect(problem?.key == key)
            #expect(problem.map { !$0.description.contains("\n") } == true)
        }
    }

    @Test(arguments: [
        ("CASEHUB_PORT", "eighty"), ("CASEHUB_DATABASE_URL", "mysql://x"), ("CASEHUB_LOG_LEVEL", "loud"),
        ("CASEHUB_WEBHOOK_ALLOW_PRIVATE", "yes please"), ("CASEHUB_ACCESS_NURSE", "ppa"), ("CASEHUB_HOST", "not..a..host"),
        ("CASEHUB_SMTP_URL", "smtp://"), ("CASEHUB_SMTP_FROM", "notanaddress"), ("CASEHUB_PUBLIC_URL", "notaurl"),
    ])
    func environmentMistakesNameTheirVariable(_ name: String, _ value: String) {
        let file = Self.packageRoot.appendingPathComponent("config/casehub.yaml").path
        let problem = error { try HubConfiguration.load(file: file, environment: [name: value]) }
        // Database URLs are reported under the key they share with the file.
        #expect(problem?.key == (name == "CASEHUB_DATABASE_URL" ? "database_url" : name))
    }

    @Test func placesInTheirUsualFormsAreAccepted() throws {
        let file = Self.packageRoot.appendingPathComponent("config/casehub.yaml").path
        for (name, value) in [
            ("CASEHUB_HOST", "0.0.0.0"), ("CASEHUB_HOST", "::1"), ("CASEHUB_HOST", "localhost"), ("CASEHUB_HOST", "casehub-1.rs.example.id"),
            ("CASEHUB_SMTP_URL", "smtp://127.0.0.1:2525"), ("CASEHUB_SMTP_URL", "smtps://user:secret@mail.rs.example.id:465"),
            ("CASEHUB_SMTP_URL", "smtp://[::1]:25"), ("CASEHUB_SMTP_FROM", "casehub@localhost"),
            ("CASEHUB_SMTP_FROM", "mpp.casehub@rs.example.id"), ("CASEHUB_PUBLIC_URL", "https://casehub.rs.example.id/mpp"),
            ("CASEHUB_PUBLIC_URL", "http://127.0.0.1:8080"), ("CASEHUB_HOST", "smtp_relay"), ("CASEHUB_HOST", "casehub.rs.example.id."),
            ("CASEHUB_HOST", "fe80::1%eth0"), ("CASEHUB_SMTP_FROM", ""),
        ] {
            #expect(throws: Never.self, "\(name)=\(value)") { try HubConfiguration.load(file: file, environment: [name: value]) }
        }
    }

    @Test func placeErrorsStayOnOneLineAndHidePasswords() {
        let relay = error { try HubConfiguration.load(file: nil, environment: ["CASEHUB_SMTP_URL": "smtps://mpp:s3cret@mail:99999"]) }
        #expect(relay?.key == "CASEHUB_SMTP_URL")
        #expect(relay.map { !$0.description.contains("s3cret") && $0.description.contains("mpp:***@mail") } == true, "\(String(describing: relay))")
        let sender = error { try HubConfiguration.load(file: nil, environment: ["CASEHUB_SMTP_FROM": "hub@rs.id\r\nBcc: x@y.z"]) }
        #expect(sender?.key == "CASEHUB_SMTP_FROM")
        #expect(sender.map { !$0.description.contains("\n") && !$0.description.contains("\r") } == true)
    }

    @Test func aNamedFileMustExist() {
        #expect(error { try HubConfiguration.load(file: "/nonexistent/casehub.yaml", environment: [:]) }?.key == "config")
    }

    @Test func databaseURLsParse() throws {
        #expect(try DatabaseLocation(url: "sqlite:///abs/hub.sqlite") == .sqlite(path: "/abs/hub.sqlite"))
        #expect(try DatabaseLocation(url: "sqlite://./data/hub.sqlite") == .sqlite(path: "./data/hub.sqlite"))
        #expect(try DatabaseLocation(url: "postgres://u:p@127.0.0.1:5432/hub") == .postgres(url: "postgres://u:p@127.0.0.1:5432/hub"))
        #expect(throws: ConfigurationError.self) { try DatabaseLocation(url: "sqlite://") }
    }

    @Test func errorsStayOnOneLineAndHidePasswords() throws {
        try withFile("port: [1\nhost: x\n") { path in
            let problem = error { try HubConfiguration.load(file: path, environment: [:]) }
            #expect(problem?.key == "config")
            #expect(problem.map { !$0.description.contains("\n") } == true)
        }
        let url = error { try HubConfiguration.load(file: nil, environment: ["CASEHUB_DATABASE_URL": "mysql://hub:s3cret@db/hub"]) }
        #expect(url?.key == "database_url")
        #expect(url.map { !$0.description.contains("s3cret") && $0.description.contains("hub:***@db") } == true)
    }

    @Test func retryDelaysAreBounded() {
        #expect(RetrySchedule.parse("5s,5m,30m,2h,5h,10h,10h") == RetrySchedule.default)
        #expect(RetrySchedule.parse("1d") == [.seconds(86400)])
        #expect(RetrySchedule.parse("9223372036854775807d") == nil)
        #expect(RetrySchedule.parse("400d") == nil)
        #expect(RetrySchedule.parse("5x") == nil)
        #expect(RetrySchedule.parse("") == nil)
    }

    @Test func unknownVariablesAreNamedForAWarning() {
        let environment = ["CASEHUB_DATABSE_URL": "sqlite://x", "CASEHUB_PORT": "1", "CASEHUB_ACCESS_PPA": "ppa", "HOME": "/root"]
        #expect(HubConfiguration.unknownVariables(in: environment) == ["CASEHUB_DATABSE_URL"])
    }
}
