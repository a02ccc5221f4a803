import Foundation

/// Header text as RFC 5322 and RFC 2047 want it: ASCII as is, anything else as UTF-8
/// `=?UTF-8?B?…?=` encoded words no longer than 75 characters, split on whole characters.
enum HeaderEncoding {
    /// An unstructured header value (a subject).
    static func text(_ value: String) -> String {
        let clean = oneLine(value)
        guard !isASCII(clean) else { return clean }
        return encodedWords(clean).joined(separator: "\r\n ")
    }

    /// A display name for an address: quoted when ASCII, encoded words otherwise.
    static func displayName(_ name: String) -> String {
        let clean = oneLine(name)
        guard isASCII(clean) else { return encodedWords(clean).joined(separator: " ") }
        var quoted = "\""
        for character in clean {
            if character == "\\" || character == "\"" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// `Name <address>`.
    static func mailbox(name: String?, address: String) -> String {
        guard let name, !name.isEmpty else { return "<\(address)>" }
        return "\(displayName(name)) <\(address)>"
    }

    /// Line breaks as spaces: a header value is one line.
    private static func oneLine(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else { return value }
        return String(decoding: value.utf8.map { $0 == 0x0D || $0 == 0x0A ? 0x20 : $0 }, as: UTF8.self)
    }

    private static func isASCII(_ value: String) -> Bool { value.utf8.allSatisfy { $0 < 0x80 } }

    /// Encoded words of at most 75 characters: 12 for `=?UTF-8?B?` and `?=`, so at most 63
    /// base64 characters, which carry 45 bytes; a character is never split between words.
    private static func encodedWords(_ value: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in value {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append(word(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(word(chunk)) }
        return words
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }
}
