// The hub's HTTP stack with nothing behind it: the same router options, one pass-through
// middleware, HTTP/1.1 with WebSocket upgrades and auto-ping, the same server name, and
// routes shaped like the hub's `GET /healthz` and `POST .../messages`. The POST checks only
// that a bearer token is present, reads the body without parsing it, and answers a fixed
// Message-shaped JSON of about 700 bytes. `POST .../stored` does the same and also stores the
// body durably before answering (``StoredPosts``), in the SQLite file FLOOR_DATABASE names.
// `POST .../chained` and `.../logged` do the least the contract asks of a post: check the token,
// parse the body, and store the message with its hash-chained log entry (``ChainedPosts``).
// Port from FLOOR_PORT (0 = any free port).
import Hummingbird
import HummingbirdWebSocket
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Passes every request on untouched: stands for the hub's middleware chain at its cheapest.
struct PassThroughMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await next(request, context)
    }
}

/// A posted message as the hub answers it, built once.
let messageAnswer: ByteBuffer = {
    let json = """
        {"id": "019ab3c2-5e7f-7a10-8b2c-3d4e5f607182", "case_id": "019ab3c2-4d10-7c3e-9f21-0a1b2c3d4e5f", \
        "thread": "ppa", "seq": 61, "author": {"id": "019ab3c2-3a00-7b45-8c67-89abcdef0123", "role": "admin", "name": "bench"}, \
        "kind": "text", "body": "Tekanan darah 120/80, lanjutkan observasi tiap 4 jam.", \
        "data": {"ward": "Melati 3", "bed": "12B", "shift": "pagi", "recorded_by": "Ns. Siti Rahmawati", "unit": "mmHg"}, \
        "reply_to": null, "relayed_from": null, "priority": "routine", "requires_ack": false, "acks": [], \
        "authorization": null, "hash": "9f2c4b7a1e3d5c6b8a0f1e2d3c4b5a69788f7e6d5c4b3a291807f6e5d4c3b2a1", \
        "created_at": "2026-11-23T08:00:00.000Z", "edited_at": null, "redacted": false}
        """
    return ByteBuffer(string: json)
}()

let healthAnswer = ByteBuffer(string: #"{"status":"ok"}"#)

let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
router.add(middleware: PassThroughMiddleware())
router.get("healthz") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: healthAnswer))
}
router.post("v1/cases/:case/threads/:thread/messages") { request, context in
    guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else {
        throw HTTPError(.unauthorized)
    }
    _ = try context.parameters.require("case")
    _ = try context.parameters.require("thread")
    _ = try await request.body.collect(upTo: 1 << 20)
    return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: messageAnswer))
}

let database = getenv("FLOOR_DATABASE").map { String(cString: $0) } ?? "http-floor.sqlite"
let storedPosts = try StoredPosts(path: database, answer: Array(messageAnswer.readableBytesView))
router.post("v1/cases/:case/threads/:thread/stored") { request, context in
    guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else {
        throw HTTPError(.unauthorized)
    }
    _ = try context.parameters.require("case")
    _ = try context.parameters.require("thread")
    let body = try await request.body.collect(upTo: 1 << 20)
    try await storedPosts.store(Array(body.readableBytesView))
    return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: messageAnswer))
}

/// The chained post's caller: tokens are known by their SHA-256, as the hub keeps them.
let authors = [sha256Hex(Array("floor".utf8)): ChainedPosts.Author(id: "019ab3c2-3a00-7b45-8c67-89abcdef0123", role: "admin", name: "bench")]
struct PostedMessage: Decodable {
    let body: String
    let kind: String?
}
/// `.../chained` keeps a message row and a log entry per post; `.../logged` the entry alone.
for (route, keepsMessageRows) in [("chained", true), ("logged", false)] {
    let posts = try ChainedPosts(path: "\(database)-\(route)", keepsMessageRows: keepsMessageRows)
    router.post("v1/cases/:case/threads/:thread/\(route)") { request, context in
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
              let author = authors[sha256Hex(Array(authorization.utf8.dropFirst(7)))] else {
            throw HTTPError(.unauthorized)
        }
        let caseId = try context.parameters.require("case")
        let thread = try context.parameters.require("thread")
        guard ["patient", "family", "ppa", "payer"].contains(thread) else { throw HTTPError(.notFound) }
        let body = try await request.body.collect(upTo: 1 << 20)
        let posted: PostedMessage
        do { posted = try JSONDecoder().decode(PostedMessage.self, from: Data(body.readableBytesView)) } catch { throw HTTPError(.badRequest) }
        guard !posted.body.isEmpty else { throw HTTPError(.badRequest) }
        let answer = try await posts.post(.init(caseId: caseId, thread: thread, author: author, kind: posted.kind ?? "text", body: posted.body))
        return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer)))
    }
}

let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
webSocketRouter.ws("v1/cases/:case/stream") { _, _ in
    .upgrade([:])
} onUpgrade: { inbound, _, _ in
    for try await _ in inbound {}
}

var logger = Logger(label: "http-floor")
logger.logLevel = .error
let port = getenv("FLOOR_PORT").flatMap { Int(String(cString: $0)) } ?? 0
let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(
        webSocketRouter: webSocketRouter,
        configuration: .init(ws: .init(autoPing: .enabled(timePeriod: .seconds(30))))),
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "CaseHub"),
    onServerRunning: { channel in
        print("http-floor listening on http://127.0.0.1:\(channel.localAddress?.port ?? port)")
        fflush(nil)
    },
    logger: logger)
try await app.runService()
