import ArgumentParser
import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage tokens.", subcommands: [Issue.self, List.self, Revoke.self])

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

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every token: id, role, name, when it was issued, when revoked, and how many cases it reaches.")

        @OptionGroup var options: CommonOptions

        func run() async throws {
            let configuration = try options.loadConfiguration()
            let store = try await options.openStore(configuration, logger: options.logger(configuration), inspecting: true)
            print(["id", "role", "name", "created_at", "revoked_at", "cases"].joined(separator: "\t"))
            for token in try await store.tokens() {
                let cases = token.role == .admin ? "all" : String(token.cases)
                print([token.id, token.role.rawValue, token.name, token.createdAt, token.revokedAt ?? "-", cases].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an admin token by its id (see `token list`): it answers 401 from then on (within 10 s on running hubs).")

        @OptionGroup var options: CommonOptions

        @Argument(help: "The token's id.")
        var id: String

        func run() async throws {
            let configuration = try options.loadConfiguration()
            let store = try await options.openStore(configuration, logger: options.logger(configuration))
            guard let token = try await store.tokens().first(where: { $0.id == id }) else { throw Fatal.exit(2, "no token \(id)") }
            // A participant's access ends through its case, where the log records it.
            guard token.role == .admin else {
                throw Fatal.exit(
                    2,
                    "token \(id) is a \(token.role.rawValue) participant's: end their access with DELETE /v1/cases/{case}/participants/{participant}, or replace their token with POST /v1/cases/{case}/participants/{participant}/token"
                )
            }
            _ = try await store.revokeToken(id: id)
        }
    }
}
