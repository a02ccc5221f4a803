import CaseHubServer
import Logging
import Synchronization
import Testing

@Suite struct DeferredMetadataLogHandlerTests {
    /// Keeps what a handler writes.
    final class Lines: TextOutputStream, Sendable {
        private let text = Mutex("")
        var all: String { text.withLock { $0 } }
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    /// Counts how often it is turned into text.
    final class CountingDescription: CustomStringConvertible, Sendable {
        let formatted = Atomic(0)
        var description: String {
            formatted.add(1, ordering: .relaxed)
            return "req-1"
        }
    }

    /// A line without its leading local timestamp, which differs between two handlers.
    static func withoutTimestamp(_ line: String) -> String {
        String(line.drop { $0 != " " })
    }

    @Test func writesTheLinesStreamLogHandlerWrites() {
        let deferredLines = Lines()
        let streamLines = Lines()
        var deferred = Logger(label: "casehub") { label in
            DeferredMetadataLogHandler(StreamLogHandler(label: label, stream: deferredLines, metadataProvider: nil))
        }
        var stream = Logger(label: "casehub") { label in StreamLogHandler(label: label, stream: streamLines, metadataProvider: nil) }
        deferred[metadataKey: "hb.request.id"] = "abc"
        stream[metadataKey: "hb.request.id"] = "abc"
        deferred[metadataKey: "case"] = "c1"
        stream[metadataKey: "case"] = "c1"
        deferred.error("refused", metadata: ["case": "c2", "reason": "closed"])
        stream.error("refused", metadata: ["case": "c2", "reason": "closed"])
        deferred.debug("below the level")
        stream.debug("below the level")

        #expect(deferredLines.all.contains("case=c2 hb.request.id=abc reason=closed"))
        #expect(Self.withoutTimestamp(deferredLines.all) == Self.withoutTimestamp(streamLines.all))
    }

    @Test func theLinesMetadataWinsOverTheProvidersWhichWinsOverTheLoggers() {
        let lines = Lines()
        let provider = Logger.MetadataProvider { ["case": "from-provider", "shift": "night"] }
        var logger = Logger(label: "casehub") { label in
            DeferredMetadataLogHandler(StreamLogHandler(label: label, stream: lines, metadataProvider: provider))
        }
        logger[metadataKey: "case"] = "from-logger"
        logger[metadataKey: "ward"] = "3B"
        logger.error("one")
        logger.error("two", metadata: ["case": "from-line"])
        let written = lines.all.split(separator: "\n")
        #expect(written.count == 2)
        #expect(written.first?.contains("case=from-provider shift=night ward=3B") == true, "\(lines.all)")
        #expect(written.last?.contains("case=from-line shift=night ward=3B") == true, "\(lines.all)")
    }

    @Test func formatsMetadataOnlyWhenALineIsWritten() {
        let lines = Lines()
        var logger = Logger(label: "casehub") { label in
            DeferredMetadataLogHandler(StreamLogHandler(label: label, stream: lines, metadataProvider: nil))
        }
        logger.logLevel = .error
        let requestId = CountingDescription()
        logger[metadataKey: "hb.request.id"] = .stringConvertible(requestId)
        logger.info("not written")
        #expect(requestId.formatted.load(ordering: .relaxed) == 0)
        #expect(lines.all.isEmpty)

        logger.error("written")
        #expect(requestId.formatted.load(ordering: .relaxed) == 1)
        #expect(lines.all.contains("hb.request.id=req-1"))
        #expect(lines.all.contains("written"))
    }
}
