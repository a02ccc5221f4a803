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
    public func rendered(boundary: String = "=_casehub_" + UUID().uuidString.filter { $0 != "-" }) -> [UInt8] {
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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 64)
        var afterCR = false
        for byte in text.utf8 {
            switch byte {
            case 0x0D: bytes += [0x0D, 0x0A]
            case 0x0A where afterCR: break  // the LF of a CRLF already written
            case 0x0A: bytes += [0x0D, 0x0A]
            default: bytes.append(byte)
            }
            afterCR = byte == 0x0D
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Base64 in lines of 76 characters, as RFC 2045 asks.
    static func base64Lines(_ text: String) -> [String] {
        Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            .components(separatedBy: "\r\n")
    }

    /// `Wed, 18 Nov 2026 11:06:40 +0000`, always in English and UTC as RFC 5322 wants.
    static func rfc5322Date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}
