import CaseHubCore
import CaseHubStore
import Logging
import ServiceLifecycle

/// Acts on planned firings when their time comes: milestone reminders, due and overdue
/// notices, and escalations of unacknowledged messages and undecided authorizations.
///
/// Each firing is a store row acted on and deleted in one transaction, so each happens
/// exactly once: a restart neither loses one (the row is still there) nor repeats one (it is
/// gone). Firings missed while the hub was down are acted on, in order, when it starts.
public final class FiringScheduler: Service {
    private let store: any Store
    private let texts: MilestoneTexts
    private let clock: any HubClock
    private let logger: Logger
    /// Looks again at least this often, whatever it expects (a firing planned by another
    /// process sharing the database rings no bell here).
    private let pollInterval: Duration

    public init(store: any Store, texts: MilestoneTexts, clock: any HubClock = SystemClock(), pollInterval: Duration = .seconds(60), logger: Logger) {
        self.store = store
        self.texts = texts
        self.clock = clock
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = Self.firstBackoff
            while !Task.isCancelled {
                if await !self.fireDue().failed {
                    backoff = Self.firstBackoff
                    await self.waitForNext()
                } else {
                    // The store failed: wait before trying again, longer each time (up to the
                    // poll interval), rather than spin on a firing that keeps failing.
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, self.pollInterval)
                }
            }
        }
        logger.info("firing scheduler stopped")
    }

    static let firstBackoff: Duration = .seconds(1)

    /// What one pass of ``fireDue()`` did.
    public struct Pass: Sendable {
        /// Firings acted on (lapsed ones, such as a reminder of a milestone already done, not counted).
        public var fired = 0
        /// The store failed: a failed firing stays planned and is tried on a later pass; the
        /// others of its batch went ahead.
        public var failed = false
    }

    /// Acts on every firing due at the clock's time, earliest first.
    @discardableResult
    public func fireDue() async -> Pass {
        var pass = Pass()
        for _ in 0..<Self.maximumBatches {
            let due: [DueFiring]
            do {
                due = try await store.dueFirings(nowMillis: clock.nowMillis(), limit: Self.batchSize)
            } catch {
                logger.error("could not read due firings: \(error)")
                pass.failed = true
                return pass
            }
            for firing in due {
                do {
                    if try await store.fire(firing, posts: texts.posts(for: firing), nowMillis: clock.nowMillis()) { pass.fired += 1 }
                } catch {
                    pass.failed = true
                    logger.error(
                        "could not act on a firing", metadata: ["firing": "\(firing.id)", "purpose": "\(firing.purpose.rawValue)", "error": "\(error)"])
                }
            }
            if pass.failed || due.count < Self.batchSize { return pass }
        }
        return pass
    }

    static let batchSize = 100
    /// Bounds one pass; what is still due is taken on the next.
    static let maximumBatches = 1000

    /// Until the next firing is due, something new is planned, or the poll interval passes.
    private func waitForNext() async {
        let now = clock.nowMillis()
        let latest = now + UInt64(pollInterval.components.seconds) * 1000
        let until = (try? await store.nextFiringMillis()).map { min(latest, max($0, now)) } ?? latest
        guard until > now else { return }
        let clock = self.clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(untilMillis: until) }
            group.addTask { [store] in await store.firingsPlanned() }
            await group.next()
            group.cancelAll()
        }
    }
}
