import CaseHubCore
import CaseHubStore
import Hummingbird

extension HubAPI {
    /// Deliveries: an admin sees all; a case manager those of a case of theirs (`case` required)
    /// in the threads its role may see, with webhook URLs cut to their origin and no receiver
    /// answers.
    func registerDeliveries(on v1: RouterGroup<HubRequestContext>) {
        v1.get("deliveries") { request, context in
            let caller = try context.caller()
            let caseId = request.queryString("case")
            try requireDeliveryAccess(caller, caseId: caseId)
            let limit = try request.queryInt("limit", in: 1...200) ?? 50
            let before = try request.queryString("before").map { before in
                // `before` is the id of a delivery of an earlier page.
                guard Identifier.isWellFormed(before) else { throw CaseHubError.invalidRequest(field: "before", "is not a delivery id") }
                return before
            }
            var query = DeliveryQuery(
                caseId: caseId, endpointId: request.queryString("endpoint"), threads: readsEveryThread(caller) ? nil : Set(visibleThreads(for: caller)),
                limit: limit + 1, before: before)
            if let status = request.queryString("status") {
                guard let value = Delivery.Status(rawValue: status) else {
                    throw CaseHubError.invalidRequest(
                        field: "status", "must be one of \(Delivery.Status.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                query.status = value
            }
            let found = try await store.deliveries(query)
            let page = found.prefix(limit).map { caller.isAdmin ? $0 : $0.withoutReceiverDetails }
            let disabled = try await disabledEndpointIds()
            return Response.json([
                "deliveries": .array(page.map { $0.json(waiting: waitingReason($0, disabledEndpoints: disabled)) }),
                "has_more": .bool(found.count > limit),
            ])
        }

        v1.post("deliveries/:delivery/retry") { _, context in
            let caller = try context.caller()
            let id = try context.parameters.require("delivery")
            guard let delivery = try await store.delivery(id: id),
                caller.isAdmin
                    || (caller.canSee(caseId: delivery.caseId) && delivery.thread.map { policy.canAccess(caller.role, thread: $0) } ?? readsEveryThread(caller))
            else {
                throw CaseHubError.notFound("no such delivery")
            }
            try requireDeliveryAccess(caller, caseId: delivery.caseId)
            var requeued = try await store.retryDelivery(id: id)
            if !caller.isAdmin { requeued = requeued.withoutReceiverDetails }
            return Response.json(requeued.json(waiting: waitingReason(requeued, disabledEndpoints: try await disabledEndpointIds())))
        }
    }

    private func requireDeliveryAccess(_ caller: Principal, caseId: String?) throws {
        if caller.isAdmin { return }
        guard let caseId else {
            guard caller.role == .caseManager else { throw CaseHubError.forbidden("only admin or case_manager may see deliveries") }
            throw CaseHubError.invalidRequest(field: "case", "is required for a case manager")
        }
        guard caller.canSee(caseId: caseId) else { throw CaseHubError.caseNotFound }
        guard caller.role == .caseManager else { throw CaseHubError.forbidden("only admin or case_manager may see deliveries") }
    }

    private func disabledEndpointIds() async throws -> Set<String> {
        Set(try await store.endpoints().filter { !$0.enabled }.map(\.id))
    }

    /// Why a delivery that is due is not being sent, when something holds it back.
    private func waitingReason(_ delivery: Delivery, disabledEndpoints: Set<String>) -> String? {
        guard delivery.status == .pending || delivery.status == .failed else { return nil }
        if delivery.channel == .email { return emailWaiting }
        if let endpointId = delivery.endpointId, disabledEndpoints.contains(endpointId) { return "the endpoint is disabled" }
        return nil
    }
}
