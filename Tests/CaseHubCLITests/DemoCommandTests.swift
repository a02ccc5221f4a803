import Foundation
import Testing

/// `casehub demo` seeds a case a newcomer can explore with the tokens it prints.
@Suite("casehub demo") struct DemoCommandTests {
    @Test(.timeLimit(.minutes(2)))
    func seedsACaseWhoseFlowTheTokensShow() async throws {
        let scratch = try Scratch("demo")
        defer { scratch.remove() }
        let environment = scratch.environment()
        let demo = try await DemoCase.seed(in: scratch, environment: environment)
        let (caseId, tokens) = (demo.caseId, demo.tokens)
        #expect(Set(tokens.keys) == ["admin", "case_manager", "ppa", "family", "patient", "payer"], "\(tokens)")

        let server = try await HubServer.start(in: scratch, environment: environment)
        defer { server.stop() }
        func client(_ role: String) -> HubClient { HubClient(port: server.port, token: tokens[role]) }
        let manager = client("case_manager"), family = client("family"), payer = client("payer")
        defer { [manager, family, payer].forEach { $0.close() } }

        // The handoff waits for its ack in the PPA thread; the authorization request was relayed
        // to the payer, who sees it with its state; the family sees its education milestone.
        let ppaThread = try await manager.get("/v1/cases/\(caseId)/threads/ppa/messages")
        #expect(ppaThread.text.contains(#""kind":"handoff""#) && ppaThread.text.contains(#""requires_ack":true"#), "\(ppaThread)")
        let payerThread = try await payer.get("/v1/cases/\(caseId)/threads/payer/messages")
        #expect(payerThread.text.contains(#""kind":"authorization_request""#) && payerThread.text.contains(#""status":"requested""#), "\(payerThread)")
        #expect(payerThread.text.contains("relayed_from"))
        let milestones = try await family.get("/v1/cases/\(caseId)/milestones")
        #expect(milestones.text.contains("Edukasi perawatan luka"), "\(milestones)")
        #expect(try await family.get("/v1/cases/\(caseId)/threads/ppa/messages").status == 404)
        let verify = try await manager.get("/v1/cases/\(caseId)/log/verify")
        #expect(verify.text.contains(#""ok":true"#), "\(verify)")
    }
}

/// A case seeded by `casehub demo`: its id and the first token printed for each role.
struct DemoCase {
    let caseId: String
    let tokens: [String: String]

    /// Runs `casehub demo` on the scratch database and reads what it prints.
    static func seed(in scratch: Scratch, environment: [String: String]) async throws -> DemoCase {
        let seeded = try await runCaseHub(["demo"], in: scratch, environment: environment)
        guard seeded.status == 0 else { throw HarnessError("casehub demo failed: \(seeded)") }
        let lines = CommandResult.lines(seeded.stdout)
        guard let caseId = lines.first?.wholeMatch(of: #/Demo case ([0-9a-f-]{36}): .*/#)?.1 else {
            throw HarnessError("casehub demo printed no case id: \(seeded.stdout)")
        }
        var tokens: [String: String] = [:]
        for line in lines.dropFirst(2) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let role = fields.first, let token = fields.last, token.hasPrefix("chub_"), tokens[String(role)] == nil {
                tokens[String(role)] = String(token)
            }
        }
        return DemoCase(caseId: String(caseId), tokens: tokens)
    }
}
