import CaseHubCore
import Synchronization

/// Remembers resolved tokens for a short while, so that a busy client does not cost a store
/// read per request. Entries live `lifetimeMillis`; a change to a token's memberships (a case
/// manager opening a case) drops its entry at once.
///
/// A principal read from the store before such a change must not be remembered after it:
/// callers take a ``generation`` before reading and pass it to ``remember(_:tokenHash:readAt:now:)``,
/// which ignores the principal if anything was forgotten meanwhile.
public final class PrincipalCache: Sendable {
    private struct Entry {
        let principal: Principal
        let expiresAt: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generation: UInt64 = 0
    }

    static let lifetimeMillis: UInt64 = 10_000
    static let capacity = 10_000

    private let state = Mutex(State())

    public init() {}

    var generation: UInt64 { state.withLock { $0.generation } }

    func principal(tokenHash: String, now: UInt64 = Timestamp.nowMillis()) -> Principal? {
        state.withLock { state in
            guard let entry = state.entries[tokenHash] else { return nil }
            guard entry.expiresAt > now else {
                state.entries[tokenHash] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ principal: Principal, tokenHash: String, readAt generation: UInt64, now: UInt64 = Timestamp.nowMillis()) {
        state.withLock { state in
            guard state.generation == generation else { return }
            // Bounded: past the capacity, start afresh rather than track recency.
            if state.entries.count >= Self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[tokenHash] = Entry(principal: principal, expiresAt: now + Self.lifetimeMillis)
        }
    }

    func forget(tokenHash: String) {
        state.withLock { state in
            state.entries[tokenHash] = nil
            state.generation &+= 1
        }
    }
}
