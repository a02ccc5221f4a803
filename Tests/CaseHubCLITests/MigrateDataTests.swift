import Foundation
import Testing

/// `casehub migrate-data`: a SQLite hub copied into PostgreSQL keeps working there.
@Suite("Copying a SQLite hub into PostgreSQL")
struct MigrateDataTests {
    @Test func aDemoHubCopiedIntoPostgresVerifiesAndServesItsTokens() async throws {
        guard let (postgres, schema) = TestPostgres.fresh() else { return }
        defer { TestPostgres.drop(schema) }
        let scratch = try Scratch("migrate-data")
        defer { scratch.remove() }
        let sqliteEnvironment = scratch.environment(["CASEHUB_DATABASE_URL": scratch.databaseURL])
        let demo = try await DemoCase.seed(in: scratch, environment: sqliteEnvironment)
        let before = try Data(contentsOf: URL(fileURLWithPath: scratch.databasePath))

        let copied = try await runCaseHub(["migrate-data", "--from", scratch.databaseURL, "--to", postgres], in: scratch, environment: sqliteEnvironment)
        #expect(copied.status == 0, "\(copied)")
        #expect(copied.stdout.contains("copied 1 cases; every chain verifies in PostgreSQL"), "\(copied)")
        #expect(copied.stdoutLines.contains { $0.hasPrefix("log_entries") && !$0.hasSuffix(" 0 rows") }, "\(copied)")
        // The source is only read.
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.databasePath)) == before)

        // A second copy into the same database would merge two hubs: refused, nothing changed.
        let again = try await runCaseHub(["migrate-data", "--from", scratch.databaseURL, "--to", postgres], in: scratch, environment: sqliteEnvironment)
        #expect(again.status == 2 && again.stderrLines.last?.contains("already holds cases") == true, "\(again)")

        let postgresEnvironment = scratch.environment(["CASEHUB_DATABASE_URL": postgres])
        let verified = try await runCaseHub(["log", "verify", demo.caseId], in: scratch, environment: postgresEnvironment)
        #expect(verified.status == 0 && verified.stdout.contains("chain intact"), "\(verified)")

        // The people's tokens work against the copy: the family reads its own thread only.
        let server = try await HubServer.start(in: scratch, environment: postgresEnvironment)
        defer { server.stop() }
        guard let familyToken = demo.tokens["family"] else { throw HarnessError("casehub demo printed no family token") }
        let family = HubClient(port: server.port, token: familyToken)
        defer { family.close() }
        let familyThread = try await family.get("/v1/cases/\(demo.caseId)/threads/family/messages")
        #expect(familyThread.status == 200, "\(familyThread)")
        #expect(try await family.get("/v1/cases/\(demo.caseId)/threads/ppa/messages").status == 404)
        let posted = try await family.post("/v1/cases/\(demo.caseId)/threads/family/messages", json: #"{"body":"Terima kasih, kami datang jam 10."}"#)
        #expect(posted.status == 201, "\(posted)")
    }

    @Test func onlySQLiteToPostgresIsAccepted() async throws {
        let scratch = try Scratch("migrate-data-args")
        defer { scratch.remove() }
        let environment = scratch.environment()
        let backwards = try await runCaseHub(
            ["migrate-data", "--from", "postgres://casehub@127.0.0.1:1/casehub", "--to", scratch.databaseURL], in: scratch, environment: environment)
        #expect(backwards.status == 2 && backwards.stderrLines == ["casehub: --from: must be a sqlite:// URL"], "\(backwards)")
    }
}
