import ArgumentParser
import CaseHubCore
import CaseHubStore

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Work with case logs.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a case's hash chain: exit 0 when intact, 1 when not (naming the first bad seq).")

        @OptionGroup var options: CommonOptions

        @Argument(help: "The case id.")
        var caseId: String

        func run() async throws {
            let configuration = try options.loadConfiguration()
            let store = try await options.openStore(configuration, logger: options.logger(configuration), inspecting: true)
            guard try await store.getCase(id: caseId) != nil else { throw Fatal.exit(2, "no case \(caseId)") }
            switch try await store.verifyLog(caseId: caseId) {
            case .intact(let entries):
                print("case \(caseId): chain intact, \(entries) entries")
            case .broken(let seq):
                print("case \(caseId): chain broken, first bad seq \(seq)")
                throw ExitCode(1)
            }
        }
    }
}
