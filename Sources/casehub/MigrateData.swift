import ArgumentParser
import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation

/// `casehub migrate-data --from sqlite://… --to postgres://…`: moves a hub that outgrew one
/// machine onto PostgreSQL, and proves the copy by verifying every case's chain in it.
struct MigrateData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-data",
        abstract: "Copy a SQLite hub into an empty PostgreSQL database, then verify every case's chain there (exit 1 if one is broken).",
        discussion: "Stop the SQLite hub first: what it writes during the copy is not copied. The SQLite file is only read.")

    @OptionGroup var options: CommonOptions

    @Option(help: "The SQLite hub to copy: sqlite:///path/file.sqlite.")
    var from: String

    @Option(help: "The PostgreSQL database to copy into: postgres://user:pass@host:port/db.")
    var to: String

    func run() async throws {
        let configuration = try options.loadConfiguration()
        let logger = options.logger(configuration)
        guard case .sqlite(let path) = try failingWithStatus2(prefix: "--from", { try DatabaseLocation(url: from) }) else {
            throw Fatal.exit(2, "--from: must be a sqlite:// URL")
        }
        guard case .postgres(let url) = try failingWithStatus2(prefix: "--to", { try DatabaseLocation(url: to) }) else {
            throw Fatal.exit(2, "--to: must be a postgres:// URL")
        }
        let source = try failingWithStatus2(prefix: "--from: cannot open \(path)") {
            try SQLiteStore(path: path, logger: logger, readOnly: true)
        }
        let target = try await openPostgres(url: url, configuration: configuration, logger: logger)
        let report: CopyReport
        do {
            report = try await target.copyEverything(from: source)
        } catch let refused as CopyRefused {
            throw Fatal.exit(2, "--to: \(refused)")
        }
        for (table, rows) in report.rowsByTable {
            print("\(table.padding(toLength: 18, withPad: " ", startingAt: 0)) \(rows) rows")
        }
        var broken: [String] = []
        for caseId in report.caseIds {
            if case .broken(let seq) = try await target.verifyLog(caseId: caseId) {
                print("case \(caseId): chain broken in the copy, first bad seq \(seq)")
                broken.append(caseId)
            }
        }
        guard broken.isEmpty else { throw ExitCode(1) }
        print("copied \(report.caseIds.count) cases; every chain verifies in PostgreSQL")
    }
}
