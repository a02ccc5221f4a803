import ArgumentParser
import CaseHubServer
import CaseHubStore
import Foundation

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage tokens.", subcommands: [Issue.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one new admin token on stdout, and nothing else. It is shown only this once.")

        @OptionGroup var options: CommonOptions

        @Option(help: "The token's role; only admin (participants get theirs through the API).")
        var role: String

        @Option(help: "Who or what the token is for, as shown in the case log.")
        var name: String

        func run() async throws {
            guard role == "admin" else {
                throw Fatal.exit(2, "--role: only admin tokens are issued here; participants receive theirs from POST /v1/cases/{case}/participants")
            }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw Fatal.exit(2, "--name: must not be empty") }
            let configuration = try options.loadConfiguration()
            let store = try await options.openStore(configuration, logger: options.logger(configuration))
            let token = Token.make()
            _ = try await store.issueAdminToken(name: name, tokenHash: Token.hash(token))
            print(token)
        }
    }
}
