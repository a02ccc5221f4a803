import CaseHubCore
import Foundation


extension SQLStore {
    public func createCase(_ new: NewCase, by principal: Principal) async throws -> Case {
        try await write { db in
            let now = Timestamp.now()
            let created = Case(
                id: Identifier.make(), mrn: new.mrn, patient: new.patient, payer: new.payer, status: .open, createdAt: now, closedAt: nil)
            try db.run(
                """
                INSERT INTO cases (id, mrn, patient, payer, status, created_at, closed_at, log_seq, log_hash)
                VALUES (?, ?, ?, ?, 'open', ?, NULL, 0, ?)
                """,
                [created.id, created.mrn, created.patient.canonicalString, created.payer.canonicalString, now, HashChain.genesis])
            // A case manager who opens a case takes part in it with the same token, and is
            // recorded as that participant from the first entry on.
            var participant: Participant?
            if principal.role == .caseManager {
                let profile = try db.row("SELECT email, locale FROM participants WHERE token_id = ? AND removed_at IS NULL ORDER BY created_at DESC LIMIT 1", [principal.tokenId])
                participant = Participant(
                    id: Identifier.make(), caseId: created.id, role: .caseManager, name: principal.name, email: profile?[0],
                    locale: profile?[1] ?? "id", createdAt: now)
                try Self.insert(participant!, tokenId: principal.tokenId, db: db)
            }
            let actor = participant.map { Actor(id: $0.id, role: $0.role.rawValue, name: $0.name) } ?? principal.actor(in: created.id)
            var log = try LogAppender(caseId: created.id, db: db)
            let opened = try log.append(
                LogDraft(
                    type: .caseOpened, thread: nil, parentSeq: nil, actor: actor,
                    data: ["case_id": .string(created.id), "mrn": .string(created.mrn)],
                    content: ["patient": created.patient, "payer": created.payer]),
                at: now)
            if let participant {
                try log.append(Self.participantAddedDraft(participant, parentSeq: opened.seq, actor: actor), at: now)
            }
            try log.finish()
            return created
        }
    }

    public func listCases(_ query: CaseQuery, for principal: Principal) async throws -> CasePage {
        try await read { db in
            var conditions: [String] = []
            var arguments: [any SQLArgument] = []
            if !principal.isAdmin {
                conditions.append("id IN (SELECT case_id FROM participants WHERE token_id = ? AND removed_at IS NULL)")
                arguments.append(principal.tokenId)
            }
            if let status = query.status {
                conditions.append("status = ?")
                arguments.append(status.rawValue)
            }
            if let after = query.after {
                conditions.append("id < ?")
                arguments.append(after)
            }
            if let search = query.search, !search.isEmpty {
                let pattern = "%" + Self.likeEscaped(search) + "%"
                let like = db.dialect.caseInsensitiveLike
                conditions.append("(mrn \(like) ? ESCAPE '\\' OR \(db.dialect.jsonText("patient", "name")) \(like) ? ESCAPE '\\')")
                arguments += [pattern, pattern]
            }
            arguments.append(query.limit + 1)
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let sql = "SELECT \(Columns.case) FROM cases \(whereClause) ORDER BY id DESC LIMIT ?"
            let found = try db.fetch(sql, arguments, as: RowDecoding.caseValue)
            let cases = Array(found.prefix(query.limit))
            return CasePage(cases: cases, nextAfter: found.count > query.limit ? cases.last?.id : nil)
        }
    }

    /// `text` with LIKE's wildcards taken literally.
    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    public func getCase(id: String) async throws -> Case? {
        try await read { db in try db.row("SELECT \(Columns.case) FROM cases WHERE id = ?", [id]).map(RowDecoding.caseValue) }
    }

    public func closeCase(id: String, by actor: Actor) async throws -> Case {
        try await changeCase(id, requireOpen: false) { log, db in
            if log.status == .open {
                let now = Timestamp.now()
                try db.run("UPDATE cases SET status = 'closed', closed_at = ? WHERE id = ?", [now, id])
                log.caseClosed()
                try Self.cancelOpenMilestones(caseId: id, by: actor, at: now, log: &log, db: db)
                try log.append(LogDraft(type: .caseClosed, thread: nil, parentSeq: nil, actor: actor, data: ["case_id": .string(id)]), at: now)
            }
            return try db.row("SELECT \(Columns.case) FROM cases WHERE id = ?", [id]).map(RowDecoding.caseValue)!
        }
    }

    public func addParticipant(_ new: NewParticipant, caseId: String, tokenHash: String, by actor: Actor) async throws -> Participant {
        try await changeCase(caseId) { log, db in
            let now = Timestamp.now()
            let tokenId = try Self.insertToken(hash: tokenHash, role: new.role, name: new.name, at: now, db: db)
            let participant = Participant(
                id: Identifier.make(), caseId: caseId, role: new.role, name: new.name, email: new.email, locale: new.locale, createdAt: now)
            try Self.insert(participant, tokenId: tokenId, db: db)
            try log.append(Self.participantAddedDraft(participant, parentSeq: LogAppender.caseOpenedSeq, actor: actor), at: now)
            return participant
        }
    }

    public func participants(caseId: String) async throws -> [Participant] {
        try await read { db in
            try db.fetch("SELECT \(Columns.participant) FROM participants WHERE case_id = ? ORDER BY id", [caseId], as: RowDecoding.participantValue)
        }
    }

    static func insert(_ participant: Participant, tokenId: String, db: any SQLSession) throws {
        try db.run(
            """
            INSERT INTO participants (id, case_id, token_id, role, name, email, locale, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                participant.id, participant.caseId, tokenId, participant.role.rawValue, participant.name, participant.email,
                participant.locale, participant.createdAt,
            ])
    }

    /// Name, role and locale are recorded in the chain; the e-mail address is personal data
    /// and kept as redactable content.
    static func participantAddedDraft(_ participant: Participant, parentSeq: Int, actor: Actor) -> LogDraft {
        LogDraft(
            type: .participantAdded, thread: nil, parentSeq: parentSeq, actor: actor,
            data: [
                "participant_id": .string(participant.id), "role": .string(participant.role.rawValue),
                "name": .string(participant.name), "locale": .string(participant.locale),
            ],
            content: participant.email.map { ["email": .string($0)] })
    }
}
