import Testing

@testable import CaseHubCore

@Suite("The status machine of a milestone")
struct MilestoneLifecycleTests {
    typealias Status = MilestoneLifecycle.Status
    typealias Event = MilestoneLifecycle.Event

    /// What the machine should do, written out independently of its implementation.
    enum Expected: Equatable {
        case applied(Status)
        case ignored
        case conflict
    }

    static let events: [Event] = [.remind, .becomeDue, .becomeOverdue, .complete, .cancel, .reschedule]

    /// One row per event, one column per status.
    static let table: [Event: [Status: Expected]] = [
        .remind: [.planned: .applied(.planned), .due: .ignored, .overdue: .ignored, .done: .ignored, .cancelled: .ignored],
        .becomeDue: [.planned: .applied(.due), .due: .ignored, .overdue: .ignored, .done: .ignored, .cancelled: .ignored],
        .becomeOverdue: [
            .planned: .applied(.overdue), .due: .applied(.overdue), .overdue: .ignored, .done: .ignored, .cancelled: .ignored,
        ],
        .complete: [.planned: .applied(.done), .due: .applied(.done), .overdue: .applied(.done), .done: .conflict, .cancelled: .conflict],
        .cancel: [
            .planned: .applied(.cancelled), .due: .applied(.cancelled), .overdue: .applied(.cancelled), .done: .conflict,
            .cancelled: .conflict,
        ],
        .reschedule: [
            .planned: .applied(.planned), .due: .applied(.planned), .overdue: .applied(.planned), .done: .conflict, .cancelled: .conflict,
        ],
    ]

    @Test("Every event in every status does what the table says", arguments: events, Status.allCases)
    func fullTable(event: Event, status: Status) throws {
        let expected = try #require(Self.table[event]?[status])
        var lifecycle = MilestoneLifecycle(status: status)
        switch expected {
        case .applied(let next):
            #expect(try lifecycle.apply(event) == .applied)
            #expect(lifecycle.status == next)
        case .ignored:
            #expect(try lifecycle.apply(event) == .ignored)
            #expect(lifecycle.status == status)
        case .conflict:
            let error = #expect(throws: CaseHubError.self) { try lifecycle.apply(event) }
            #expect(error?.name == "conflict")
            #expect(error?.message.contains(status.rawValue) == true)
            #expect(lifecycle.status == status)
        }
    }

    @Test("Only planned, due and overdue are open")
    func openStatuses() {
        #expect(Status.allCases.filter(\.isOpen) == [.planned, .due, .overdue])
    }

    @Test("A milestone walks planned, due, overdue, then done, and changes no more")
    func happyPath() throws {
        var lifecycle = MilestoneLifecycle(status: .planned)
        #expect(try lifecycle.apply(.remind) == .applied)
        #expect(try lifecycle.apply(.becomeDue) == .applied)
        #expect(lifecycle.status == .due)
        #expect(try lifecycle.apply(.remind) == .ignored)
        #expect(try lifecycle.apply(.becomeOverdue) == .applied)
        #expect(lifecycle.status == .overdue)
        #expect(try lifecycle.apply(.complete) == .applied)
        #expect(lifecycle.status == .done)
        #expect(throws: CaseHubError.self) { try lifecycle.apply(.reschedule) }
        #expect(lifecycle.status == .done)
    }

    @Test("Rescheduling an overdue milestone opens its plan again")
    func rescheduleReopens() throws {
        var lifecycle = MilestoneLifecycle(status: .overdue)
        #expect(try lifecycle.apply(.reschedule) == .applied)
        #expect(lifecycle.status == .planned)
        #expect(try lifecycle.apply(.remind) == .applied)
        #expect(try lifecycle.apply(.becomeDue) == .applied)
        #expect(lifecycle.status == .due)
    }
}
