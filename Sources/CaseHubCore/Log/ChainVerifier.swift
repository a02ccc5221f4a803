/// Checks a case log entry by entry, in `seq` order, without holding the whole log.
///
/// An entry is bad when its `seq` is not the next one (a row removed or inserted), its
/// `prev_hash` is not the previous entry's hash, its own hash does not match its fields, or
/// its held content does not match `content_sha256`. Content may be missing only where a later
/// `message.redacted` entry erased it. After the last entry the case's recorded head (last
/// `seq` and hash) must match too, which catches a log cut short at its end.
///
/// From a broken entry on, the verifier still reads redaction entries (the breaking one too,
/// as a row missing before a redaction breaks the chain at the redaction), only to learn
/// whether content missing before the break was redacted: if so, the first bad `seq` is the
/// break's, not that of a message legitimately redacted after it. Such an entry counts only
/// when its own hash matches its fields; `ok` is false either way.
public struct ChainVerifier: Sendable {
    public enum Result: Sendable, Equatable {
        case intact(entries: Int)
        case broken(firstBadSeq: Int)

        public var json: JSONValue {
            switch self {
            case .intact(let entries): ["ok": true, "entries": .int(Int64(entries))]
            case .broken(let seq): ["ok": false, "first_bad_seq": .int(Int64(seq))]
            }
        }
    }

    private var expectedSeq = 1
    private var previousHash = HashChain.genesis
    private var firstBad: Int?
    /// Entries whose content is gone, each awaiting a redaction entry of one of its messages.
    private var erasures: [(seq: Int, messageIds: Set<String>)] = []

    public init() {}

    /// Whether the verdict may still depend on entries not fed yet: while the chain holds, and
    /// after a break while content missing before it awaits its redaction entry.
    public var needsMore: Bool { firstBad == nil || !erasures.isEmpty }

    /// Whether every entry fed so far holds.
    public var holdsSoFar: Bool { firstBad == nil }

    /// Feeds the next entry; returns ``needsMore``.
    @discardableResult
    public mutating func check(_ entry: LogEntry) -> Bool {
        guard firstBad == nil else {
            settleErasuresPastTheBreak(by: entry)
            return needsMore
        }
        guard entry.seq == expectedSeq, entry.prevHash == previousHash, Self.hashMatches(entry), Self.contentMatches(entry) else {
            firstBad = expectedSeq
            settleErasuresPastTheBreak(by: entry)
            return needsMore
        }
        if entry.content == nil, !account(forMissingContentOf: entry) {
            firstBad = expectedSeq
            return needsMore
        }
        previousHash = entry.hash
        expectedSeq += 1
        return true
    }

    /// The next entry could not be read at all (a value the hub never writes).
    public mutating func unreadableEntry() {
        if firstBad == nil { firstBad = expectedSeq }
    }

    /// The verdict, given the head the case records (`headSeq` 0 for an empty log).
    public func finish(headSeq: Int, headHash: String) -> Result {
        let unexplained = erasures.first?.seq
        if let firstBad { return .broken(firstBadSeq: min(firstBad, unexplained ?? firstBad)) }
        if let unexplained { return .broken(firstBadSeq: unexplained) }
        let count = expectedSeq - 1
        if headSeq != count || (count > 0 && headHash != previousHash) {
            return .broken(firstBadSeq: min(count, headSeq) + 1)
        }
        return .intact(entries: count)
    }

    /// Notes content that is missing, and settles it when the redaction entry arrives.
    /// Returns false when the content could never have been erased legitimately.
    private mutating func account(forMissingContentOf entry: LogEntry) -> Bool {
        guard let data = try? entry.data.parsed() else { return false }
        if settleErasures(ifRedaction: entry, data: data) { return true }
        guard data["content_sha256"] != nil else { return true }
        let erasable: Set<String> = [LogEntryType.messagePosted.rawValue, LogEntryType.messageEdited.rawValue, LogEntryType.messageRelayed.rawValue]
        guard erasable.contains(entry.type) else { return false }
        // A relay's note goes with either message: the one relayed or its copy.
        let ids = ["message_id", "relayed_message_id"].compactMap { data[$0]?.stringValue }
        erasures.append((entry.seq, Set(ids)))
        return true
    }

    /// A redaction entry at or past the break, whose own hash holds, still explains content
    /// erased before it.
    private mutating func settleErasuresPastTheBreak(by entry: LogEntry) {
        guard !erasures.isEmpty, entry.type == LogEntryType.messageRedacted.rawValue, Self.hashMatches(entry),
            let data = try? entry.data.parsed()
        else { return }
        settleErasures(ifRedaction: entry, data: data)
    }

    /// A redaction entry explains the missing content of its message's entries before it.
    /// Returns whether `entry` is one.
    @discardableResult
    private mutating func settleErasures(ifRedaction entry: LogEntry, data: JSONValue) -> Bool {
        guard entry.type == LogEntryType.messageRedacted.rawValue, let id = data["message_id"]?.stringValue else { return false }
        erasures.removeAll { $0.messageIds.contains(id) }
        return true
    }

    private static func hashMatches(_ entry: LogEntry) -> Bool {
        let recomputed = HashChain.entryHash(
            prevHash: entry.prevHash, seq: entry.seq, at: entry.at, type: entry.type, thread: entry.thread,
            parentSeq: entry.parentSeq, actor: entry.actor, data: entry.data)
        return recomputed == entry.hash
    }

    /// Hashes the content as stored, byte for byte: a rewrite into an equivalent but different
    /// text (reordered keys, a duplicate key) is tampering too.
    private static func contentMatches(_ entry: LogEntry) -> Bool {
        guard let content = entry.content else { return true }
        guard let recorded = entry.data["content_sha256"]?.stringValue else { return false }
        let bytes: [UInt8]
        if case .canonical(let text) = content { bytes = Array(text.utf8) } else { bytes = content.canonicalBytes }
        return HashChain.sha256Hex(bytes) == recorded
    }
}
