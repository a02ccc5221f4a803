import CaseHubCore

/// Ending a participant's access, and replacing a lost or leaked token.
extension SQLStore {
    public func removeParticipant(caseId: String, id: String, by actor: Actor) async throws -> ParticipantAccess {
        try await changeCase(caseId, requireOpen: false) { log, db in
            var participant = try Self.participant(id, caseId: caseId, db: db)
            let token = try Self.token(of: id, db: db)
            // Removing twice changes nothing.
            guard participant.removedAt == nil else { return ParticipantAccess(participant: participant, formerTokenHash: token.hash) }
            let now = Timestamp.now()
            try db.run("UPDATE participants SET removed_at = ? WHERE id = ?", [now, id])
            // A token that reaches no case any more is revoked, so it answers 401 rather than
            // 404 everywhere. (A case manager's token may still reach the other cases it opened.)
            if try db.int("SELECT count(*) FROM participants WHERE token_id = ? AND removed_at IS NULL", [token.id]) == 0 {
                try db.run("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [now, token.id])
            }
            try log.append(
                LogDraft(
                    type: .participantRemoved, thread: nil, parentSeq: LogAppender.caseOpenedSeq, actor: actor,
                    data: ["participant_id": .string(id), "role": .string(participant.role.rawValue)]),
                at: now)
            participant.removedAt = now
            return ParticipantAccess(participant: participant, formerTokenHash: token.hash)
        }
    }

    public func replaceParticipantToken(caseId: String, id: String, tokenHash: String, by actor: Actor) async throws -> ParticipantAccess {
        try await changeCase(caseId, requireOpen: false) { log, db in
            let participant = try Self.participant(id, caseId: caseId, db: db)
            guard participant.removedAt == nil else { throw CaseHubError.conflict("the participant was removed from the case") }
            let token = try Self.token(of: id, db: db)
            // The token keeps its id (and so every case it reaches); only the secret changes.
            try db.run("UPDATE tokens SET hash = ?, revoked_at = NULL WHERE id = ?", [tokenHash, token.id])
            try log.append(
                LogDraft(
                    type: .participantTokenReplaced, thread: nil, parentSeq: LogAppender.caseOpenedSeq, actor: actor,
                    data: ["participant_id": .string(id)]),
                at: Timestamp.now())
            return ParticipantAccess(participant: participant, formerTokenHash: token.hash)
        }
    }

    static func participant(_ id: String, caseId: String, db: any SQLSession) throws -> Participant {
        guard
            let participant = try db.row("SELECT \(Columns.participant) FROM participants WHERE id = ? AND case_id = ?", [id, caseId])
                .map(RowDecoding.participantValue)
        else { throw CaseHubError.notFound("no such participant") }
        return participant
    }

    private static func token(of participantId: String, db: any SQLSession) throws -> (id: String, hash: String) {
        guard let row = try db.row("SELECT t.id, t.hash FROM participants p JOIN tokens t ON t.id = p.token_id WHERE p.id = ?", [participantId])
        else { throw CaseHubError.notFound("the participant has no token") }
        return (row[0], row[1])
    }
}
