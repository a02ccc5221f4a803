import CaseHubCore
import CaseHubStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOWebSocket

/// `GET /v1/cases/{case}/stream?after=SEQ` as a WebSocket: every log entry after `SEQ` the
/// caller may see, then each new one as it is committed, as JSON text frames shaped like the
/// entries of the case log. No gaps, no duplicates, in `seq` order, because the socket always
/// reads from the store after the last `seq` it sent; the store only says when to look.
///
/// What a caller may see: admins and case managers, every entry of the threads their role
/// reads (as in the case log); other roles, the message entries of their threads and
/// `case.closed` (never deliveries, which name other people's addresses, nor any trace of a
/// thread they may not read). Read markers of the caller's threads come too, as
/// `{"type": "read_marker", "thread", "reader_id", "up_to_seq", "at"}` frames without a `seq`:
/// they are not log entries, and only sockets open at the time get them.
///
/// Browsers cannot set headers on a WebSocket: the token may also come as a
/// `Sec-WebSocket-Protocol` value `casehub.bearer.<token>`, offered beside `casehub.v1`, which
/// the server then selects.
struct CaseStream: Sendable {
    let store: any Store
    let policy: AccessPolicy
    let tokens: TokenResolver
    /// Each new connection of a participant token takes one request from its budget, so a
    /// reconnect loop is held like any other.
    let rateLimiter: RateLimiter?

    /// How long a reader may stay behind the log before it is closed with ``tooSlowCloseCode``.
    var maxLag: Duration = .seconds(30)
    /// How often an idle reader's token is checked again, so that a revocation the log does
    /// not tell of (`casehub token revoke`) also ends its stream.
    var accessCheckInterval: Duration = .seconds(10)

    static let subprotocol = "casehub.v1"
    /// Close code for a reader that could not keep up (application range 4000–4999).
    static let tooSlowCloseCode: UInt16 = 4008
    /// Close code for a reader removed from the case, or whose token was replaced, while reading.
    static let accessEndedCloseCode: UInt16 = 4003
    static let tokenSubprotocolPrefix = "casehub.bearer."
    /// Entries read from the store at a time.
    static let pageSize = 256
    static let participantTypes: Set<String> = Set(
        [LogEntryType.messagePosted, .messageEdited, .messageRedacted, .messageRelayed, .messageAcked, .caseClosed].map(\.rawValue))

    func register(on router: Router<StreamRequestContext>) {
        router.add(middleware: ErrorMiddleware())
        router.ws("v1/cases/:case/stream") { request, context in
            _ = try await subscriber(request, parameters: context.parameters, takesFromBudget: true)
            let offered = Self.offeredSubprotocols(request)
            return .upgrade(offered.contains(Self.subprotocol) ? [.secWebSocketProtocol: Self.subprotocol] : [:])
        } onUpgrade: { inbound, outbound, context in
            let subscriber: Subscriber
            do {
                subscriber = try await self.subscriber(context.request, parameters: context.requestContext.parameters)
            } catch let error as CaseHubError {
                // The upgrade's check passed a moment ago: access ended in between.
                try await outbound.close(.unknown(Self.accessEndedCloseCode), reason: "access to the case ended: \(error.message)")
                return
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The client sends nothing we need; its closing the socket ends the stream.
                group.addTask { for try await _ in inbound {} }
                group.addTask { try await send(to: subscriber, outbound: outbound) }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Who is asking, for which case, from which `seq`: 401, 429, 404 and 400 as the API answers.
    ///
    /// - Parameter takesFromBudget: whether this asking counts against a participant token's
    ///   rate limit: the upgrade's does; the second look once upgraded does not.
    private func subscriber(_ request: Request, parameters: Parameters, takesFromBudget: Bool = false) async throws -> Subscriber {
        guard let token = Self.token(request) else {
            throw CaseHubError.unauthorized("missing Authorization: Bearer <token> (or a casehub.bearer.<token> WebSocket protocol)")
        }
        let (principal, tokenHash) = try await tokens.storedPrincipal(token: token)
        if takesFromBudget, let rateLimiter, principal.role != .admin { try rateLimiter.take(for: tokenHash) }
        let caseId = try parameters.require("case")
        guard principal.canSee(caseId: caseId), try await store.getCase(id: caseId) != nil else { throw CaseHubError.caseNotFound }
        let after = try request.queryInt("after", in: 0...Int.max) ?? 0
        return Subscriber(
            principal: principal, tokenHash: tokenHash, caseId: caseId, after: after, threads: Set(policy.threads(for: principal.role)))
    }

    private func send(to subscriber: Subscriber, outbound: WebSocketOutboundWriter) async throws {
        let subscription = store.caseChanges.subscribe(caseId: subscriber.caseId)
        defer { subscription.cancel() }
        // Read from the log's end at the latest, even for an `after` beyond it: the entries
        // that may end this reader's access must be seen however far ahead it asked to start.
        // Access is checked once more after the end is read, for an ending logged before it.
        let end = try await store.logSeq(caseId: subscriber.caseId)
        if subscriber.after > end, try await !stillMember(subscriber) {
            try await outbound.close(.unknown(Self.accessEndedCloseCode), reason: "access to the case ended")
            return
        }
        var last = min(subscriber.after, end)
        var behindSince: ContinuousClock.Instant?
        var accessCheckedAt = ContinuousClock.now
        while !Task.isCancelled {
            let page = try await store.logEntries(caseId: subscriber.caseId, after: last, limit: Self.pageSize, threads: subscriber.threads)
            for entry in page.entries {
                if subscriber.mayLoseAccess(by: entry), try await !stillMember(subscriber) {
                    try await outbound.close(.unknown(Self.accessEndedCloseCode), reason: "access to the case ended: \(entry.type)")
                    return
                }
                if entry.seq > subscriber.after, subscriber.sees(entry) { try await outbound.write(.text(entry.json.canonicalString)) }
                last = entry.seq
            }
            guard page.hasMore else {
                behindSince = nil
                for event in subscription.takePassingEvents() where event.thread.map(subscriber.threads.contains) ?? true {
                    try await outbound.write(.text(event.json.canonicalString))
                }
                await subscription.bell.wait(atMost: accessCheckInterval)
                if ContinuousClock.now - accessCheckedAt >= accessCheckInterval {
                    accessCheckedAt = .now
                    if try await !stillMember(subscriber) {
                        try await outbound.close(.unknown(Self.accessEndedCloseCode), reason: "access to the case ended")
                        return
                    }
                }
                continue
            }
            // Still behind: a reader that stays behind for long is let go, told where to resume,
            // rather than holding the hub's work (and its place in the log) for ever.
            let now = ContinuousClock.now
            if let since = behindSince, now - since > maxLag {
                try await outbound.close(.unknown(Self.tooSlowCloseCode), reason: "too slow to keep up; reconnect with after=\(last)")
                return
            }
            behindSince = behindSince ?? now
        }
    }

    /// Whether the subscriber's token still reaches the case, asked of the store (not of a
    /// cache): a replay of an old `participant.token_replaced` must not close the new token's stream.
    private func stillMember(_ subscriber: Subscriber) async throws -> Bool {
        try await store.principal(tokenHash: subscriber.tokenHash)?.canSee(caseId: subscriber.caseId) ?? false
    }

    struct Subscriber: Sendable {
        let principal: Principal
        let tokenHash: String
        let caseId: String
        let after: Int
        let threads: Set<ThreadName>

        /// Whether `entry` may end this reader's access: its participant removed, or its token
        /// replaced. Read from the log, so it is seen whichever hub instance made the change.
        func mayLoseAccess(by entry: LogEntry) -> Bool {
            guard entry.type == LogEntryType.participantRemoved.rawValue || entry.type == LogEntryType.participantTokenReplaced.rawValue,
                let participantId = principal.memberships[caseId]
            else { return false }
            return entry.data["participant_id"]?.stringValue == participantId
        }

        func sees(_ entry: LogEntry) -> Bool {
            if let thread = entry.thread, !threads.contains(thread) { return false }
            if principal.isAdmin || principal.role == .caseManager { return true }
            return entry.thread != nil && CaseStream.participantTypes.contains(entry.type) || entry.type == LogEntryType.caseClosed.rawValue
        }
    }

    static func offeredSubprotocols(_ request: Request) -> [String] {
        request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The bearer token from the `Authorization` header, else from a WebSocket protocol value.
    static func token(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && parts[0].lowercased() == "bearer" && !parts[1].isEmpty ? String(parts[1]) : nil
        }
        return offeredSubprotocols(request).first { $0.hasPrefix(tokenSubprotocolPrefix) }.map { String($0.dropFirst(tokenSubprotocolPrefix.count)) }
    }
}
