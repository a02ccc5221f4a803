import Crypto
import Foundation

/// Signs webhook deliveries exactly as the Standard Webhooks specification says: the content
/// `id.timestamp.body` under HMAC-SHA256 keyed with the secret's decoded bytes, sent as
/// `v1,<base64>`; several signatures (during a secret rotation) are separated by spaces.
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret: `whsec_` and base64 of 32 random bytes.
    public static func newSecret() -> String {
        secretPrefix + Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
    }

    /// The key bytes of a `whsec_…` secret; nil when it is not one.
    public static func keyBytes(of secret: String) -> Data? {
        guard secret.hasPrefix(secretPrefix) else { return nil }
        return Data(base64Encoded: String(secret.dropFirst(secretPrefix.count)))
    }

    /// One `v1,<base64>` signature.
    public static func sign(id: String, timestamp: Int, body: [UInt8], secret: String) -> String? {
        guard let key = keyBytes(of: secret) else { return nil }
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return "v1," + Data(hmac.finalize()).base64EncodedString()
    }

    /// The three Standard Webhooks headers for a delivery, signed with every given secret.
    public static func headers(id: String, timestamp: Int, body: [UInt8], secrets: [String]) -> [String] {
        let signatures = secrets.compactMap { sign(id: id, timestamp: timestamp, body: body, secret: $0) }
        return [
            "webhook-id: \(id)",
            "webhook-timestamp: \(timestamp)",
            "webhook-signature: \(signatures.joined(separator: " "))",
        ]
    }
}
