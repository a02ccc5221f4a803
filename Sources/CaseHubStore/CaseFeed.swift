import CaseHubCore
import Synchronization

/// Tells live readers of a case that its log grew, and hands them the case's passing events
/// that are not log entries (read markers). Log growth carries no entries: a reader reads them
/// from the store after the last `seq` it sent, so it can miss none and repeat none, however
/// rings and reads interleave.
public final class CaseFeed: Sendable {
    private let subscribers = Mutex<[String: [ObjectIdentifier: Subscription]]>([:])

    public init() {}

    /// A doorbell rung after every commit that appends to the case's log, until `cancel`.
    public func subscribe(caseId: String) -> Subscription {
        let subscription = Subscription(caseId: caseId, feed: self)
        subscribers.withLock { $0[caseId, default: [:]][ObjectIdentifier(subscription)] = subscription }
        return subscription
    }

    /// The case's log grew.
    public func publish(caseId: String) {
        for subscription in subscriptions(of: caseId) { subscription.bell.ring() }
    }

    /// Every subscribed case's log may have grown (news was lost): each reader looks again.
    public func publishToAll() {
        let all = subscribers.withLock { $0.values.flatMap(\.values) }
        for subscription in all { subscription.bell.ring() }
    }

    /// A passing event of one thread (or of the case, when `thread` is nil), for readers
    /// connected now; not kept for later ones.
    public func publish(caseId: String, thread: ThreadName?, event: JSONValue) {
        for subscription in subscriptions(of: caseId) {
            subscription.hold(PassingEvent(thread: thread, json: event))
            subscription.bell.ring()
        }
    }

    private func subscriptions(of caseId: String) -> [Subscription] {
        subscribers.withLock { $0[caseId].map { Array($0.values) } ?? [] }
    }

    fileprivate func remove(_ subscription: Subscription) {
        subscribers.withLock { table in
            table[subscription.caseId]?[ObjectIdentifier(subscription)] = nil
            if table[subscription.caseId]?.isEmpty == true { table[subscription.caseId] = nil }
        }
    }

    public struct PassingEvent: Sendable {
        public let thread: ThreadName?
        public let json: JSONValue
    }

    /// One reader's interest in one case.
    public final class Subscription: Sendable {
        /// Passing events held for a reader that has not taken them; the oldest go first.
        static let heldLimit = 256

        public let caseId: String
        public let bell = Doorbell()
        private let feed: CaseFeed
        private let held = Mutex<[PassingEvent]>([])

        fileprivate init(caseId: String, feed: CaseFeed) {
            self.caseId = caseId
            self.feed = feed
        }

        fileprivate func hold(_ event: PassingEvent) {
            held.withLock { events in
                events.append(event)
                if events.count > Self.heldLimit { events.removeFirst(events.count - Self.heldLimit) }
            }
        }

        /// The passing events since the last call.
        public func takePassingEvents() -> [PassingEvent] {
            held.withLock { events in
                defer { events.removeAll() }
                return events
            }
        }

        public func cancel() { feed.remove(self) }
    }
}
