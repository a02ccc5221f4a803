import ArgumentParser
import CaseHubServer
import CaseHubStore
import Foundation

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a SQLite hub to a new file, safely while it runs, and check every case's chain in the copy.",
        discussion: """
            Exit 0 when the copy is sound and every chain intact; 1 when a chain is broken (the copy is kept: it is \
            what the file holds); 2 when no copy could be made. PostgreSQL is backed up with its own tools (pg_dump).
            """)

    @OptionGroup var options: CommonOptions

    @Option(help: "The new file to write; it must not exist.")
    var to: String

    func run() async throws {
        let configuration = try options.loadConfiguration()
        guard case .sqlite = configuration.database else {
            throw Fatal.exit(2, "backup copies a SQLite file; back up PostgreSQL with pg_dump")
        }
        guard !FileManager.default.fileExists(atPath: to) else { throw Fatal.exit(2, "\(to) already exists: name a new file") }
        let logger = options.logger(configuration)
        guard let store = try await options.openStore(configuration, logger: logger, inspecting: true) as? SQLiteStore else {
            throw Fatal.exit(2, "backup copies a SQLite file")
        }
        let report: BackupReport
        do {
            report = try await store.backUp(to: to, logger: logger)
        } catch {
            throw Fatal.exit(2, "cannot back up to \(to): \(String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " "))")
        }
        for broken in report.brokenChains {
            print("case \(broken.caseId): chain broken, first bad seq \(broken.firstBadSeq)")
        }
        let cases = "\(report.cases) case\(report.cases == 1 ? "" : "s")"
        let summary = report.brokenChains.isEmpty
            ? "\(cases), \(report.logEntries) log entries, every chain intact"
            : "\(cases), \(report.brokenChains.count) with a broken chain, \(report.logEntries) log entries in the intact ones"
        print("backed up to \(to): \(summary)")
        if !report.brokenChains.isEmpty { throw ExitCode(1) }
    }
}
