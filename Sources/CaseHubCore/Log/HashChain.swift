import Crypto

/// The rules of the case log's hash chain.
///
/// `hash = hex(SHA-256(prev_hash ‖ canonical JSON of {actor, at, data, parent_seq, seq, thread, type}))`
/// where `prev_hash` is the previous entry's hash as 64 lowercase hex characters (64 zeros for
/// the first entry) and canonical JSON is ``JSONValue/canonicalString``. Redactable content is
/// covered through `data.content_sha256 = hex(SHA-256(canonical JSON of the content))`.
public enum HashChain {
    public static let genesis = String(repeating: "0", count: 64)

    /// Gives a draft its place in the chain.
    /// The entry's JSON parts come back as canonical text, serialized once here, so that
    /// storing them costs no second serialization.
    public static func seal(_ draft: LogDraft, caseId: String, seq: Int, at: String, prevHash: String) -> LogEntry {
        var data = draft.data
        var content: JSONValue?
        if let held = draft.content {
            let bytes = held.canonicalBytes
            data["content_sha256"] = .string(sha256Hex(bytes))
            content = .canonical(String(decoding: bytes, as: UTF8.self))
        }
        let actor = JSONValue.canonical(draft.actor.json.canonicalString)
        let dataValue = JSONValue.canonical(JSONValue.object(data).canonicalString)
        let hash = entryHash(
            prevHash: prevHash, seq: seq, at: at, type: draft.type.rawValue, thread: draft.thread, parentSeq: draft.parentSeq,
            actor: actor, data: dataValue)
        return LogEntry(
            caseId: caseId, seq: seq, at: at, type: draft.type.rawValue, thread: draft.thread, parentSeq: draft.parentSeq,
            actor: actor, data: dataValue, content: content, hash: hash, prevHash: prevHash)
    }

    public static func entryHash(
        prevHash: String, seq: Int, at: String, type: String, thread: ThreadName?, parentSeq: Int?, actor: JSONValue, data: JSONValue
    ) -> String {
        var input = Array(prevHash.utf8)
        hashedBody(seq: seq, at: at, type: type, thread: thread, parentSeq: parentSeq, actor: actor, data: data).write(into: &input)
        return sha256Hex(input)
    }

    /// The object an entry's hash covers, after `prev_hash`.
    static func hashedBody(
        seq: Int, at: String, type: String, thread: ThreadName?, parentSeq: Int?, actor: JSONValue, data: JSONValue
    ) -> JSONValue {
        .members([
            "actor": actor, "at": .string(at), "data": data, "parent_seq": JSONValue(parentSeq), "seq": .int(Int64(seq)),
            "thread": JSONValue(thread?.rawValue), "type": .string(type),
        ])
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension LogEntry {
    /// The object this entry's hash covers (without the redactable content, which the chain
    /// covers through `data.content_sha256`).
    public var hashedBody: JSONValue {
        HashChain.hashedBody(seq: seq, at: at, type: type, thread: thread, parentSeq: parentSeq, actor: actor, data: data)
    }
}
