import CaseHubCore
import Synchronization

/// Remembers resolved tokens for a short while, so that a busy client does not cost a store
/// read per request. Entries live `lifetimeMillis`; a change to a token's memberships (a case
/// manager opening a case) drops its entry at once.
final class PrincipalCache: Sendable {
    private struct Entry {
        let principal: Principal
        let expiresAt: UInt64
    }

    static let lifetimeMillis: UInt64 = 10_000
    static let capacity = 10_000

    private let entries = Mutex<[String: Entry]>([:])

    func principal(tokenHash: String, now: UInt64 = Timestamp.nowMillis()) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[tokenHash] else { return nil }
            guard entry.expiresAt > now else {
                entries[tokenHash] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ principal: Principal, tokenHash: String, now: UInt64 = Timestamp.nowMillis()) {
        entries.withLock { entries in
            // Bounded: past the capacity, start afresh rather than track recency.
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[tokenHash] = Entry(principal: principal, expiresAt: now + Self.lifetimeMillis)
        }
    }

    func forget(tokenHash: String) {
        _ = entries.withLock { $0.removeValue(forKey: tokenHash) }
    }
}
