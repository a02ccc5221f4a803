import CaseHubCore


extension SQLStore {
    public func setPreferences(_ preferences: Preferences, participantId: String, caseId: String, by actor: Actor) async throws -> Participant {
        try await changeCase(caseId, requireOpen: false) { log, db in
            guard
                var participant = try db.row("SELECT \(Columns.participant) FROM participants WHERE id = ? AND case_id = ?", [participantId, caseId])
                    .map(RowDecoding.participantValue)
            else { throw CaseHubError.notFound("no such participant") }
            guard participant.preferences != preferences else { return participant }
            participant.preferences = preferences
            try db.run(
                "UPDATE participants SET email_enabled = ?, quiet_hours = ? WHERE id = ?",
                [preferences.emailEnabled, preferences.quietHours?.json.canonicalString, participantId])
            try log.append(
                LogDraft(
                    type: .participantPreferencesChanged, thread: nil, parentSeq: LogAppender.caseOpenedSeq, actor: actor,
                    data: ["participant_id": .string(participantId), "preferences": preferences.json]),
                at: Timestamp.now())
            return participant
        }
    }
}
