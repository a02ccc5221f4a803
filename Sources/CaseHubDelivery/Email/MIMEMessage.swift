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

    /// The whole message, ready for SMTP's DATA. Written as bytes: Foundation's string
    /// searching and splitting cost more than everything else in a mail.
    public func rendered(boundary: String = Self.newBoundary()) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024 + (text.utf8.count + html.utf8.count) * 4 / 3)
        func line(_ value: String) {
            out += value.utf8
            out += [0x0D, 0x0A]
        }
        line("From: " + HeaderEncoding.mailbox(name: from.name, address: from.address))
        line("To: " + HeaderEncoding.mailbox(name: to.name, address: to.address))
        line("Subject: " + HeaderEncoding.text(subject))
        line("Date: " + Self.rfc5322Date(date))
        line("Message-ID: <\(messageId)>")
        if let conversationId {
            line("In-Reply-To: <\(conversationId)>")
            line("References: <\(conversationId)>")
        }
        for (name, value) in extraHeaders { line("\(name): \(value)") }
        line("MIME-Version: 1.0")
        line("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        line("")
        line("This is a multi-part message in MIME format.")
        for (type, content) in [("text/plain", text), ("text/html", html)] {
            line("--\(boundary)")
            line("Content-Type: \(type); charset=UTF-8")
            line("Content-Transfer-Encoding: base64")
            line("")
            Self.appendBase64Lines(of: Self.crlfBytes(content), to: &out)
        }
        line("--\(boundary)--")
        return out
    }

    /// A boundary no part can contain: `_` is not in base64's alphabet.
    public static func newBoundary() -> String {
        "=_casehub_" + String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16)
    }

    /// Any line ends (LF, CR, CRLF) as CRLF: libcurl does not fix bare LFs.
    static func crlf(_ text: String) -> String {
        String(decoding: crlfBytes(text), as: UTF8.self)
    }

    private static func crlfBytes(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 64)
        var afterCR = false
        for byte in text.utf8 {
            switch byte {
            case 0x0D:
                bytes.append(0x0D)
                bytes.append(0x0A)
            case 0x0A:
                guard !afterCR else { break }  // the LF of a CRLF already written
                bytes.append(0x0D)
                bytes.append(0x0A)
            default: bytes.append(byte)
            }
            afterCR = byte == 0x0D
        }
        return bytes
    }

    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Base64 (RFC 2045) in lines of 76 characters, each ending in CRLF, written straight into
    /// `out`: a mail is encoded once per delivery, so no intermediate copies.
    private static func appendBase64Lines(of bytes: [UInt8], to out: inout [UInt8]) {
        let alphabet = base64Alphabet
        var column = 0
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let first = UInt32(bytes[index])
            let second = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let third = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = first << 16 | second << 8 | third
            out.append(alphabet[Int(group >> 18 & 0x3F)])
            out.append(alphabet[Int(group >> 12 & 0x3F)])
            out.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
            column += 4
            if column == 76 || index >= bytes.count {
                out.append(0x0D)
                out.append(0x0A)
                column = 0
            }
        }
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
