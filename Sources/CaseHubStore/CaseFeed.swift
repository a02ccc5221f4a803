import Synchronization

/// Tells live readers of a case that its log grew. It carries no entries: a reader reads
/// them from the store after the last `seq` it sent, so it can miss none and repeat none,
/// however rings and reads interleave.
public final class CaseFeed: Sendable {
    private let subscribers = Mutex<[String: [ObjectIdentifier: Doorbell]]>([:])

    public init() {}

    /// A doorbell rung after every commit that appends to the case's log, until `cancel`.
    public func subscribe(caseId: String) -> Subscription {
        let subscription = Subscription(caseId: caseId, feed: self)
        subscribers.withLock { $0[caseId, default: [:]][ObjectIdentifier(subscription)] = subscription.bell }
        return subscription
    }

    public func publish(caseId: String) {
        let bells = subscribers.withLock { $0[caseId].map { Array($0.values) } ?? [] }
        for bell in bells { bell.ring() }
    }

    fileprivate func remove(_ subscription: Subscription) {
        subscribers.withLock { table in
            table[subscription.caseId]?[ObjectIdentifier(subscription)] = nil
            if table[subscription.caseId]?.isEmpty == true { table[subscription.caseId] = nil }
        }
    }

    /// One reader's interest in one case.
    public final class Subscription: Sendable {
        public let caseId: String
        public let bell = Doorbell()
        private let feed: CaseFeed

        fileprivate init(caseId: String, feed: CaseFeed) {
            self.caseId = caseId
            self.feed = feed
        }

        public func cancel() { feed.remove(self) }
    }
}
