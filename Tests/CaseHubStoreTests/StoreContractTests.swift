import CaseHubCore
import CaseHubStore
import Testing

/// What every `Store` must do, run against each backend.
@Suite struct StoreContractTests {
    @Test(arguments: StoreBackend.all)
    func concurrentPostsGetConsecutiveGapFreeSeq(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let messages = try await withThrowingTaskGroup(of: Message.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await Sample.post(store, caseValue.id, "pesan \(index)", thread: index.isMultiple(of: 2) ? .ppa : .family)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let entries = try await Sample.allEntries(store, caseValue.id)
            #expect(entries.map(\.seq) == Array(1...entries.count))
            #expect(entries.count == 201)
            #expect(Set(messages.map(\.seq)).count == 200)
            let postedSeqs = Set(entries.filter { $0.type == "message.posted" }.map(\.seq))
            #expect(Set(messages.map(\.seq)) == postedSeqs)
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 201))
        }
    }

    @Test(arguments: StoreBackend.all)
    func sameIdempotencyKeyCreatesOneMessageEvenConcurrently(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let key = IdempotencyKey(tokenId: "tok-nurse", key: "retry-1")
            let outcomes = try await withThrowingTaskGroup(of: PostOutcome.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await store.postMessage(
                            Sample.text("sekali saja"), caseId: caseValue.id, thread: .ppa, by: Sample.nurse(in: caseValue.id),
                            idempotency: key)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var created: [Message] = []
            var replayed: [Message] = []
            for outcome in outcomes {
                switch outcome {
                case .created(let message, _): created.append(message)
                case .replayed(let message): replayed.append(message)
                }
            }
            #expect(created.count == 1)
            #expect(replayed.count == 19)
            #expect(replayed.allSatisfy { $0.id == created.first?.id })
            let page = try await store.messages(caseId: caseValue.id, thread: .ppa, query: MessageQuery(after: nil, before: nil, limit: 50))
            #expect(page.messages.count == 1)

            // The same key from another caller is another request.
            let other = try await store.postMessage(
                Sample.text("dari orang lain"), caseId: caseValue.id, thread: .ppa, by: Sample.nurse(in: caseValue.id),
                idempotency: IdempotencyKey(tokenId: "tok-doctor", key: "retry-1"))
            guard case .created = other else {
                Issue.record("a different token's key must create a message")
                return
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func aFailingCommandDoesNotDisturbTheOthersInItsBatch(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        // Every third post replies to a message that does not exist.
                        let reply = index.isMultiple(of: 3) ? "no-such-message" : nil
                        return (try? await Sample.post(store, caseValue.id, "p\(index)", replyTo: reply)) != nil
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 66)
            let entries = try await Sample.allEntries(store, caseValue.id)
            #expect(entries.map(\.seq) == Array(1...67))
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 67))
        }
    }

    @Test(arguments: StoreBackend.all)
    func repliesEditsAcksAndRelaysHangUnderTheirMessageInTheLogTree(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let nurse = Sample.nurse(in: caseValue.id)
            let manager = Actor(id: "p-mpp", role: "case_manager", name: "MPP Dewi")
            let question = try await Sample.post(store, caseValue.id, "Perlu edukasi diet?")
            let answer = try await Sample.post(store, caseValue.id, "Ya, besok pagi", replyTo: question.id)
            let edited = try await store.editMessage(caseId: caseValue.id, id: answer.id, body: "Ya, besok jam 9", by: nurse)
            let acked = try await store.ackMessage(caseId: caseValue.id, id: question.id, by: manager)
            let again = try await store.ackMessage(caseId: caseValue.id, id: question.id, by: manager)
            let relayed = try await store.relayMessage(caseId: caseValue.id, id: answer.id, to: .family, note: "Info untuk keluarga", by: manager)

            #expect(edited.body == "Ya, besok jam 9" && edited.editedAt != nil)
            #expect(acked.acks.map(\.by) == ["p-mpp"] && again.acks.count == 1)
            #expect(relayed.thread == .family && relayed.relayedFrom == answer.id && relayed.body == "Ya, besok jam 9")

            let entries = try await Sample.allEntries(store, caseValue.id)
            let byType = Dictionary(grouping: entries, by: \.type)
            #expect(entries.first { $0.seq == answer.seq }?.parentSeq == question.seq)
            #expect(byType["message.edited"]?.first?.parentSeq == answer.seq)
            #expect(byType["message.acked"]?.count == 1)
            #expect(byType["message.acked"]?.first?.parentSeq == question.seq)
            let relayEntry = try #require(byType["message.relayed"]?.first)
            #expect(relayEntry.parentSeq == answer.seq && relayEntry.thread == .ppa)
            #expect(entries.first { $0.seq == relayed.seq }?.parentSeq == relayEntry.seq)
            // The earlier text stays in the log.
            #expect(entries.first { $0.seq == answer.seq }?.json["content"]?["body"]?.stringValue == "Ya, besok pagi")
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: entries.count))
        }
    }

    @Test(arguments: StoreBackend.all)
    func redactionErasesTheTextButKeepsTheChainVerifiable(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let nurse = Sample.nurse(in: caseValue.id)
            let message = try await Sample.post(store, caseValue.id, "salah pasien")
            _ = try await store.editMessage(caseId: caseValue.id, id: message.id, body: "masih salah", by: nurse)
            let redacted = try await store.redactMessage(caseId: caseValue.id, id: message.id, by: nurse, reason: "wrong patient")
            #expect(redacted.redacted && redacted.body.isEmpty)
            #expect(try await store.message(caseId: caseValue.id, id: message.id)?.body == "")

            let entries = try await Sample.allEntries(store, caseValue.id)
            let rendered = entries.map(\.json.canonicalString).joined()
            #expect(!rendered.contains("salah pasien") && !rendered.contains("masih salah"))
            #expect(entries.contains { $0.type == "message.redacted" && $0.parentSeq == message.seq })
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: entries.count))

            // Redacted messages take no edits, acks or relays; a second redaction changes nothing.
            await #expect(throws: CaseHubError.self) {
                try await store.editMessage(caseId: caseValue.id, id: message.id, body: "x", by: nurse)
            }
            await #expect(throws: CaseHubError.self) { try await store.ackMessage(caseId: caseValue.id, id: message.id, by: nurse) }
            _ = try await store.redactMessage(caseId: caseValue.id, id: message.id, by: nurse, reason: nil)
            #expect(try await Sample.allEntries(store, caseValue.id).count == entries.count)
        }
    }

    @Test(arguments: StoreBackend.all)
    func redactingAMessageErasesItsRelayedCopiesAndTheirNotes(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let manager = Actor(id: "p-mpp", role: "case_manager", name: "MPP Dewi")
            let source = try await Sample.post(store, caseValue.id, "hasil lab pasien lain")
            let copy = try await store.relayMessage(caseId: caseValue.id, id: source.id, to: .family, note: "mohon dibaca", by: manager)
            _ = try await store.redactMessage(caseId: caseValue.id, id: source.id, by: manager, reason: "wrong patient")

            let erasedCopy = try #require(try await store.message(caseId: caseValue.id, id: copy.id))
            #expect(erasedCopy.redacted && erasedCopy.body.isEmpty && erasedCopy.relayNote == nil)
            let entries = try await Sample.allEntries(store, caseValue.id)
            let rendered = entries.map(\.json.canonicalString).joined()
            #expect(!rendered.contains("hasil lab") && !rendered.contains("mohon dibaca"))
            #expect(entries.filter { $0.type == "message.redacted" }.map(\.parentSeq) == [source.seq, copy.seq])
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: entries.count))
        }
    }

    @Test(arguments: StoreBackend.all)
    func closedCasesRefuseWritesAndCloseOnce(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let closed = try await store.closeCase(id: caseValue.id, by: Actor(id: "p-mpp", role: "case_manager", name: "MPP Dewi"))
            #expect(closed.status == .closed && closed.closedAt != nil)
            let again = try await store.closeCase(id: caseValue.id, by: Actor(id: "p-mpp", role: "case_manager", name: "MPP Dewi"))
            #expect(again.closedAt == closed.closedAt)
            await #expect(throws: CaseHubError.caseClosed) { try await Sample.post(store, caseValue.id, "terlambat") }
            #expect(try await store.verifyLog(caseId: caseValue.id) == .intact(entries: 2))
        }
    }

    @Test(arguments: StoreBackend.all)
    func caseListsPageByCursorAndShowOnlyMembership(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            var ids: [String] = []
            for index in 0..<5 { ids.append(try await Sample.openCase(store, mrn: "RM-\(index)").id) }
            var seen: [String] = []
            var cursor: String?
            for _ in 0..<10 {
                let page = try await store.listCases(CaseQuery(status: nil, limit: 2, after: cursor), for: Sample.admin)
                seen += page.cases.map(\.id)
                cursor = page.nextAfter
                if cursor == nil { break }
            }
            #expect(seen == ids.reversed())

            // A case manager (a participant of the first case) opens another case with the same token.
            _ = try await store.addParticipant(
                NewParticipant(role: .caseManager, name: "MPP Dewi", email: "dewi@example.org", locale: "id"), caseId: ids[0],
                tokenHash: "hash-mpp", by: Sample.admin.actor(in: ids[0]))
            let manager = try #require(try await store.principal(tokenHash: "hash-mpp"))
            let own = try await store.createCase(NewCase(mrn: "RM-9", patient: ["name": "Siti"], payer: .null), by: manager)
            let participants = try await store.participants(caseId: own.id)
            #expect(participants.map(\.role) == [.caseManager] && participants.first?.email == "dewi@example.org")
            // From its first entry, the new case's log names the case manager as its participant.
            let opening = try await Sample.allEntries(store, own.id)
            #expect(opening.map(\.type) == ["case.opened", "participant.added"])
            #expect(opening.allSatisfy { $0.actor["id"]?.stringValue == participants.first?.id })
            let managerNow = try #require(try await store.principal(tokenHash: "hash-mpp"))
            #expect(Set(managerNow.memberships.keys) == [ids[0], own.id])
            let listed = try await store.listCases(CaseQuery(status: .open, limit: 50, after: nil), for: managerNow)
            #expect(listed.cases.map(\.id) == [own.id, ids[0]])
        }
    }

    @Test(arguments: StoreBackend.all)
    func participantTokensResolveToTheirCaseAndRole(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let participant = try await store.addParticipant(
                NewParticipant(role: .family, name: "Ibu Sari", email: "sari@example.org", locale: "id"), caseId: caseValue.id,
                tokenHash: "hash-of-family-token", by: Sample.admin.actor(in: caseValue.id))
            let principal = try #require(try await store.principal(tokenHash: "hash-of-family-token"))
            #expect(principal.role == .family && principal.memberships == [caseValue.id: participant.id])
            #expect(try await store.principal(tokenHash: "nope") == nil)
            let entries = try await Sample.allEntries(store, caseValue.id)
            #expect(entries.last?.type == "participant.added")
            #expect(entries.last?.json["content"]?["email"]?.stringValue == "sari@example.org")
        }
    }

    @Test(arguments: StoreBackend.all)
    func unreadCountsOthersMessagesAfterAForwardOnlyMarker(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            var last: Message?
            for index in 0..<4 { last = try await Sample.post(store, caseValue.id, "n\(index)", thread: .family) }
            let reader = "p-family"
            var summary = try await store.threadSummaries(caseId: caseValue.id, threads: [.family, .ppa], readerId: reader)
            #expect(summary.map(\.unread) == [4, 0])
            #expect(summary[0].messageCount == 4 && summary[0].lastMessage?.id == last?.id)
            try await store.markRead(caseId: caseValue.id, thread: .family, upToSeq: last!.seq - 1, readerId: reader)
            try await store.markRead(caseId: caseValue.id, thread: .family, upToSeq: 1, readerId: reader)
            summary = try await store.threadSummaries(caseId: caseValue.id, threads: [.family], readerId: reader)
            #expect(summary[0].unread == 1)
            // Authors do not count their own messages as unread.
            let own = try await store.threadSummaries(caseId: caseValue.id, threads: [.family], readerId: Sample.nurse(in: caseValue.id).id)
            #expect(own[0].unread == 0)
        }
    }

    @Test(arguments: StoreBackend.all)
    func messagePagesRunForwardFromAfterAndBackFromBefore(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            var seqs: [Int] = []
            for index in 0..<7 { seqs.append(try await Sample.post(store, caseValue.id, "m\(index)").seq) }
            let first = try await store.messages(caseId: caseValue.id, thread: .ppa, query: MessageQuery(after: nil, before: nil, limit: 3))
            #expect(first.messages.map(\.seq) == Array(seqs[0..<3]) && first.hasMore)
            let next = try await store.messages(
                caseId: caseValue.id, thread: .ppa, query: MessageQuery(after: seqs[2], before: nil, limit: 10))
            #expect(next.messages.map(\.seq) == Array(seqs[3...]) && !next.hasMore)
            let back = try await store.messages(
                caseId: caseValue.id, thread: .ppa, query: MessageQuery(after: nil, before: seqs[5], limit: 2))
            #expect(back.messages.map(\.seq) == [seqs[3], seqs[4]] && back.hasMore)
            let window = try await store.messages(
                caseId: caseValue.id, thread: .ppa, query: MessageQuery(after: seqs[1], before: seqs[4], limit: 10))
            #expect(window.messages.map(\.seq) == [seqs[2], seqs[3]])
        }
    }
}

/// What a store tells of each case's newest committed log `seq`, which decides whether an
/// answer read earlier may be served again.
@Suite struct KnownLogSeqTests {
    @Test(arguments: StoreBackend.all)
    func aPageCarriesTheLogSeqItWasReadAtAndTheStoreKnowsEachCommit(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let caseValue = try await Sample.openCase(store)
            let first = try await Sample.post(store, caseValue.id, "pertama")
            let query = MessageQuery(after: nil, before: nil, limit: 50)
            let page = try await store.messages(caseId: caseValue.id, thread: .family, query: query)
            let log = try await Sample.allEntries(store, caseValue.id)
            #expect(page.logSeq == log.last?.seq)
            #expect(page.logSeq == first.seq)

            let second = try await Sample.post(store, caseValue.id, "kedua")
            switch backend {
            case .sqlite:
                // One process owns the file: every commit is known as soon as it answers.
                let known = try #require(store.knownLogSeq(caseId: caseValue.id))
                #expect(known >= second.seq)
                #expect(known == (try await Sample.allEntries(store, caseValue.id)).last?.seq)
                #expect(known != page.logSeq)
                #expect(store.knownLogSeq(caseId: "no-such-case") == nil)
            case .postgres:
                // Other instances commit unseen, so the store never vouches for a case.
                #expect(store.knownLogSeq(caseId: caseValue.id) == nil)
            }
        }
    }
}
