import Foundation
import Synchronization
import Testing

@testable import CaseHubDelivery

/// A JSON POST to `url`.
private func request(_ url: String, allowPrivate: Bool = true, timeout: Duration = .seconds(5), body: String = #"{"a":1}"#) -> TransferRequest {
    TransferRequest(
        url: url, payload: .httpPost(headers: ["Content-Type: application/json", "webhook-id: evt_1"], body: Array(body.utf8)),
        connectTimeout: .seconds(2), totalTimeout: timeout, allowPrivateAddresses: allowPrivate)
}

/// The libcurl engine against a real receiver on 127.0.0.1.
@Suite struct CurlEngineTests {
    static let engine = CurlEngine()

    func post(_ url: String, allowPrivate: Bool = true, timeout: Duration = .seconds(5), body: String = #"{"a":1}"#) async -> TransferResult {
        await Self.engine.perform(request(url, allowPrivate: allowPrivate, timeout: timeout, body: body))
    }

    @Test func postsTheBodyAndHeadersAndReportsTheStatus() async throws {
        try await TestReceiver.run { receiver, port in
            let result = await post("http://127.0.0.1:\(port)/ok", body: #"{"type":"message.posted"}"#)
            #expect(result.code == 204 && result.error == nil)
            let request = try #require(receiver.requests.first)
            #expect(request.body == Array(#"{"type":"message.posted"}"#.utf8))
            #expect(request.headers["webhook-id"] == "evt_1")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["expect"] == nil)
        }
    }

    @Test func runsManyTransfersAtOnce() async throws {
        try await TestReceiver.run { receiver, port in
            let codes = await withTaskGroup(of: Int?.self) { group in
                for _ in 0..<64 { group.addTask { await post("http://127.0.0.1:\(port)/slow/500").code } }
                return await group.reduce(into: [Int?]()) { $0.append($1) }
            }
            #expect(codes.count == 64 && codes.allSatisfy { $0 == 204 })
            #expect(receiver.requests.count == 64)
            // Sixty-four 500 ms answers overlapped rather than queued one by one.
            #expect(receiver.maxConcurrent > 8)
        }
    }

    @Test func aSequenceSendsEachFollowUpAsItsForerunnerEndsAndReturnsTheLastResult() async throws {
        try await TestReceiver.run { receiver, port in
            let heard = Mutex<[Int?]>([])
            let last = await Self.engine.perform(request("http://127.0.0.1:\(port)/ok/1")) { result in
                let count = heard.withLock { $0.append(result.code); return $0.count }
                return count < 3 ? request("http://127.0.0.1:\(port)/status/\(500 + count)") : nil
            }
            #expect(heard.withLock { $0 } == [204, 501, 502])
            #expect(last.code == 502)
            #expect(receiver.requests.map(\.path) == ["/ok/1", "/status/501", "/status/502"])
        }
    }

    @Test func aStoppedEngineTellsASequenceOfAFailureForEveryTransferItGives() async {
        let engine = CurlEngine()
        engine.shutdown()
        let heard = Mutex<[String?]>([])
        let last = await engine.perform(request("http://127.0.0.1:\(closedPort())/ok")) { result in
            let count = heard.withLock { $0.append(result.error); return $0.count }
            return count < 3 ? request("http://127.0.0.1:\(closedPort())/ok") : nil
        }
        #expect(heard.withLock { $0 } == Array(repeating: "the delivery engine has stopped", count: 3))
        #expect(last.code == nil && last.error == "the delivery engine has stopped")
    }

    @Test func theTotalTimeoutEndsASlowTransfer() async throws {
        try await TestReceiver.run { _, port in
            let started = ContinuousClock.now
            let result = await post("http://127.0.0.1:\(port)/slow/6000", timeout: .milliseconds(300))
            #expect(result.code == nil)
            #expect(result.error?.lowercased().contains("timed out") == true)
            // Ended by the 300 ms timeout, long before the answer; the margin is for a busy machine.
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test func aRefusedConnectionIsAnErrorWithoutACode() async {
        let result = await post("http://127.0.0.1:\(closedPort())/ok")
        #expect(result.code == nil && result.error != nil && result.refusedAddress == nil)
    }

    @Test func theAnswersFirstBytesAndRetryAfterAreKept() async throws {
        try await TestReceiver.run { _, port in
            let result = await post("http://127.0.0.1:\(port)/retry-after/7")
            #expect(result.code == 429)
            #expect(result.retryAfter == "7")
            #expect(result.body.count == 2048)
        }
    }

    @Test func redirectsAreNotFollowed() async throws {
        try await TestReceiver.run { receiver, port in
            let result = await post("http://127.0.0.1:\(port)/redirect")
            #expect(result.code == 302)
            #expect(receiver.requests.map(\.path) == ["/redirect"])
        }
    }

    @Test func onlyHTTPAndHTTPSAreSpokenToWebhookURLs() async {
        let result = await post("file:///etc/passwd")
        #expect(result.code == nil && result.error != nil)
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func loopbackIsRefusedUnlessPrivateNetworksAreAllowed(host: String) async throws {
        try await TestReceiver.run { receiver, port in
            let refused = await post("http://\(host):\(port)/ok", allowPrivate: false)
            #expect(refused.code == nil)
            #expect(["127.0.0.1", "::1"].contains(refused.refusedAddress ?? ""))
            #expect(refused.error?.contains("refused to connect to") == true)
            #expect(receiver.requests.isEmpty)
            let allowed = await post("http://127.0.0.1:\(port)/ok", allowPrivate: true)
            #expect(allowed.code == 204)
        }
    }

    @Test func aPrivateNetworkAddressIsRefusedBeforeAnyConnection() async {
        let started = ContinuousClock.now
        let result = await Self.engine.perform(
            TransferRequest(
                url: "http://10.0.0.1/ok", payload: .httpPost(headers: [], body: []), connectTimeout: .seconds(30),
                totalTimeout: .seconds(30), allowPrivateAddresses: false))
        #expect(result.refusedAddress == "10.0.0.1")
        // Refused before connecting: no wait for an unreachable host's 30 s connect timeout
        // (the margin is wide: the engine is shared with tests running beside this one).
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
