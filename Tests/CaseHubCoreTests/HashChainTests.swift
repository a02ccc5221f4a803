import Testing

@testable import CaseHubCore

@Suite struct HashChainTests {
    static let actor = Actor(id: "p1", role: "family", name: "Ibu Sari")

    /// A three-entry log as a store would seal it.
    static func chain() -> [LogEntry] {
        let drafts = [
            LogDraft(type: .caseOpened, thread: nil, parentSeq: nil, actor: actor, data: ["case_id": "c1"]),
            LogDraft(
                type: .messagePosted, thread: .family, parentSeq: nil, actor: actor, data: ["message_id": "m1"],
                content: ["body": "Jadwal edukasi besok", "data": [:]]),
            LogDraft(type: .messageAcked, thread: .family, parentSeq: 2, actor: actor, data: ["message_id": "m1"]),
        ]
        var previous = HashChain.genesis
        return drafts.enumerated().map { index, draft in
            let entry = HashChain.seal(draft, caseId: "c1", seq: index + 1, at: "2026-11-23T08:00:0\(index).000Z", prevHash: previous)
            previous = entry.hash
            return entry
        }
    }

    static func verify(_ entries: [LogEntry], headSeq: Int? = nil, headHash: String? = nil) -> ChainVerifier.Result {
        var verifier = ChainVerifier()
        for entry in entries where !verifier.check(entry) { break }
        return verifier.finish(headSeq: headSeq ?? entries.count, headHash: headHash ?? entries.last?.hash ?? HashChain.genesis)
    }

    @Test func firstEntryStartsFromSixtyFourZeros() {
        let entries = Self.chain()
        #expect(entries[0].prevHash == String(repeating: "0", count: 64))
        #expect(entries[1].prevHash == entries[0].hash)
        #expect(entries.allSatisfy { $0.hash.count == 64 })
    }

    @Test func hashIsSHA256OverPrevHashAndCanonicalEntry() {
        let entry = Self.chain()[0]
        let canonical = #"{"actor":{"id":"p1","name":"Ibu Sari","role":"family"},"at":"2026-11-23T08:00:00.000Z","data":{"case_id":"c1"},"parent_seq":null,"seq":1,"thread":null,"type":"case.opened"}"#
        #expect(entry.hash == HashChain.sha256Hex(Array((HashChain.genesis + canonical).utf8)))
    }

    @Test func contentIsCoveredThroughItsDigest() {
        let posted = Self.chain()[1]
        let digest = HashChain.sha256Hex(Array(#"{"body":"Jadwal edukasi besok","data":{}}"#.utf8))
        #expect(posted.data["content_sha256"]?.stringValue == digest)
    }

    @Test func intactChainVerifies() {
        #expect(Self.verify(Self.chain()) == .intact(entries: 3))
        #expect(Self.verify([]) == .intact(entries: 0))
    }

    @Test func changedDataIsCaught() {
        var entries = Self.chain()
        entries[1].data = ["message_id": "m2", "content_sha256": entries[1].data["content_sha256"]!]
        #expect(Self.verify(entries) == .broken(firstBadSeq: 2))
    }

    @Test func changedContentIsCaught() {
        var entries = Self.chain()
        entries[1].content = ["body": "Jadwal edukasi lusa", "data": [:]]
        #expect(Self.verify(entries) == .broken(firstBadSeq: 2))
    }

    @Test func contentMayBeMissingOnlyWhereARedactionErasedIt() {
        var entries = Self.chain()
        entries[1].content = nil
        #expect(Self.verify(entries) == .broken(firstBadSeq: 2))
        let redaction = HashChain.seal(
            LogDraft(type: .messageRedacted, thread: .family, parentSeq: 2, actor: Self.actor, data: ["message_id": "m1"]),
            caseId: "c1", seq: 4, at: "2026-11-23T08:00:04.000Z", prevHash: entries[2].hash)
        entries.append(redaction)
        #expect(Self.verify(entries) == .intact(entries: 4))
    }

    /// The chain of ``chain()`` and then: m2 posted (4), m1 redacted (5), its text erased at 2.
    static func chainWithARedaction() -> [LogEntry] {
        var entries = chain()
        for draft in [
            LogDraft(
                type: .messagePosted, thread: .family, parentSeq: nil, actor: actor, data: ["message_id": "m2"],
                content: ["body": "Obat diminum sesudah makan", "data": [:]]),
            LogDraft(type: .messageRedacted, thread: .family, parentSeq: 2, actor: actor, data: ["message_id": "m1"]),
        ] {
            let seq = entries.count + 1
            entries.append(HashChain.seal(draft, caseId: "c1", seq: seq, at: "2026-11-23T08:00:0\(seq).000Z", prevHash: entries[seq - 2].hash))
        }
        entries[1].content = nil
        return entries
    }

    @Test func aBreakAfterARedactedMessageIsNamedAtTheBreak() {
        var entries = Self.chainWithARedaction()
        #expect(Self.verify(entries) == .intact(entries: 5))
        entries[3].content = ["body": "Obat diminum sebelum makan", "data": [:]]
        #expect(Self.verify(entries) == .broken(firstBadSeq: 4), "the text missing at 2 is explained by the redaction at 5")
    }

    @Test func aRowRemovedJustBeforeARedactionIsNamed() {
        var entries = Self.chainWithARedaction()
        entries.remove(at: 3)
        #expect(Self.verify(entries, headSeq: 5, headHash: Self.chainWithARedaction()[4].hash) == .broken(firstBadSeq: 4))
    }

    @Test func aForgedRedactionPastTheBreakExplainsNothing() {
        var entries = Self.chainWithARedaction()
        entries[3].at = "2026-11-23T09:00:00.000Z"  // the break
        entries[4].data = ["message_id": "m1", "note": "forged"]  // its hash no longer matches
        #expect(Self.verify(entries) == .broken(firstBadSeq: 2), "the text missing at 2 stays unexplained")
    }

    @Test func textMissingWithoutARedactionIsNamedBeforeALaterBreak() {
        var entries = Self.chainWithARedaction()
        entries.removeLast()
        entries[3].content = ["body": "Obat diminum sebelum makan", "data": [:]]
        #expect(Self.verify(entries) == .broken(firstBadSeq: 2))
    }

    @Test func removedEntryIsCaughtAtTheGap() {
        var entries = Self.chain()
        entries.remove(at: 1)
        #expect(Self.verify(entries, headSeq: 3, headHash: Self.chain()[2].hash) == .broken(firstBadSeq: 2))
    }

    @Test func rewrittenHashIsCaughtAtTheNextEntry() {
        var entries = Self.chain()
        entries[0].at = "2026-11-23T09:00:00.000Z"
        entries[0].hash = HashChain.entryHash(
            prevHash: entries[0].prevHash, seq: 1, at: entries[0].at, type: entries[0].type, thread: nil, parentSeq: nil,
            actor: entries[0].actor, data: entries[0].data)
        #expect(Self.verify(entries) == .broken(firstBadSeq: 2))
    }

    @Test func truncatedTailIsCaughtAgainstTheRecordedHead() {
        let entries = Self.chain()
        #expect(Self.verify(Array(entries.prefix(2)), headSeq: 3, headHash: entries[2].hash) == .broken(firstBadSeq: 3))
    }

    @Test func verifyResultHasTheAPIShape() {
        #expect(ChainVerifier.Result.intact(entries: 4).json.canonicalString == #"{"entries":4,"ok":true}"#)
        #expect(ChainVerifier.Result.broken(firstBadSeq: 2).json.canonicalString == #"{"first_bad_seq":2,"ok":false}"#)
    }

    @Test func logViewShowsHashedDataAndContentApart() throws {
        var posted = Self.chain()[1]
        #expect(posted.json["content"]?["body"]?.stringValue == "Jadwal edukasi besok")
        #expect(posted.json["data"]?["body"] == nil)
        posted.content = nil
        #expect(posted.json["content"] == .null)
        #expect(posted.json["data"]?["content_sha256"] != nil)
    }
}
