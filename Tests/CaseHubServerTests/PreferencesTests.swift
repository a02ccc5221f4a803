import CaseHubCore
import Foundation
import HTTPTypes
import Testing

/// Recipient preferences: e-mail on or off, and quiet hours that hold routine e-mails back.
@Suite("Preferences") struct PreferencesTests {
    /// `HH:MM` in Asia/Jakarta (UTC+7, no daylight saving) `offset` after now.
    static func jakartaTime(offsetMillis: Int64) -> String {
        let local = (Int64(Timestamp.nowMillis()) + offsetMillis + 7 * 3_600_000) % 86_400_000
        let minutes = Int(local / 60_000)
        return String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    @Test("a participant reads and changes its own preferences (as me); the change is logged")
    func ownPreferences() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let sari = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            #expect(sari.participant["preferences"] as? JSONObject != nil, "participants show their preferences")
            let uri = "/v1/cases/\(caseId)/participants/me/preferences"
            let initial = try await hub.get(uri, token: sari.token).json()
            #expect(initial["email"] as? Bool == true && isNull(initial["quiet_hours"]))

            let changed = try await hub.patch(uri, token: sari.token, json: #"{"quiet_hours": {"start": "21:00", "end": "06:00"}}"#)
            #expect(changed.status == .ok, "\(changed)")
            let quiet = try #require(try changed.json()["quiet_hours"] as? JSONObject)
            #expect(quiet["start"] as? String == "21:00" && quiet["end"] as? String == "06:00" && quiet["time_zone"] as? String == "Asia/Jakarta")
            #expect(try changed.json()["email"] as? Bool == true, "fields left out stay as they were")
            let byId = try await hub.get("/v1/cases/\(caseId)/participants/\(sari.participant["id"]!)/preferences", token: sari.token)
            #expect(try byId.json()["quiet_hours"] as? JSONObject != nil)

            let cleared = try await hub.patch(uri, token: sari.token, json: #"{"email": false, "quiet_hours": null}"#)
            #expect(try cleared.json()["email"] as? Bool == false && isNull(try cleared.json()["quiet_hours"]))
            let logged = try await hub.log(caseId: caseId).filter { $0["type"] as? String == "participant.preferences_changed" }
            #expect(logged.count == 2)
            #expect((logged.last?["data"] as? JSONObject)?["participant_id"] as? String == sari.participant["id"] as? String)
        }
    }

    @Test("the case manager changes anyone's; another participant cannot see them; bad values answer 400")
    func othersAndBadInput() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let sari = try await hub.addParticipant(caseId: caseId, role: "family")
            let dewi = try await hub.addParticipant(caseId: caseId, role: "family")
            let sariURI = "/v1/cases/\(caseId)/participants/\(sari.participant["id"]!)/preferences"
            #expect(try await hub.patch(sariURI, token: manager.token, json: #"{"email": false}"#).status == .ok)
            expectError(try await hub.get(sariURI, token: dewi.token), .notFound, "not_found")
            expectError(try await hub.patch(sariURI, token: dewi.token, json: #"{"email": true}"#), .notFound, "not_found")
            expectError(
                try await hub.get("/v1/cases/\(caseId)/participants/nobody/preferences", token: hub.adminToken), .notFound, "not_found")
            for json in [
                #"{"quiet_hours": {"start": "25:00", "end": "06:00"}}"#, #"{"quiet_hours": {"start": "21:00", "end": "21:00"}}"#,
                #"{"quiet_hours": {"start": "21:00", "end": "06:00", "time_zone": "Mars/Base"}}"#, #"{"quiet_hours": {"start": "+1:00", "end": "06:00"}}"#,
            ] {
                expectError(try await hub.patch(sariURI, token: hub.adminToken, json: json), .badRequest, "invalid_request", naming: "quiet_hours")
            }
            expectError(try await hub.patch(sariURI, token: hub.adminToken, json: #"{"email": "no"}"#), .badRequest, "invalid_request", naming: "email")
        }
    }

    @Test("e-mail off sends none; quiet hours hold routine e-mail until they end, urgent goes at once")
    func preferencesShapeDeliveries() async throws {
        try await withHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let sari = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            let dewi = try await hub.addParticipant(caseId: caseId, role: "family", email: "dewi@example.org")
            // Quiet hours end in an hour, to the minute (the time is written without seconds).
            let before = Timestamp.nowMillis()
            let quiet = #"{"quiet_hours": {"start": "\#(Self.jakartaTime(offsetMillis: -3_600_000))", "end": "\#(Self.jakartaTime(offsetMillis: 3_600_000))"}}"#
            #expect(try await hub.patch("/v1/cases/\(caseId)/participants/me/preferences", token: sari.token, json: quiet).status == .ok)
            #expect(try await hub.patch("/v1/cases/\(caseId)/participants/me/preferences", token: dewi.token, json: #"{"email": false}"#).status == .ok)

            let routine = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal kontrol")
            let urgent = try await hub.postMessage(caseId: caseId, thread: "family", body: "Mohon segera datang", extra: #""priority": "urgent""#)
            let mail = try await hub.deliveries("case=\(caseId)&limit=50").deliveries.filter { $0["channel"] as? String == "email" }
            #expect(!mail.contains { $0["target"] as? String == "dewi@example.org" }, "e-mail off")

            let held = try #require(mail.first { $0["event_seq"] as? Int == routine["seq"] as? Int })
            let heldUntil = try #require((held["next_attempt_at"] as? String).flatMap(Timestamp.parseMillis))
            #expect(heldUntil > before + 58 * 60_000 && heldUntil < before + 61 * 60_000, "held until the quiet hours end, in an hour")
            let immediate = try #require(mail.first { $0["event_seq"] as? Int == urgent["seq"] as? Int })
            let sentAt = try #require((immediate["next_attempt_at"] as? String).flatMap(Timestamp.parseMillis))
            #expect(sentAt < before + 60_000, "urgent is not held")

            let queued = try #require(
                try await hub.log(caseId: caseId).first { $0["type"] as? String == "notification.queued" && $0["parent_seq"] as? Int == routine["seq"] as? Int })
            let listed = try #require((queued["data"] as? JSONObject)?["deliveries"] as? [JSONObject])
            #expect(listed.first?["held_until"] is String, "the log says the e-mail waits, and until when")
        }
    }
}
