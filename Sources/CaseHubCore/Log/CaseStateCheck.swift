/// Checks that what the API serves (the case row and its messages) is what the case log says.
///
/// The log is the record; messages and the case row are kept beside it for fast reads. An
/// edit made directly to a message (its text, thread, author, acks, redaction) or to the case
/// would otherwise go unnoticed by the chain. Feed it every log entry in order, then every
/// message; the verdict names the `seq` of the first message (or entry) that disagrees.
public struct CaseStateCheck: Sendable {
    /// What the log says a message is.
    private struct Expected: Sendable {
        var seq: Int
        var thread: ThreadName?
        var authorId: String?
        var kind: String?
        var createdAt: String
        var postedContentSha: String?
        var postedContent: JSONValue?
        var lastEdit: (at: String, contentSha: String?)?
        var redacted = false
        var ackers: Set<String> = []
        var seen = false
    }

    private var messages: [String: Expected] = [:]
    private var mrn: String?
    private var caseContentSha: String?
    private var closed = false
    private var firstBad: Int?

    public init() {}

    private mutating func bad(_ seq: Int) {
        firstBad = min(firstBad ?? seq, seq)
    }

    public mutating func record(_ entry: LogEntry) {
        guard let data = try? entry.data.parsed() else { return bad(entry.seq) }
        let messageId = data["message_id"]?.stringValue
        switch LogEntryType(rawValue: entry.type) {
        case .caseOpened:
            mrn = data["mrn"]?.stringValue
            caseContentSha = data["content_sha256"]?.stringValue
        case .caseClosed:
            closed = true
        case .messagePosted:
            guard let messageId else { return bad(entry.seq) }
            messages[messageId] = Expected(
                seq: entry.seq, thread: entry.thread, authorId: entry.actor["id"]?.stringValue, kind: data["kind"]?.stringValue,
                createdAt: entry.at, postedContentSha: data["content_sha256"]?.stringValue, postedContent: try? entry.content?.parsed())
        case .messageEdited:
            guard let messageId, messages[messageId] != nil else { return bad(entry.seq) }
            messages[messageId]?.lastEdit = (entry.at, data["content_sha256"]?.stringValue)
        case .messageRedacted:
            guard let messageId, messages[messageId] != nil else { return bad(entry.seq) }
            messages[messageId]?.redacted = true
        case .messageAcked:
            guard let messageId, messages[messageId] != nil, let by = entry.actor["id"]?.stringValue else { return bad(entry.seq) }
            messages[messageId]?.ackers.insert(by)
        default:
            break
        }
    }

    /// Compares the case row with `case.opened` and `case.closed`.
    public mutating func check(_ caseValue: Case) {
        let content = JSONValue.members(["patient": caseValue.patient, "payer": caseValue.payer])
        let closedInRow = caseValue.status == .closed
        if caseValue.mrn != mrn || HashChain.sha256Hex(content.canonicalBytes) != caseContentSha || closedInRow != closed {
            bad(1)
        }
    }

    /// Compares one message row with its entries.
    public mutating func check(_ message: Message) {
        guard var expected = messages[message.id], expected.seq == message.seq, !expected.seen else { return bad(message.seq) }
        expected.seen = true
        messages[message.id] = expected
        guard expected.thread == message.thread, expected.authorId == message.author.id, expected.kind == message.kind.rawValue,
            expected.createdAt == message.createdAt, expected.redacted == message.redacted,
            Set(message.acks.map(\.by)) == expected.ackers, message.editedAt == expected.lastEdit?.at
        else { return bad(message.seq) }
        if message.redacted {
            if !message.body.isEmpty || message.data.canonicalString != "{}" { bad(message.seq) }
            return
        }
        if let edit = expected.lastEdit {
            let body = JSONValue.members(["body": .string(message.body)])
            let dataMatches = expected.postedContent.map { $0["data"]?.canonicalString == message.data.canonicalString } ?? false
            if HashChain.sha256Hex(body.canonicalBytes) != edit.contentSha || !dataMatches { bad(message.seq) }
        } else {
            let content = JSONValue.members(["body": .string(message.body), "data": message.data])
            if HashChain.sha256Hex(content.canonicalBytes) != expected.postedContentSha { bad(message.seq) }
        }
    }

    /// A row at `seq` disagrees in a way found outside this check (it could not be read, or
    /// what it serves is not what its columns say).
    public mutating func disagreement(at seq: Int) {
        bad(seq)
    }

    /// The first `seq` at which the served state and the log disagree, if any; every posted
    /// message must have been seen as a row.
    public func firstDisagreement() -> Int? {
        let missing = messages.values.filter { !$0.seen }.map(\.seq).min()
        switch (firstBad, missing) {
        case (let bad?, let gone?): return min(bad, gone)
        case (let bad?, nil): return bad
        case (nil, let gone): return gone
        }
    }
}
