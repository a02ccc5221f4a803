import CaseHubCore
import CaseHubStore
import Hummingbird

extension HubAPI {
    func registerThreads(on v1: RouterGroup<HubRequestContext>) {
        v1.get("cases/:case/threads") { _, context in
            let caseValue = try await visibleCase(context)
            let principal = try context.caller()
            let summaries = try await store.threadSummaries(
                caseId: caseValue.id, threads: visibleThreads(for: principal), readerId: principal.actor(in: caseValue.id).id)
            return Response.json(["threads": .array(summaries.map(\.json))])
        }

        v1.get("cases/:case/threads/:thread/read-markers") { _, context in
            let caseId = try visibleCaseId(context)
            let thread = try visibleThread(context)
            let markers = try await store.readMarkers(caseId: caseId, thread: thread)
            return Response.json(["read_markers": .array(markers.map(\.json))])
        }

        v1.post("cases/:case/threads/:thread/read") { request, context in
            let caseId = try visibleCaseId(context)
            let thread = try visibleThread(context)
            let body = try await RequestBody.read(request, context: context)
            let upTo = try body.int("up_to_seq")
            guard upTo >= 0 else { throw CaseHubError.invalidRequest(field: "up_to_seq", "must not be negative") }
            try await store.markRead(
                caseId: caseId, thread: thread, upToSeq: upTo, readerId: context.caller().actor(in: caseId).id)
            return Response(status: .noContent)
        }
    }
}
