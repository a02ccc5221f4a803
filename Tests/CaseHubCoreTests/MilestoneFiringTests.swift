import Testing

@testable import CaseHubCore

@Suite("The firings a milestone plans")
struct MilestoneFiringTests {
    static let hour: UInt64 = 3_600_000
    static let day: UInt64 = 24 * hour
    static let grace: UInt64 = 2 * hour

    func milestone(dueAt: String, reminders: [String]) throws -> Milestone {
        Milestone(
            id: "m1", caseId: "c1", title: "Edukasi perawatan luka", kind: .education, dueAt: dueAt, audience: [.family],
            reminders: try reminders.map { try #require(ISODuration($0)) }, status: .planned, completedAt: nil,
            createdAt: "2026-11-20T08:00:00.000Z", seq: 7)
    }

    @Test("Reminders still ahead come before due, then due at due time and overdue after the grace")
    func remindersAheadAreAllPlanned() throws {
        let due = try #require(Timestamp.parseMillis("2026-11-23T08:00:00Z"))
        let firings = try milestone(dueAt: "2026-11-23T08:00:00Z", reminders: ["P1D", "PT1H"])
            .plannedFirings(nowMillis: due - 2 * Self.day, overdueGraceMillis: Self.grace)
        #expect(
            firings == [
                PlannedFiring(purpose: .milestoneReminder, detail: "P1D", atMillis: due - Self.day),
                PlannedFiring(purpose: .milestoneReminder, detail: "PT1H", atMillis: due - Self.hour),
                PlannedFiring(purpose: .milestoneDue, detail: nil, atMillis: due),
                PlannedFiring(purpose: .milestoneOverdue, detail: nil, atMillis: due + Self.grace),
            ])
    }

    @Test("The due time is read with its offset")
    func dueTimeWithOffset() throws {
        let due = try #require(Timestamp.parseMillis("2026-11-23T15:00:00+07:00"))
        #expect(due == Timestamp.parseMillis("2026-11-23T08:00:00Z"))
        let firings = try milestone(dueAt: "2026-11-23T15:00:00+07:00", reminders: ["PT30M"])
            .plannedFirings(nowMillis: due - Self.day, overdueGraceMillis: 0)
        #expect(firings.map(\.atMillis) == [due - Self.hour / 2, due, due])
        #expect(firings.map(\.purpose) == [.milestoneReminder, .milestoneDue, .milestoneOverdue])
    }

    @Test("A reminder whose time has already passed is left out")
    func pastRemindersAreLeftOut() throws {
        let due = try #require(Timestamp.parseMillis("2026-11-23T08:00:00Z"))
        let firings = try milestone(dueAt: "2026-11-23T08:00:00Z", reminders: ["P2D", "P1D", "PT1H"])
            .plannedFirings(nowMillis: due - 12 * Self.hour, overdueGraceMillis: Self.grace)
        #expect(firings.filter { $0.purpose == .milestoneReminder }.map(\.detail) == ["PT1H"])
        #expect(firings.count == 3)
    }

    @Test("A reminder that would fire exactly now is left out, as is one of zero length")
    func boundaryReminders() throws {
        let due = try #require(Timestamp.parseMillis("2026-11-23T08:00:00Z"))
        let firings = try milestone(dueAt: "2026-11-23T08:00:00Z", reminders: ["PT1H", "PT0S", "PT59M"])
            .plannedFirings(nowMillis: due - Self.hour, overdueGraceMillis: Self.grace)
        #expect(firings.filter { $0.purpose == .milestoneReminder }.map(\.detail) == ["PT59M"])
        #expect(firings.filter { $0.purpose == .milestoneReminder }.map(\.atMillis) == [due - Self.hour + 60_000])
    }

    @Test("A reminder longer than the time since the epoch does not wrap around")
    func reminderLongerThanDueMillis() throws {
        // Due one day after the epoch: `due - P2D` would underflow.
        let firings = try milestone(dueAt: "1970-01-02T00:00:00Z", reminders: ["P2D", "PT1H"])
            .plannedFirings(nowMillis: 0, overdueGraceMillis: Self.grace)
        #expect(
            firings == [
                PlannedFiring(purpose: .milestoneReminder, detail: "PT1H", atMillis: Self.day - Self.hour),
                PlannedFiring(purpose: .milestoneDue, detail: nil, atMillis: Self.day),
                PlannedFiring(purpose: .milestoneOverdue, detail: nil, atMillis: Self.day + Self.grace),
            ])
    }

    @Test("A milestone planned after its due time still plans due and overdue, and no reminder")
    func plannedAfterDue() throws {
        let due = try #require(Timestamp.parseMillis("2026-11-23T08:00:00Z"))
        let firings = try milestone(dueAt: "2026-11-23T08:00:00Z", reminders: ["PT1H"])
            .plannedFirings(nowMillis: due + Self.hour, overdueGraceMillis: Self.grace)
        #expect(firings.map(\.purpose) == [.milestoneDue, .milestoneOverdue])
        #expect(firings.map(\.atMillis) == [due, due + Self.grace])
    }

    @Test("Without reminders only due and overdue are planned")
    func noReminders() throws {
        let due = try #require(Timestamp.parseMillis("2026-11-23T08:00:00.250Z"))
        let firings = try milestone(dueAt: "2026-11-23T08:00:00.250Z", reminders: [])
            .plannedFirings(nowMillis: due - Self.day, overdueGraceMillis: Self.grace)
        #expect(firings.map(\.atMillis) == [due, due + Self.grace])
        #expect(firings.allSatisfy { $0.detail == nil })
    }

    @Test("The milestone's JSON shows its reminders as written")
    func jsonShowsReminderText() throws {
        let json = try milestone(dueAt: "2026-11-23T08:00:00Z", reminders: ["PT1H30M", "P1D"]).json
        #expect(json["reminders"] == ["PT1H30M", "P1D"])
        #expect(json["due_at"] == "2026-11-23T08:00:00Z")
        #expect(json["audience"] == ["family"])
        #expect(json["completed_at"] == .null)
        #expect(json["seq"] == 7)
    }
}
