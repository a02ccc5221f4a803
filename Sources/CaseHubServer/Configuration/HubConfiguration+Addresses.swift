import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Checks of the values that name places: where to listen, where to send mail from and
/// through, and the hub's public address. Each is refused at start-up with a line naming its
/// key, rather than failing later at the first bind, e-mail or link.
extension HubConfiguration {
    /// An IPv4 or IPv6 address, or a host name (letters, digits, hyphens and underscores in
    /// dot-separated labels).
    static func host(_ value: String, _ key: String) throws(ConfigurationError) -> String {
        guard isIPAddress(value) || isHostName(value) else {
            throw ConfigurationError(key: key, "\(shown(value)) is neither an IP address nor a host name")
        }
        return value
    }

    /// `smtp://host[:port]` or `smtps://host[:port]`, with user and password if the relay wants them.
    static func smtpURL(_ value: String, _ key: String) throws(ConfigurationError) -> String {
        guard let url = URLComponents(string: value), ["smtp", "smtps"].contains(url.scheme?.lowercased() ?? ""),
            let host = url.host, isIPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) || isHostName(host),
            (url.path.isEmpty || url.path == "/"), url.port.map({ (1...65535).contains($0) }) ?? true
        else {
            throw ConfigurationError(key: key, "\(shown(DatabaseLocation.redactingPassword(value))) is neither smtp://host:port nor smtps://host:port")
        }
        return value
    }

    /// A bare address for the envelope and the From header: one `@` with text on both sides, and
    /// nothing that could end or extend a header line.
    static func smtpFrom(_ value: String, _ key: String) throws(ConfigurationError) -> String {
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        let forbidden = CharacterSet.whitespacesAndNewlines.union(.controlCharacters).union(CharacterSet(charactersIn: "<>,;\"()[]\\"))
        guard parts.count == 2, !parts[0].isEmpty, isHostName(String(parts[1])), value.rangeOfCharacter(from: forbidden) == nil else {
            throw ConfigurationError(key: key, "\(shown(value)) is not an e-mail address such as casehub@rs.example.id")
        }
        return value
    }

    /// An absolute `http` or `https` URL: links in e-mails are built on it.
    static func publicURL(_ value: String, _ key: String) throws(ConfigurationError) -> String {
        guard let url = URLComponents(string: value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
        else {
            throw ConfigurationError(key: key, "\(shown(value)) is not an http:// or https:// address such as https://casehub.rs.example.id")
        }
        return value
    }

    /// The value quoted, with control characters escaped, so that the error stays one line.
    private static func shown(_ value: String) -> String {
        value.debugDescription
    }

    /// An IP literal; an IPv6 one may name its interface (`fe80::1%eth0`).
    private static func isIPAddress(_ text: String) -> Bool {
        var buffer = in6_addr()
        let address = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, address, &buffer) == 1
    }

    /// A DNS name, a final dot allowed; underscores too, as container networks name services.
    /// Its last label is not all digits (RFC 3696 §2): `999.1.1.1` is a mistyped address.
    private static func isHostName(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return !name.isEmpty && name.utf8.count <= 253 && !(labels.last?.allSatisfy(\.isNumber) ?? true)
            && labels.allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
            }
    }
}
