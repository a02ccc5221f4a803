import CaseHubCore
import CaseHubStore
import NIOCore
import Synchronization

/// Pages of messages as answered, kept in memory while their case's log has not grown.
///
/// Reading a thread's latest page is what every open console does, again and again, and the
/// answer changes only when the case does: every change to a message appends to the case's
/// log. A kept page is served again only while the store reports the case's log `seq` it was
/// read at (``Store/knownLogSeq(caseId:)``), so it is never older than the latest commit this
/// process has answered; stores that cannot know (several instances on PostgreSQL) keep
/// nothing. Access is checked on every request before the cache is asked.
final class MessagePageCache: Sendable {
    struct Key: Hashable, Sendable {
        let caseId: String
        let thread: ThreadName
        let query: MessageQuery
    }

    private struct Page {
        let logSeq: Int
        let body: ByteBuffer
        /// When it was kept: tells its place in `order` from places of answers it replaced.
        let stamp: Int
    }

    private struct State {
        var pages: [Key: Page] = [:]
        /// Keys in the order they were kept, oldest first from `orderStart`, for eviction.
        var order: [(key: Key, stamp: Int)] = []
        var orderStart = 0
        var nextStamp = 0
        var bytes = 0
    }

    /// At most this many bytes of answers are kept; the oldest go first.
    let byteLimit: Int
    private let state = Mutex(State())

    init(byteLimit: Int = 32 << 20) {
        self.byteLimit = byteLimit
    }

    /// The kept answer for `key`, if it was read at `logSeq`.
    func body(for key: Key, atLogSeq logSeq: Int) -> ByteBuffer? {
        state.withLock { state in
            guard let page = state.pages[key], page.logSeq == logSeq else { return nil }
            return page.body
        }
    }

    /// Keeps an answer read at `logSeq`, in place of any other for the same key.
    func keep(_ body: ByteBuffer, for key: Key, atLogSeq logSeq: Int) {
        guard body.readableBytes <= byteLimit else { return }
        state.withLock { state in
            let stamp = state.nextStamp
            state.nextStamp += 1
            if let replaced = state.pages.updateValue(Page(logSeq: logSeq, body: body, stamp: stamp), forKey: key) {
                state.bytes -= replaced.body.readableBytes
            }
            state.bytes += body.readableBytes
            state.order.append((key, stamp))
            while state.bytes > byteLimit { Self.evictOldest(&state) }
            // Drop the order's used-up front once it is most of the list.
            if state.orderStart > 1024, state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    private static func evictOldest(_ state: inout State) {
        while state.orderStart < state.order.count {
            let (key, stamp) = state.order[state.orderStart]
            state.orderStart += 1
            // A place whose answer was replaced since is passed over.
            guard let page = state.pages[key], page.stamp == stamp else { continue }
            state.pages[key] = nil
            state.bytes -= page.body.readableBytes
            return
        }
    }

    var count: Int { state.withLock { $0.pages.count } }
}
