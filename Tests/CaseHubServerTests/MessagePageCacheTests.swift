import CaseHubCore
import CaseHubStore
import NIOCore
import Testing

@testable import CaseHubServer

@Suite("Message page cache")
struct MessagePageCacheTests {
    static func key(_ caseId: String, limit: Int = 50) -> MessagePageCache.Key {
        MessagePageCache.Key(caseId: caseId, thread: .ppa, query: MessageQuery(after: nil, before: nil, limit: limit))
    }

    static func body(_ byte: Character, count: Int) -> ByteBuffer {
        ByteBuffer(string: String(repeating: byte, count: count))
    }

    @Test func aPageIsServedOnlyAtTheLogSeqItWasReadAt() {
        let cache = MessagePageCache()
        cache.keep(Self.body("a", count: 10), for: Self.key("c1"), atLogSeq: 7)
        #expect(cache.body(for: Self.key("c1"), atLogSeq: 7) == Self.body("a", count: 10))
        #expect(cache.body(for: Self.key("c1"), atLogSeq: 8) == nil)
        #expect(cache.body(for: Self.key("c1", limit: 20), atLogSeq: 7) == nil)
        #expect(cache.body(for: Self.key("c2"), atLogSeq: 7) == nil)
        // A page read at a newer seq takes the older one's place.
        cache.keep(Self.body("b", count: 10), for: Self.key("c1"), atLogSeq: 8)
        #expect(cache.body(for: Self.key("c1"), atLogSeq: 7) == nil)
        #expect(cache.body(for: Self.key("c1"), atLogSeq: 8) == Self.body("b", count: 10))
        #expect(cache.count == 1)
    }

    @Test func theOldestPagesGoFirstOnceTheByteLimitIsReached() {
        let cache = MessagePageCache(byteLimit: 100)
        cache.keep(Self.body("a", count: 40), for: Self.key("c1"), atLogSeq: 1)
        cache.keep(Self.body("b", count: 40), for: Self.key("c2"), atLogSeq: 1)
        // c1 is kept again (newer): its first place in line no longer counts.
        cache.keep(Self.body("c", count: 40), for: Self.key("c1"), atLogSeq: 2)
        #expect(cache.count == 2)
        cache.keep(Self.body("d", count: 40), for: Self.key("c3"), atLogSeq: 1)
        #expect(cache.body(for: Self.key("c2"), atLogSeq: 1) == nil, "c2 was the oldest")
        #expect(cache.body(for: Self.key("c1"), atLogSeq: 2) != nil)
        #expect(cache.body(for: Self.key("c3"), atLogSeq: 1) != nil)
        // An answer larger than the whole limit is not kept.
        cache.keep(Self.body("e", count: 101), for: Self.key("c4"), atLogSeq: 1)
        #expect(cache.body(for: Self.key("c4"), atLogSeq: 1) == nil)
        #expect(cache.count == 2)
    }

    @Test func manyKeepsStayWithinTheLimit() {
        let cache = MessagePageCache(byteLimit: 1000)
        for index in 0..<5000 {
            cache.keep(Self.body("x", count: 100), for: Self.key("c\(index % 37)"), atLogSeq: index)
        }
        #expect(cache.count == 10)
        #expect(cache.body(for: Self.key("c\(4999 % 37)"), atLogSeq: 4999) != nil)
    }
}
