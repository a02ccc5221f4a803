import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// A live-stream subscriber of a running `casehub serve`: `GET /v1/cases/{case}/stream?after=SEQ`
/// upgraded to a WebSocket, every text frame kept as it came. Started at once by `init`;
/// `stop()` closes the socket (and, should the close handshake hang, cancels the task).
final class StreamSubscriber: Sendable {
    /// One text frame: its `seq` (nil for frames that are not log entries, e.g. read markers),
    /// `type` and `hash`, and the raw text.
    struct Frame: Sendable {
        let seq: Int?
        let type: String?
        let hash: String?
        let prevHash: String?
        let text: String
    }

    enum TokenCarrier: Sendable {
        /// `Authorization: Bearer <token>`.
        case authorizationHeader
        /// `Sec-WebSocket-Protocol: casehub.v1, casehub.bearer.<token>`, as browsers send it.
        case webSocketProtocol
    }

    private struct State: Sendable {
        var frames: [Frame] = []
        var undecodable: [String] = []
        var outbound: WebSocketOutboundWriter?
        var ended = false
        var closeCode: String?
        var error: String?
    }

    let label: String
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(label: String, port: Int, caseId: String, token: String, after: Int = 0, carrier: TokenCarrier) {
        self.label = label
        let url = "ws://127.0.0.1:\(port)/v1/cases/\(caseId)/stream?after=\(after)"
        var headers = HTTPFields()
        switch carrier {
        case .authorizationHeader: headers[.authorization] = "Bearer \(token)"
        case .webSocketProtocol: headers[.secWebSocketProtocol] = "casehub.v1, casehub.bearer.\(token)"
        }
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers, closeTimeout: .seconds(5))
        let logger = Logger(label: "casehub.test.stream.\(label)")
        let running = Task { [self] in
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                    self.state.withLock { $0.outbound = outbound }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                            self.state.withLock { $0.undecodable.append(text) }
                            continue
                        }
                        let frame = Frame(
                            seq: object["seq"] as? Int, type: object["type"] as? String, hash: object["hash"] as? String,
                            prevHash: object["prev_hash"] as? String, text: text)
                        self.state.withLock { $0.frames.append(frame) }
                    }
                }
                state.withLock {
                    $0.ended = true
                    $0.closeCode = close.map { "\($0.closeCode) \($0.reason ?? "")" }
                }
            } catch {
                state.withLock {
                    $0.ended = true
                    $0.error = "\(error)"
                }
            }
        }
        task.withLock { $0 = running }
    }

    var frames: [Frame] { state.withLock { $0.frames } }

    /// The `seq` of every frame that carries one, in arrival order.
    var seqs: [Int] { frames.compactMap(\.seq) }

    var undecodable: [String] { state.withLock { $0.undecodable } }

    /// Why the socket ended, when it did (error or close frame).
    var ending: String? {
        state.withLock { state in state.ended ? (state.error.map { "error: \($0)" } ?? "closed: \(state.closeCode ?? "no close frame")") : nil }
    }

    /// Waits until a frame with `seq` ≥ `seq` came (true), or `timeout` passed or the socket
    /// ended (false).
    func waitFor(seq: Int, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<1_000_000 {
            let (highest, ended) = state.withLock { ($0.frames.compactMap(\.seq).max() ?? 0, $0.ended) }
            if highest >= seq { return true }
            if ended || ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Closes the socket and waits (at most `timeout`, then cancels) for the client to end.
    func stop(timeout: Duration = .seconds(10)) async {
        let outbound = state.withLock { $0.outbound }
        if let outbound { try? await outbound.close(.normalClosure, reason: "test done") }
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<100_000 where !state.withLock({ $0.ended }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Cancelling ends the client's channel; waited for a bounded time too, not for ever.
        task.withLock { $0?.cancel() }
        let cancelDeadline = ContinuousClock.now + .seconds(5)
        for _ in 0..<100_000 where !state.withLock({ $0.ended }) && ContinuousClock.now < cancelDeadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
