import CaseHubCore


extension SQLStore {
    public func setPreferences(_ preferences: Preferences, participantId: String, caseId: String, by actor: Actor) async throws -> Participant {
        try await changeCase(caseId, requireOpen: false) { log, db in
            var participant = try Self.participant(participantId, caseId: caseId, db: db)
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
