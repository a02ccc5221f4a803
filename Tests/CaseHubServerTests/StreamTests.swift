import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import Logging
import NIOWebSocket
import Testing

/// The live stream over a real socket: `GET /v1/cases/{case}/stream` upgraded to a WebSocket.
@Suite struct StreamTests {
    /// A hub listening on 127.0.0.1 with the WebSocket server, as `casehub serve` runs it.
    func withLiveHub(
        streamMaxLag: Duration = .seconds(30), accessCheckInterval: Duration = .seconds(10), rateLimit: RateLimit? = nil,
        _ body: @Sendable (HubClient, any Store) async throws -> Void
    ) async throws {
        try await TestDatabase.with { database in
        let store = try await database.open()
        let path = database.path
        let token = Token.make()
        _ = try await store.issueAdminToken(name: "ops", tokenHash: Token.hash(token))
        let principals = PrincipalCache()
        let rateLimiter = rateLimit.map { RateLimiter($0) }
        let app = Application(
            router: buildRouter(store: store, policy: .default, principals: principals, rateLimiter: rateLimiter),
            server: hubServer(
                store: store, policy: .default, principals: principals, streamMaxLag: streamMaxLag,
                streamAccessCheckInterval: accessCheckInterval, rateLimiter: rateLimiter))
        try await app.test(.live) { client in
            try await body(HubClient(client: client, adminToken: token, databasePath: path), store)
        }
        }
    }

    func withLiveHub(streamMaxLag: Duration = .seconds(30), _ body: @Sendable (HubClient) async throws -> Void) async throws {
        try await withLiveHub(streamMaxLag: streamMaxLag) { hub, _ in try await body(hub) }
    }

    /// Reads frames as JSON objects until `done` says so (at most `limit` frames), then closes.
    func collect(
        _ hub: HubClient, caseId: String, after: Int = 0, headers: HTTPFields, limit: Int = 500,
        whileOpen: @escaping @Sendable () async throws -> Void = {}, until done: @escaping @Sendable ([JSONObject]) -> Bool
    ) async throws -> [JSONObject] {
        let frames = FrameBox()
        try await hub.client.ws("/v1/cases/\(caseId)/stream?after=\(after)", configuration: .init(additionalHeaders: headers)) {
            inbound, _, _ in
            let writer = Task { try await whileOpen() }
            defer { writer.cancel() }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? JSONObject)
                frames.append(object)
                if done(frames.all) || frames.all.count >= limit { break }
            }
            _ = try await writer.value
        }
        return frames.all
    }

    func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func theBacklogThenLiveEntriesArriveInOrderWithoutGapsOrDuplicates() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            for n in 1...3 { _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "sebelum \(n)") }
            // Posts made while the socket is open, from several tasks at once.
            let frames = try await collect(hub, caseId: caseId, headers: bearer(hub.adminToken)) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for n in 1...10 { group.addTask { _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "langsung \(n)") } }
                    try await group.waitForAll()
                }
            } until: { frames in frames.filter { $0["type"] as? String == "message.posted" }.count == 13 }
            let seqs = frames.compactMap { $0["seq"] as? Int }
            #expect(seqs == Array(1...seqs.count), "seqs: \(seqs)")
            #expect(Set(frames.filter { $0["type"] as? String == "message.posted" }.compactMap { ($0["content"] as? JSONObject)?["body"] as? String })
                .count == 13)
            // Frames are log entries: their hashes chain.
            for (previous, next) in zip(frames, frames.dropFirst()) {
                #expect(next["prev_hash"] as? String == previous["hash"] as? String)
            }
        }
    }

    @Test func aSocketResumesAfterTheSeqItLastSaw() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            for n in 1...4 { _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "pesan \(n)") }
            let first = try await collect(hub, caseId: caseId, headers: bearer(hub.adminToken)) { $0.count == 3 }
            let resumed = try await collect(hub, caseId: caseId, after: 3, headers: bearer(hub.adminToken)) { $0.count == 2 }
            #expect(first.compactMap { $0["seq"] as? Int } == [1, 2, 3])
            #expect(resumed.compactMap { $0["seq"] as? Int } == [4, 5])
        }
    }

    @Test func aFamilySocketCarriesItsThreadOnlyNotEvenTheExistenceOfOthers() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family", email: "sari@example.org")
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "Rahasia klinis")
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Untuk keluarga")
            let frames = try await collect(hub, caseId: caseId, headers: bearer(family.token)) {
                _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "Rahasia lagi")
                _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Kabar kedua")
            } until: { frames in frames.count == 2 }
            #expect(frames.allSatisfy { $0["thread"] as? String == "family" && $0["type"] as? String == "message.posted" })
            #expect(frames.compactMap { ($0["content"] as? JSONObject)?["body"] as? String } == ["Untuk keluarga", "Kabar kedua"])
        }
    }

    /// A relay is recorded in its source's thread, but it names the thread it copied into and
    /// carries the note meant for it: readers of the source alone never see it.
    @Test func aRelayIntoAThreadTheReaderCannotSeeIsNotStreamed() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let manager = try await hub.addParticipant(caseId: caseId, role: "case_manager")
            let source = try await hub.postMessage(caseId: caseId, thread: "family", body: "Keluarga setuju")
            let relay = try await hub.post(
                "/v1/cases/\(caseId)/messages/\(try #require(source["id"] as? String))/relay", token: manager.token,
                json: #"{"to": "payer", "note": "CATATAN-PENJAMIN"}"#)
            #expect(relay.status == .created, "\(relay)")
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "Kabar berikutnya")
            let frames = try await collect(hub, caseId: caseId, headers: bearer(family.token)) { $0.count == 2 }
            #expect(frames.compactMap { $0["type"] as? String } == ["message.posted", "message.posted"])
            let managerFrames = try await collect(hub, caseId: caseId, headers: bearer(manager.token)) {
                $0.contains { $0["type"] as? String == "message.relayed" }
            }
            #expect(managerFrames.contains { ($0["content"] as? JSONObject)?["note"] as? String == "CATATAN-PENJAMIN" })
        }
    }

    @Test func readMarkersMoveLiveForViewersOfTheirThreadOnly() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let message = try await hub.postMessage(caseId: caseId, thread: "family", body: "Jadwal kontrol")
            let seq = try #require(message["seq"] as? Int)
            let frames = try await collect(hub, caseId: caseId, headers: bearer(family.token)) {
                try await Task.sleep(for: .milliseconds(500))  // the socket is following by then
                for thread in ["ppa", "family"] {
                    let reply = try await hub.post(
                        "/v1/cases/\(caseId)/threads/\(thread)/read", token: hub.adminToken, json: #"{"up_to_seq": \#(seq)}"#)
                    #expect(reply.status == .noContent)
                }
            } until: { frames in frames.contains { $0["type"] as? String == "read_marker" } }
            let markers = frames.filter { $0["type"] as? String == "read_marker" }
            #expect(markers.count == 1)
            #expect(markers.first?["thread"] as? String == "family")
            #expect(markers.first?["up_to_seq"] as? Int == seq)
            #expect(markers.first?["seq"] == nil)
        }
    }

    @Test func aBrowserMayCarryTheTokenAsAWebSocketProtocol() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let headers: HTTPFields = [.secWebSocketProtocol: "casehub.v1, casehub.bearer.\(hub.adminToken)"]
            let frames = try await collect(hub, caseId: caseId, headers: headers) { $0.count == 1 }
            #expect(frames.first?["type"] as? String == "case.opened")
        }
    }

    @Test func manySocketsOnOneCaseEachGetEveryEntryOnce() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await collect(hub, caseId: caseId, headers: bearer(hub.adminToken)) { frames in
                            frames.filter { $0["type"] as? String == "message.posted" }.count == 10
                        }.compactMap { $0["seq"] as? Int }
                    }
                }
                group.addTask {
                    for n in 1...10 { _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "siaran \(n)") }
                    return []
                }
                return try await group.reduce(into: [[Int]]()) { if !$1.isEmpty { $0.append($1) } }
            }
            #expect(results.count == 20)
            #expect(results.allSatisfy { $0 == Array(1...$0.count) && $0.count >= 11 })
        }
    }

    @Test func aReaderThatStaysBehindIsClosedAndToldWhereToResume() async throws {
        try await withLiveHub(streamMaxLag: .zero) { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 1...600 { group.addTask { _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "beban \(n)") } }
                try await group.waitForAll()
            }
            let frames = FrameBox()
            let close = try await hub.client.ws(
                "/v1/cases/\(caseId)/stream?after=0", configuration: .init(additionalHeaders: bearer(hub.adminToken))
            ) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? JSONObject {
                        frames.append(object)
                    }
                }
            }
            #expect(close?.closeCode == .unknown(4008))
            let last = try #require(frames.all.last?["seq"] as? Int)
            #expect(close?.reason == "too slow to keep up; reconnect with after=\(last)")
            #expect(frames.all.compactMap { $0["seq"] as? Int } == Array(1...last))
        }
    }

    /// Reads the socket to its end into `frames` and answers how it was closed.
    func readToClose(_ hub: HubClient, caseId: String, token: String, after: Int = 0, into frames: FrameBox) async throws -> WebSocketCloseFrame? {
        try await hub.client.ws(
            "/v1/cases/\(caseId)/stream?after=\(after)", configuration: .init(additionalHeaders: bearer(token))
        ) { inbound, _, _ in
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? JSONObject {
                    frames.append(object)
                }
            }
        }
    }

    /// Waits (for at most 10 s) until a socket has carried `count` frames: it is open and read.
    func waitForFrames(_ frames: FrameBox, count: Int) async throws {
        for _ in 0..<200 where frames.all.count < count { try await Task.sleep(for: .milliseconds(50)) }
        #expect(frames.all.count >= count, "the socket carried \(frames.all.count) frames, not \(count)")
    }

    @Test func aParticipantsSocketClosesWhenTheirAccessEnds() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let participant = "/v1/cases/\(caseId)/participants/\(try #require(family.participant["id"] as? String))"
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "sebelum")

            // A replaced token: the old token's socket closes; the new one replays the log,
            // the replacement included, and stays open.
            let oldFrames = FrameBox()
            let oldSocket = Task { try await readToClose(hub, caseId: caseId, token: family.token, into: oldFrames) }
            try await waitForFrames(oldFrames, count: 1)
            let replaced = try await hub.post("\(participant)/token", token: hub.adminToken, json: "{}")
            let token = try #require(try replaced.json()["token"] as? String)
            let oldClose = try await oldSocket.value
            #expect(oldClose?.closeCode == .unknown(4003), "\(String(describing: oldClose))")
            #expect(oldFrames.all.compactMap { $0["type"] as? String } == ["message.posted"])

            let newFrames = try await collect(
                hub, caseId: caseId, headers: bearer(token),
                whileOpen: {
                    try await Task.sleep(for: .milliseconds(300))
                    _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "sesudah")
                }, until: { $0.count == 2 })
            #expect(newFrames.compactMap { ($0["data"] as? JSONObject)?["message_id"] as? String }.count == 2)

            // Removal closes the socket too, whichever instance removed them: it is read from the log.
            let frames = FrameBox()
            let socket = Task { try await readToClose(hub, caseId: caseId, token: token, into: frames) }
            try await waitForFrames(frames, count: 2)
            #expect(try await hub.request(.delete, participant, token: hub.adminToken).status == .ok)
            let close = try await socket.value
            #expect(close?.closeCode == .unknown(4003), "\(String(describing: close))")
        }
    }

    /// A socket asked to start far past the log's end still hears of its own removal at once.
    @Test func aSocketStartingPastTheLogsEndClosesWhenItsAccessEnds() async throws {
        try await withLiveHub(accessCheckInterval: .seconds(60)) { hub, _ in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let participant = "/v1/cases/\(caseId)/participants/\(try #require(family.participant["id"] as? String))"
            let frames = FrameBox()
            let socket = Task { try await readToClose(hub, caseId: caseId, token: family.token, after: 100_000, into: frames) }
            try await Task.sleep(for: .milliseconds(500))
            let removedAt = ContinuousClock.now
            #expect(try await hub.request(.delete, participant, token: hub.adminToken).status == .ok)
            let close = try await socket.value
            // Long before the next check of the token (a minute away).
            #expect(ContinuousClock.now - removedAt < .seconds(20))
            #expect(close?.closeCode == .unknown(4003) && close?.reason?.hasPrefix("access to the case ended") == true, "\(String(describing: close))")
            #expect(frames.all.isEmpty)
        }
    }

    /// What the log does not tell of: a token revoked from the command line, or a removal
    /// made by another instance while this one still caches the principal.
    @Test func aRevokedTokenIsNoticedOnAnOpenSocketAndRefusedOnANewOne() async throws {
        try await withLiveHub(accessCheckInterval: .milliseconds(200)) { hub, store in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            let familyId = try #require(family.participant["id"] as? String)
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "sebelum")
            #expect(try await hub.get("/v1/cases/\(caseId)", token: family.token).status == .ok, "the principal is cached now")

            // Removed behind this instance's back: its cache still says the family is a member.
            _ = try await store.removeParticipant(caseId: caseId, id: familyId, by: Actor(id: "other-instance", role: "admin", name: "ops"))
            let latest = try #require(try await hub.log(caseId: caseId).last?["seq"] as? Int)
            await #expect(throws: (any Error).self, "a stream is opened on what the store says, not on the cache") {
                _ = try await collect(hub, caseId: caseId, after: latest, headers: bearer(family.token)) { $0.count == 1 }
            }

            // A socket open while a token is revoked outside the log closes within the check interval.
            let ppa = try await hub.addParticipant(caseId: caseId, role: "ppa", name: "dr. Andi")
            let latestNow = try #require(try await hub.log(caseId: caseId).last?["seq"] as? Int)
            let frames = FrameBox()
            let socket = Task { try await readToClose(hub, caseId: caseId, token: ppa.token, after: latestNow, into: frames) }
            _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "sudah tersambung?")
            try await waitForFrames(frames, count: 1)
            let tokenId = try #require(try await store.tokens().first { $0.name == "dr. Andi" }?.id)
            #expect(try await store.revokeToken(id: tokenId))
            let close = try await socket.value
            #expect(close?.closeCode == .unknown(4003), "\(String(describing: close))")
        }
    }

    /// A client reconnecting in a loop is held to its token's budget, which the API's requests
    /// share; the admin's connections are never counted.
    @Test func aParticipantsConnectionsCountAgainstItsRateLimit() async throws {
        // One request a minute refills: none comes back while the test runs, however slow the machine.
        try await withLiveHub(rateLimit: RateLimit(perMinute: 1, burst: 3)) { hub, _ in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            _ = try await hub.postMessage(caseId: caseId, thread: "family", body: "jadwal kontrol")
            #expect(try await hub.get("/v1/cases/\(caseId)", token: family.token).status == .ok)
            let frames = try await collect(hub, caseId: caseId, headers: bearer(family.token)) { $0.count == 1 }
            #expect(frames.count == 1)
            #expect(try await hub.get("/v1/cases/\(caseId)", token: family.token).status == .ok)

            // The budget of 3 is spent: the next upgrade (on a connection of its own, as the
            // server upgrades only a connection's first request) is refused as every refused
            // upgrade is, with an empty 400; the same request without the upgrade says why.
            let upgrade: HTTPFields = [
                .authorization: "Bearer \(family.token)", .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
                .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
            ]
            let port = try #require(hub.client.port)
            let refused = try await TestClient.withClient(host: "localhost", port: port) { client in
                try await client.get("/v1/cases/\(caseId)/stream", headers: upgrade).status
            }
            #expect(refused == .badRequest)
            await #expect(throws: (any Error).self) {
                _ = try await collect(hub, caseId: caseId, headers: bearer(family.token)) { $0.count == 1 }
            }
            let why = try await hub.get("/v1/cases/\(caseId)/stream", token: family.token)
            expectError(why, .tooManyRequests, "rate_limited")
            #expect((why.headers[.retryAfter].flatMap { Int($0) } ?? 0) >= 1, "\(why.headers)")

            for _ in 1...5 {
                let adminFrames = try await collect(hub, caseId: caseId, headers: bearer(hub.adminToken)) { $0.count == 1 }
                #expect(adminFrames.count == 1)
            }
        }
    }

    @Test func noTokenOrAnInvisibleCaseIsRefused() async throws {
        try await withLiveHub { hub in
            let caseId = try #require(try await hub.createCase()["id"] as? String)
            let otherCase = try #require(try await hub.createCase()["id"] as? String)
            let family = try await hub.addParticipant(caseId: caseId, role: "family")
            await #expect(throws: (any Error).self) {
                _ = try await collect(hub, caseId: caseId, headers: [:]) { $0.count == 1 }
            }
            await #expect(throws: (any Error).self) {
                _ = try await collect(hub, caseId: otherCase, headers: bearer(family.token)) { $0.count == 1 }
            }
            // Without the upgrade, the same checks answer as the rest of the API does.
            let stream = "/v1/cases/\(caseId)/stream"
            expectError(try await hub.get(stream, token: nil), .unauthorized, "unauthorized")
            expectError(try await hub.get("/v1/cases/\(otherCase)/stream", token: family.token), .notFound, "not_found")
            expectError(try await hub.get("\(stream)?after=-1", token: family.token), .badRequest, "invalid_request", naming: "after")
            let plain = try await hub.get(stream, token: family.token)
            expectError(plain, .upgradeRequired, "upgrade_required")
            #expect(plain.headers[.upgrade] == "websocket")
        }
    }
}

/// Frames gathered by a socket handler.
final class FrameBox: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [JSONObject] = []

    func append(_ frame: JSONObject) { lock.withLock { frames.append(frame) } }
    var all: [JSONObject] { lock.withLock { frames } }
}
