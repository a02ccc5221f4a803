import CaseHubCore

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

    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var index = 0
        while index + 2 < bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in stride(from: 18, through: 0, by: -6) { out.append(alphabet[Int((chunk >> UInt32(shift)) & 0x3F)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            var chunk = UInt32(bytes[index]) << 16
            if rest == 2 { chunk |= UInt32(bytes[index + 1]) << 8 }
            for shift in stride(from: 18, through: 18 - 6 * rest, by: -6) { out.append(alphabet[Int((chunk >> UInt32(shift)) & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
