import CaseHubCore
import CaseHubStore
import Hummingbird

extension HubAPI {
    func registerLog(on v1: RouterGroup<HubRequestContext>) {
        v1.get("cases/:case/log") { request, context in
            let caseValue = try await visibleCase(context)
            try require([.admin, .caseManager], context, to: "read the case log")
            let page = try await store.logEntries(
                caseId: caseValue.id, after: try request.queryInt("after", in: 0...Int.max) ?? 0,
                limit: try request.queryInt("limit", in: 1...1000) ?? 100, threads: Set(visibleThreads(for: context.caller())))
            return Response.json(["entries": .array(page.entries.map(\.json)), "has_more": .bool(page.hasMore)])
        }

        v1.get("cases/:case/log/verify") { _, context in
            let caseValue = try await visibleCase(context)
            try require([.admin, .caseManager], context, to: "verify the case log")
            return Response.json(try await store.verifyLog(caseId: caseValue.id).json)
        }

        // The live stream is a WebSocket (see `CaseStream`); a plain GET learns so, after the
        // same token and case checks the upgrade makes.
        v1.get("cases/:case/stream") { request, context in
            _ = try await visibleCase(context)
            _ = try request.queryInt("after", in: 0...Int.max)
            var response = Response.error(
                status: .upgradeRequired, code: "upgrade_required", message: "the live stream is a WebSocket: send Upgrade: websocket")
            response.headers[.upgrade] = "websocket"
            response.headers[.connection] = "Upgrade"
            return response
        }
    }
}
