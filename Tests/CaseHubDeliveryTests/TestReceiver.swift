import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization

/// A real HTTP receiver on 127.0.0.1 for engine and worker tests: records every request and
/// answers by path:
/// - `/ok…` 204; `/status/CODE` that status; `/slow/MILLISECONDS` waits, then 204;
/// - `/retry-after/SECONDS` 429 with `Retry-After` and a 10 KB body; `/redirect` 302 to `/ok`.
final class TestReceiver: Sendable {
    struct Request: Sendable {
        let path: String
        let headers: [String: String]
        let body: [UInt8]
    }

    private let state = Mutex<(requests: [Request], running: Int, maxRunning: Int)>(([], 0, 0))

    var requests: [Request] { state.withLock { $0.requests } }
    /// The most requests that were being answered at the same moment.
    var maxConcurrent: Int { state.withLock { $0.maxRunning } }

    /// Runs `body` with the receiver listening; its port is passed in.
    static func run<T: Sendable>(_ body: @Sendable (TestReceiver, Int) async throws -> T) async throws -> T {
        let receiver = TestReceiver()
        let router = Router()
        router.post("**") { request, _ -> Response in
            try await receiver.answer(request)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body(receiver, client.port!)
        }
    }

    private func answer(_ request: Hummingbird.Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let path = request.uri.path
        state.withLock { state in
            state.requests.append(Request(path: path, headers: headers, body: Array(body.readableBytesView)))
            state.running += 1
            state.maxRunning = max(state.maxRunning, state.running)
        }
        defer { state.withLock { $0.running -= 1 } }
        let parts = path.split(separator: "/").map(String.init)
        switch parts.first {
        case "status": return Response(status: .init(code: Int(parts[1]) ?? 500))
        case "slow":
            try await Task.sleep(for: .milliseconds(Int(parts[1]) ?? 1000))
            return Response(status: .noContent)
        case "retry-after":
            return Response(
                status: .tooManyRequests, headers: [.retryAfter: parts[1]],
                body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: 10_000)))
        case "redirect": return Response(status: .found, headers: [.location: "/ok"])
        default: return Response(status: .noContent)
        }
    }
}

/// A port nothing listens on (bound, then closed).
func closedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    close(fd)
    return Int(UInt16(bigEndian: address.sin_port))
}
