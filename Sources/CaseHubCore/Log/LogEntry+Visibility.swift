extension LogEntry {
    /// Whether a reader of `threads` may see this entry in a log view or the live stream.
    ///
    /// An entry's own `thread` is not all it tells: a relay names the thread it copied into
    /// (and carries the note meant for it), an escalation names the message's thread, and a
    /// milestone names its audience. The entry shows only where all of that is visible. A
    /// notification or delivery of a case-level entry (thread null, such as a milestone's)
    /// shows only to a reader of every thread: its cause may concern an audience the reader
    /// may not see, and finding out which would mean reading other entries.
    public func isVisible(toReaderOf threads: Set<ThreadName>) -> Bool {
        if threads.count == ThreadName.allCases.count { return true }
        if let thread, !threads.contains(thread) { return false }
        let sees = { (name: JSONValue?) in name?.stringValue.flatMap(ThreadName.init(rawValue:)).map(threads.contains) ?? false }
        switch LogEntryType(rawValue: type) {
        case .messageRelayed:
            return sees(data["to"])
        case .messageRouted:
            guard case .array(let copies)? = try? data.parsed()["relayed"] else { return true }
            return copies.allSatisfy { sees($0["thread"]) }
        case .messageEscalated:
            return sees(data["thread"])
        case .milestoneCreated, .milestoneReminder, .milestoneDue, .milestoneOverdue, .milestoneRescheduled, .milestoneDone,
            .milestoneCancelled:
            guard case .array(let audience)? = try? data.parsed()["audience"] else { return false }
            return audience.contains { sees($0) }
        case .notificationQueued, .deliverySucceeded, .deliveryFailed, .deliveryDead:
            return thread != nil
        default:
            return true
        }
    }
}
