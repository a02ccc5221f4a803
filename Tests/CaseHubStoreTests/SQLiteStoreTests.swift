import CaseHubCore
import GRDB
import Testing

@testable import CaseHubStore

/// What is particular to the SQLite file: durability across reopening and tamper evidence
/// against edits made directly in the file.
@Suite struct SQLiteStoreTests {
    /// WAL mode's usual `NORMAL` syncs only at checkpoints; a commit answered before its sync
    /// could be lost to a power cut.
    @Test func theWriterSyncsEveryCommit() async throws {
        try await StoreBackend.sqlite.withStore { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let (journal, synchronous) = try sqlite.pool.writeWithoutTransaction { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
            }
            #expect(journal == "wal")
            #expect(synchronous == 2, "PRAGMA synchronous = FULL is 2")
        }
    }

    @Test func anUnsyncedCommandCommitsWithoutSyncAndTheNextIsSyncedAgain() async throws {
        try await StoreBackend.sqlite.withStore { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let synchronous: @Sendable (any SQLSession) throws -> Int? = { db in try db.row("PRAGMA synchronous", []).map { $0[0] } }
            #expect(try await sqlite.writeUnsynced(synchronous) == 1, "PRAGMA synchronous = NORMAL is 1")
            #expect(try await sqlite.write(synchronous) == 2)
            #expect(try await sqlite.writeUnsynced(synchronous) == 1)
            #expect(try await sqlite.write(synchronous) == 2)
        }
    }

    @Test func theWritersSavepointJournalsStayInMemory() async throws {
        try await StoreBackend.sqlite.withStore { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let tempStore = try sqlite.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") }
            #expect(tempStore == 2, "PRAGMA temp_store = MEMORY is 2")
        }
    }

    @Test func everythingSurvivesReopeningTheFile() async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            let message = try await Sample.post(store, caseValue.id, "tersimpan")
            let reopened = try fixture.open()
            try await reopened.migrate()
            #expect(try await reopened.message(caseId: caseValue.id, id: message.id)?.body == "tersimpan")
            #expect(try await reopened.verifyLog(caseId: caseValue.id) == .intact(entries: 2))
        }
    }

    @Test(arguments: [
        "UPDATE log_entries SET data = replace(data, 'routine', 'urgent') WHERE seq = 3",
        "UPDATE log_entries SET content = replace(content, 'dosis', 'DOSIS') WHERE seq = 3",
        "UPDATE log_entries SET at = '2026-01-01T00:00:00.000Z' WHERE seq = 3",
        "DELETE FROM log_entries WHERE seq = 3",
    ])
    func directEditsToTheFileAreCaughtAtTheirSeq(_ tampering: String) async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            for index in 0..<4 { _ = try await Sample.post(store, caseValue.id, "dosis \(index)") }
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 5))
            let queue = try DatabaseQueue(path: fixture.databasePath)
            try await queue.write { db in try db.execute(sql: tampering) }
            #expect(try await store.verifyLog(caseId: caseValue.id) == .broken(firstBadSeq: 3))
        }
    }

    /// The log is the record: the rows the API serves must say what it says.
    @Test(arguments: [
        ("UPDATE messages SET body = 'dosis 9' WHERE seq = 3", 3),
        ("UPDATE messages SET thread = 'family' WHERE seq = 3", 3),
        ("UPDATE messages SET author_id = 'someone-else' WHERE seq = 4", 4),
        ("UPDATE messages SET redacted = 1, body = '', data = '{}' WHERE seq = 4", 4),
        ("UPDATE messages SET acks = '[]' WHERE seq = 3", 3),
        ("UPDATE messages SET data = '{\"dose\":\"20mg\"}' WHERE seq = 5", 5),
        ("DELETE FROM messages WHERE seq = 4", 4),
        ("UPDATE messages SET thread = 'kitchen' WHERE seq = 5", 5),
        ("UPDATE messages SET rendered = replace(rendered, 'dosis', 'DOSIS') WHERE seq = 3", 3),
        ("UPDATE cases SET mrn = 'RM-99999'", 1),
        ("UPDATE cases SET status = 'closed'", 1),
        ("UPDATE log_entries SET thread = 'kitchen' WHERE seq = 3", 3),
        // Cutting the log short and rewriting the case's head to match: the messages remain.
        ("DELETE FROM log_entries WHERE seq = 6; UPDATE cases SET log_seq = 5, log_hash = (SELECT hash FROM log_entries l WHERE l.case_id = cases.id AND l.seq = 5)", 3),
    ])
    func editsToServedRowsAreCaughtAgainstTheLog(_ tampering: String, _ firstBadSeq: Int) async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            var messages: [Message] = []
            for index in 0..<4 { messages.append(try await Sample.post(store, caseValue.id, "dosis \(index)")) }
            _ = try await store.ackMessage(caseId: caseValue.id, id: messages[1].id, by: Actor(id: "p-mpp", role: "case_manager", name: "MPP"))
            #expect(messages.map(\.seq) == [2, 3, 4, 5])
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 6))
            let queue = try DatabaseQueue(path: fixture.databasePath)
            try await queue.write { db in try db.execute(sql: tampering) }
            #expect(try await store.verifyLog(caseId: caseValue.id) == .broken(firstBadSeq: firstBadSeq))
        }
    }

    @Test func idempotencyKeysExpireAfterADay() async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            let key = IdempotencyKey(tokenId: "tok-nurse", key: "k")
            let post = { @Sendable in
                try await store.postMessage(Sample.text("sekali"), caseId: caseValue.id, thread: .ppa, by: Sample.nurse(in: caseValue.id), idempotency: key)
            }
            guard case .created(let first, _) = try await post(), case .replayed(let again) = try await post() else {
                Issue.record("expected created, then replayed")
                return
            }
            #expect(again.id == first.id)
            let queue = try DatabaseQueue(path: fixture.databasePath)
            try await queue.write { db in
                try db.execute(sql: "UPDATE idempotency_keys SET created_ms = created_ms - ?", arguments: [IdempotencyKey.lifetimeMillis])
            }
            guard case .created(let later, _) = try await post() else {
                Issue.record("a key older than a day must not replay")
                return
            }
            #expect(later.id != first.id)
        }
    }

    /// The writer keeps each case's log head in memory between commands and writes it to
    /// `cases` once per group: the row must hold the newest entry when the group commits.
    @Test func theCasesRowHoldsTheLogHeadOnceCommitted() async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 { group.addTask { _ = try await Sample.post(store, caseValue.id, "m\(index)") } }
                try await group.waitForAll()
            }
            let newest = try #require(try await Sample.allEntries(store, caseValue.id).last)
            let queue = try DatabaseQueue(path: fixture.databasePath)
            let head = try queue.read { db in try Row.fetchOne(db, sql: "SELECT log_seq, log_hash FROM cases WHERE id = ?", arguments: [caseValue.id]) }
            #expect(newest.seq == 41)
            #expect(head?["log_seq"] == newest.seq)
            #expect(head?["log_hash"] == newest.hash)
        }
    }

    /// A command that appends and then fails is rolled back to its savepoint, in a group with
    /// others that commit: nothing of it may show, and the next entry takes its `seq` and
    /// chains to the entry before it.
    @Test func aCommandThatFailsAfterAppendingLeavesNoTraceInTheChain() async throws {
        struct ChangedMind: Error {}
        try await StoreBackend.sqlite.withStore { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let caseValue = try await Sample.openCase(store)
            let failing: @Sendable () async -> Void = {
                _ = try? await sqlite.changeCase(caseValue.id) { log, _ in
                    try log.append(
                        LogDraft(type: .messageEdited, thread: .ppa, parentSeq: nil, actor: Sample.nurse(in: caseValue.id), data: [:]),
                        at: Timestamp.now())
                    throw ChangedMind()
                }
            }
            await failing()
            #expect(try await Sample.post(store, caseValue.id, "first").seq == 2)
            // Failures mixed into the same groups as posts.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        if index.isMultiple(of: 3) { await failing() } else { _ = try await Sample.post(store, caseValue.id, "m\(index)") }
                    }
                }
                try await group.waitForAll()
            }
            let entries = try await Sample.allEntries(store, caseValue.id)
            #expect(entries.map(\.seq) == Array(1...42))
            #expect(!entries.contains { $0.type == LogEntryType.messageEdited.rawValue })
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 42))
            #expect(try await store.logSeq(caseId: caseValue.id) == 42)
        }
    }

    /// Within a group, `cases.log_seq` lags until the commit; a command asking for a case's
    /// head (a read marker's "everything so far") must see what earlier commands appended.
    @Test func aCommandSeesTheHeadEarlierCommandsOfItsGroupLeft() async throws {
        try await StoreBackend.sqlite.withStore { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let caseValue = try await Sample.openCase(store)
            let seen = try await sqlite.write { db in
                var log = try LogAppender(caseId: caseValue.id, db: db)
                try log.append(
                    LogDraft(type: .messageEdited, thread: .ppa, parentSeq: nil, actor: Sample.nurse(in: caseValue.id), data: [:]),
                    at: Timestamp.now())
                try log.finish()
                return (try LogAppender.currentSeq(of: caseValue.id, db: db), try db.int("SELECT log_seq FROM cases WHERE id = ?", [caseValue.id]))
            }
            #expect(seen.0 == 2)
            #expect(seen.1 == 1, "the row is written when the group commits")
            #expect(try await store.logSeq(caseId: caseValue.id) == 2)
        }
    }

    @Test func aRolledBackCommandPutsBackTheGroupsHeadsAndForgetsTheRest() {
        let heads = CaseLogHeads()
        heads.loaded(CaseLogHeads.Head(status: .open, seq: 3, hash: "c"), of: "case-1")
        heads.commandEnded(committed: true)
        let changedEarlier = CaseLogHeads.Head(status: .open, seq: 7, hash: "g")
        heads.changed(changedEarlier, of: "case-2")
        heads.commandEnded(committed: true)

        heads.changed(CaseLogHeads.Head(status: .closed, seq: 4, hash: "d"), of: "case-1")
        heads.changed(CaseLogHeads.Head(status: .open, seq: 8, hash: "h"), of: "case-2")
        heads.changed(CaseLogHeads.Head(status: .open, seq: 2, hash: "b"), of: "case-3")
        heads.commandEnded(committed: false)
        #expect(heads.head(of: "case-1") == nil, "read again from the file by the next command")
        #expect(heads.head(of: "case-2") == changedEarlier, "an earlier command's change, still to be written")
        #expect(heads.head(of: "case-3") == nil)

        heads.groupFailed()
        #expect(heads.head(of: "case-2") == nil)
    }

    /// Someone wrote a case's log behind the hub's back: the hub's next command on that case
    /// fails on the `seq` it took, and the one after it reads the head again and succeeds.
    @Test func aHeadWrittenBehindTheWritersBackCostsOneFailedCommand() async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            try await Sample.post(store, caseValue.id, "sebelum")
            let other = try fixture.open() as! SQLiteStore
            try await Sample.post(other, caseValue.id, "dari proses lain")
            await #expect(throws: (any Error).self) { try await Sample.post(store, caseValue.id, "bentrok") }
            #expect(try await Sample.post(store, caseValue.id, "sesudah").seq == 4)
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 4))
        }
    }

    @Test func aLogCutShortAtItsEndIsCaught() async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            let caseValue = try await Sample.openCase(store)
            for index in 0..<3 { _ = try await Sample.post(store, caseValue.id, "m\(index)") }
            let queue = try DatabaseQueue(path: fixture.databasePath)
            try await queue.write { db in try db.execute(sql: "DELETE FROM log_entries WHERE seq = 4") }
            #expect(try await store.verifyLog(caseId: caseValue.id) == .broken(firstBadSeq: 4))
        }
    }

    @Test func schemaMigrationsAreRecordedAndRepeatable() async throws {
        try await StoreBackend.sqlite.withStore { store, fixture in
            try await store.migrate()
            let queue = try DatabaseQueue(path: fixture.databasePath)
            let applied = try await queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
            #expect(
                applied == [
                    "v1-cases-messages-log", "v2-webhooks-deliveries", "v3-care-plan-coordination", "v4-delivery-lease-owner",
                    "v5-participant-removal",
                ])
            let mode = try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
        }
    }
}
