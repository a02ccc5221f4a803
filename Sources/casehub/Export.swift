import ArgumentParser
import CaseHubCore
import CaseHubStore
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a case's full log to stdout.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, fhir }

    @OptionGroup var options: CommonOptions

    @Argument(help: "The case id.")
    var caseId: String

    @Option(help: "jsonl: one log entry per line, as the API shows them.")
    var format: Format = .jsonl

    func run() async throws {
        guard format == .jsonl else { throw Fatal.exit(2, "--format fhir: the FHIR export is not available in this version; use jsonl") }
        let configuration = try options.loadConfiguration()
        let store = try await options.openStore(configuration, logger: options.logger(configuration), inspecting: true)
        guard try await store.getCase(id: caseId) != nil else { throw Fatal.exit(2, "no case \(caseId)") }
        var after = 0
        while true {
            let page = try await store.logEntries(caseId: caseId, after: after, limit: 1000, threads: Set(ThreadName.allCases))
            var out: [UInt8] = []
            for entry in page.entries {
                entry.json.write(into: &out)
                out.append(UInt8(ascii: "\n"))
            }
            FileHandle.standardOutput.write(Data(out))
            guard page.hasMore, let last = page.entries.last else { break }
            after = last.seq
        }
    }
}
