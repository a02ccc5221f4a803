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
            // A case manager's token may still reach the other cases it opened.
            try Self.revokeIfUnused(tokenId: token.id, at: now, db: db)
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
            let former = try Self.token(of: id, db: db)
            let now = Timestamp.now()
            // A token row of its own: a case manager's token may reach other cases too, which
            // keep the token they have. The former token is revoked once it reaches nothing.
            let tokenId = try Self.insertToken(hash: tokenHash, role: participant.role, name: participant.name, at: now, db: db)
            try db.run("UPDATE participants SET token_id = ? WHERE id = ?", [tokenId, id])
            try Self.revokeIfUnused(tokenId: former.id, at: now, db: db)
            try log.append(
                LogDraft(
                    type: .participantTokenReplaced, thread: nil, parentSeq: LogAppender.caseOpenedSeq, actor: actor,
                    data: ["participant_id": .string(id)]),
                at: now)
            return ParticipantAccess(participant: participant, formerTokenHash: former.hash)
        }
    }

    /// Revokes a participant token that no longer reaches any case, so that it answers 401
    /// rather than 404 everywhere.
    private static func revokeIfUnused(tokenId: String, at now: String, db: any SQLSession) throws {
        guard try db.int("SELECT count(*) FROM participants WHERE token_id = ? AND removed_at IS NULL", [tokenId]) == 0 else { return }
        try db.run("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [now, tokenId])
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
