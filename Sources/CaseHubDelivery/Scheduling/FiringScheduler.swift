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
            while !Task.isCancelled {
                await self.fireDue()
                await self.waitForNext()
            }
        }
        logger.info("firing scheduler stopped")
    }

    /// Acts on every firing due at the clock's time, earliest first; returns how many it acted on.
    @discardableResult
    public func fireDue() async -> Int {
        var fired = 0
        while !Task.isCancelled {
            let now = clock.nowMillis()
            let due: [DueFiring]
            do {
                due = try await store.dueFirings(nowMillis: now, limit: 100)
            } catch {
                logger.error("could not read due firings: \(error)")
                return fired
            }
            for firing in due {
                do {
                    if try await store.fire(firing, posts: texts.posts(for: firing), nowMillis: now) { fired += 1 }
                } catch {
                    // Left in place: tried again on the next pass.
                    logger.error("could not act on a firing", metadata: ["firing": "\(firing.id)", "purpose": "\(firing.purpose.rawValue)", "error": "\(error)"])
                    return fired
                }
            }
            if due.count < 100 { return fired }
        }
        return fired
    }

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
