import Foundation

/// An e-mail as sent: RFC 5322 headers and a `multipart/alternative` body with a plain text
/// and an HTML part, every line ending in CRLF.
public struct MIMEMessage: Sendable {
    public var from: (name: String?, address: String)
    public var to: (name: String?, address: String)
    public var subject: String
    public var date: Date
    /// Without angle brackets, like every id below.
    public var messageId: String
    /// The conversation this mail belongs to: `In-Reply-To` and `References` name it, so a
    /// mail program shows all mail of one case as one thread.
    public var conversationId: String?
    public var text: String
    public var html: String
    /// Extra headers, as `(name, ASCII value)`.
    public var extraHeaders: [(String, String)] = []

    public init(
        from: (name: String?, address: String), to: (name: String?, address: String), subject: String, date: Date, messageId: String,
        conversationId: String?, text: String, html: String
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageId = messageId
        self.conversationId = conversationId
        self.text = text
        self.html = html
    }

    /// The whole message, ready for SMTP's DATA.
    public func rendered(boundary: String = "=_casehub_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")) -> [UInt8] {
        var lines = [
            "From: " + HeaderEncoding.mailbox(name: from.name, address: from.address),
            "To: " + HeaderEncoding.mailbox(name: to.name, address: to.address),
            "Subject: " + HeaderEncoding.text(subject),
            "Date: " + Self.rfc5322Date(date),
            "Message-ID: <\(messageId)>",
        ]
        if let conversationId {
            lines.append("In-Reply-To: <\(conversationId)>")
            lines.append("References: <\(conversationId)>")
        }
        lines += extraHeaders.map { "\($0.0): \($0.1)" }
        lines += [
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a multi-part message in MIME format.",
        ]
        for (type, content) in [("text/plain", text), ("text/html", html)] {
            lines += [
                "--\(boundary)",
                "Content-Type: \(type); charset=UTF-8",
                "Content-Transfer-Encoding: base64",
                "",
            ]
            lines += Self.base64Lines(Self.crlf(content))
        }
        lines.append("--\(boundary)--")
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// Any line ends (LF, CR, CRLF) as CRLF: libcurl does not fix bare LFs.
    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
    }

    /// Base64 in lines of 76 characters, as RFC 2045 asks.
    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
