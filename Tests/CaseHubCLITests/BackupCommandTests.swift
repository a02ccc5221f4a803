import Foundation
import Testing

/// `casehub backup --to FILE`: a consistent copy of a running hub, checked in the copy.
@Suite("Backup")
struct BackupCommandTests {
    /// Posts keep coming while the copy is taken; the copy is whole, its chains verify, and
    /// the hub it was taken from served every post.
    @Test(.timeLimit(.minutes(3)))
    func aBackupTakenWhileTheHubPostsIsConsistentAndChecked() async throws {
        try await withRunningHub("backup") { hub in
            let hubCase = try await hub.admin.createCase(mrn: "RM-1")
            for n in 1...20 { _ = try await hub.admin.postMessage(caseId: hubCase.id, thread: "ppa", body: "sebelum-\(n)") }
            let (port, token, caseId) = (hub.server.port, hub.token, hubCase.id)
            let posting = Task {
                let client = HubClient(port: port, token: token)
                defer { client.close() }
                for n in 1...150 { _ = try await client.postMessage(caseId: caseId, thread: "family", body: "selama-\(n)") }
            }
            try FileManager.default.createDirectory(at: hub.scratch.file("backups"), withIntermediateDirectories: true)
            let target = hub.scratch.file("backups/hub-copy.sqlite").path
            let result = try await runCaseHub(["backup", "--to", target], in: hub.scratch, environment: hub.environment)
            try await posting.value
            #expect(result.status == 0, "\(result)")
            #expect(result.stdoutLines.count == 1 && result.stdout.contains(": 1 case, ") && result.stdout.contains("every chain intact"), "\(result)")

            // The copy is a hub file of its own: its chain verifies with the hub's own command.
            let verify = try await runCaseHub(
                ["log", "verify", hubCase.id, "--database", "sqlite://\(target)"], in: hub.scratch, environment: hub.environment)
            #expect(verify.status == 0, "\(verify)")
            let entries = try #require(verify.stdout.split(separator: " ").dropLast().last.flatMap { Int($0) }, "\(verify)")
            #expect((21...171).contains(entries), "the 20 messages posted before it and the case's first entry at least: \(verify)")

            // A file that exists is never overwritten.
            let again = try await runCaseHub(["backup", "--to", target], in: hub.scratch, environment: hub.environment)
            #expect(again.status == 2 && again.stderrLines.count == 1 && again.stderr.contains("already exists"), "\(again)")
        }
    }

    /// A chain broken in the hub's file is broken in the copy: the backup says so and exits 1,
    /// keeping the copy (it is what the file holds).
    @Test(.timeLimit(.minutes(3)))
    func aBrokenChainIsReportedFromTheCopy() async throws {
        try await withRunningHub("backup-broken") { hub in
            let intact = try await hub.admin.createCase(mrn: "RM-1")
            let tampered = try await hub.admin.createCase(mrn: "RM-2")
            for n in 1...3 {
                _ = try await hub.admin.postMessage(caseId: intact.id, thread: "ppa", body: "a-\(n)")
                _ = try await hub.admin.postMessage(caseId: tampered.id, thread: "ppa", body: "b-\(n)")
            }
            hub.server.stop()
            let changed = try await CommandLineTests.sql(
                "UPDATE log_entries SET content = replace(content, 'b-2', 'b-X') WHERE case_id = '\(tampered.id)' AND seq = 3; SELECT changes();",
                on: hub.scratch)
            #expect(changed == "1")

            let target = hub.scratch.file("copy.sqlite").path
            let result = try await runCaseHub(["backup", "--to", target], in: hub.scratch, environment: hub.environment)
            #expect(result.status == 1, "\(result)")
            #expect(result.stdout.contains("case \(tampered.id): chain broken, first bad seq 3"), "\(result)")
            #expect(!result.stdout.contains(intact.id), "\(result)")
            #expect(result.stdout.contains(": 2 cases, 1 with a broken chain, 4 log entries in the intact ones"), "\(result)")
            #expect(FileManager.default.fileExists(atPath: target))
        }
    }

    /// A file damaged on disk cannot be copied whole: the backup fails with one line and
    /// leaves no partial copy behind (SQLite itself would leave one).
    @Test(.timeLimit(.minutes(3)))
    func aFailedBackupLeavesNoCopy() async throws {
        try await withRunningHub("backup-damaged") { hub in
            let hubCase = try await hub.admin.createCase(mrn: "RM-1")
            for n in 1...400 { _ = try await hub.admin.postMessage(caseId: hubCase.id, thread: "ppa", body: "pesan nomor \(n)") }
            hub.server.stop()
            _ = try await CommandLineTests.sql("PRAGMA wal_checkpoint(TRUNCATE);", on: hub.scratch)
            let file = try FileHandle(forUpdating: URL(fileURLWithPath: hub.scratch.databasePath))
            let size = try file.seekToEnd()
            try file.seek(toOffset: size / 3 / 4096 * 4096)
            try file.write(contentsOf: Data(repeating: 0xFF, count: Int(size / 3)))
            try file.close()

            let target = hub.scratch.file("copy.sqlite").path
            let result = try await runCaseHub(["backup", "--to", target], in: hub.scratch, environment: hub.environment)
            #expect(result.status == 2 && result.stderrLines.count == 1 && result.stdout.isEmpty, "\(result)")
            #expect(!FileManager.default.fileExists(atPath: target), "a partial copy was left at \(target)")
        }
    }

    @Test func aBackupNeedsAnExistingHubAndAFolderToWriteIn() async throws {
        let scratch = try Scratch("backup-refused")
        defer { scratch.remove() }
        let environment = scratch.environment()
        let noHub = try await runCaseHub(["backup", "--to", scratch.file("copy.sqlite").path], in: scratch, environment: environment)
        #expect(noHub.status == 2 && noHub.stderrLines.count == 1 && noHub.stderr.contains("no database"), "\(noHub)")
        #expect(!FileManager.default.fileExists(atPath: scratch.databasePath), "a mistyped path creates nothing")

        _ = try await runCaseHub(["migrate"], in: scratch, environment: environment)
        let nowhere = try await runCaseHub(
            ["backup", "--to", scratch.file("missing-folder/copy.sqlite").path], in: scratch, environment: environment)
        #expect(nowhere.status == 2 && nowhere.stderrLines.count == 1, "\(nowhere)")
    }
}
