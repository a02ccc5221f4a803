import CaseHubCore
import Foundation

/// Bearer tokens: `chub_` and 43 characters of base64url (32 random bytes). Only their
/// SHA-256 is stored; the token itself is shown once, when it is issued.
public enum Token {
    public static func make() -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        return "chub_" + base64URL(bytes)
    }

    public static func hash(_ token: String) -> String {
        HashChain.sha256Hex(Array(token.utf8))
    }

    /// Base64url without padding (RFC 4648 §5), safe in headers and URLs.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
