#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time for what the hub does at a time (milestone notices, escalations), so that
/// tests can drive it with a clock of their own: instant and deterministic.
public protocol HubClock: Sendable {
    func nowMillis() -> UInt64
    /// Returns at the wall-clock time `millis`, or sooner when the task is cancelled.
    func sleep(untilMillis millis: UInt64) async throws
}

/// The real clock.
public struct SystemClock: HubClock {
    public init() {}

    public func nowMillis() -> UInt64 { Timestamp.nowMillis() }

    public func sleep(untilMillis millis: UInt64) async throws {
        let now = nowMillis()
        guard millis > now else { return }
        try await Task.sleep(for: .milliseconds(millis - now))
    }
}
