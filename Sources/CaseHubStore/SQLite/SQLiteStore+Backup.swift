import CaseHubCore
import Foundation
import GRDB
import Logging

/// What a backup holds, as checked in the copy itself.
public struct BackupReport: Sendable {
    public var cases = 0
    public var logEntries = 0
    /// Cases whose chain does not verify in the copy (nor, then, in the file it was taken
    /// from), with the first bad `seq` of each.
    public var brokenChains: [(caseId: String, firstBadSeq: Int)] = []
}

extension SQLiteStore {
    /// Writes a copy of the whole file to `path`, which must not exist yet, while the hub may
    /// keep running, then checks the copy: SQLite's integrity check, and every case's chain.
    ///
    /// The copy is SQLite's `VACUUM INTO` from one read snapshot: consistent to a commit,
    /// compact, and taken beside the writer without holding it up (only checkpoints wait).
    /// Copying the file itself is not safe while the hub runs: committed pages may still be
    /// in the WAL beside it. The copy is put in WAL mode, so it can replace the file as is.
    /// On any error no copy is left behind.
    public func backUp(to path: String, logger: Logger) async throws -> BackupReport {
        guard !FileManager.default.fileExists(atPath: path) else { throw BackupFailure(path: path, problem: "a file is there already") }
        do {
            return try await copyAndCheck(to: path, logger: logger)
        } catch {
            for file in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
            throw error
        }
    }

    private func copyAndCheck(to path: String, logger: Logger) async throws -> BackupReport {
        try await pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        let copy = try DatabaseQueue(path: path)
        let (integrity, caseIds) = try await copy.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            return (try String.fetchAll(db, sql: "PRAGMA integrity_check"), try String.fetchAll(db, sql: "SELECT id FROM cases ORDER BY id"))
        }
        try copy.close()
        guard integrity == ["ok"] else { throw BackupFailure(path: path, problem: "SQLite's integrity check: " + integrity.joined(separator: "; ")) }

        let copied = try SQLiteStore(path: path, logger: logger, readOnly: true)
        var report = BackupReport()
        for caseId in caseIds {
            report.cases += 1
            switch try await copied.verifyLog(caseId: caseId) {
            case .intact(let entries): report.logEntries += entries
            case .broken(let firstBadSeq): report.brokenChains.append((caseId, firstBadSeq))
            }
        }
        return report
    }
}

/// No sound copy could be written at `path`.
public struct BackupFailure: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "no backup at \(path): \(problem)" }
}
