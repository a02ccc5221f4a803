import Testing

@testable import CaseHubDelivery

@Suite struct WebhookSignatureTests {
    @Test func matchesThePublishedStandardWebhooksTestVector() {
        let signature = WebhookSignature.sign(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func newSecretsAreDistinctAndDecodeToThirtyTwoBytes() {
        let first = WebhookSignature.newSecret()
        let second = WebhookSignature.newSecret()
        #expect(first != second)
        #expect(first.hasPrefix("whsec_"))
        #expect(WebhookSignature.keyBytes(of: first)?.count == 32)
    }

    @Test func rotationSendsBothSignaturesSpaceSeparated() {
        let body = Array("{}".utf8)
        let old = WebhookSignature.newSecret()
        let new = WebhookSignature.newSecret()
        let headers = WebhookSignature.headers(id: "evt_1", timestamp: 10, body: body, secrets: [new, old])
        let signatures = headers[2].dropFirst("webhook-signature: ".count).split(separator: " ").map(String.init)
        #expect(signatures == [
            WebhookSignature.sign(id: "evt_1", timestamp: 10, body: body, secret: new)!,
            WebhookSignature.sign(id: "evt_1", timestamp: 10, body: body, secret: old)!,
        ])
        #expect(headers[0] == "webhook-id: evt_1" && headers[1] == "webhook-timestamp: 10")
    }

    @Test func aSecretWithoutThePrefixDoesNotSign() {
        #expect(WebhookSignature.sign(id: "a", timestamp: 1, body: [], secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == nil)
    }
}
