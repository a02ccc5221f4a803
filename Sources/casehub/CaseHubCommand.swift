import ArgumentParser

@main
struct CaseHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casehub",
        abstract: "The case manager's coordination hub: case threads, notifications and a tamper-evident case log.",
        // The version of the API this build serves: `info.version` of its OpenAPI document.
        version: "1.0.0",
        subcommands: [Serve.self, Migrate.self, MigrateData.self, TokenCommand.self, Demo.self, LogCommand.self, Export.self, Backup.self])
}
