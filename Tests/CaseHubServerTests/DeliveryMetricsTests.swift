import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

/// `/metrics` shows the outbox, read from the store at each scrape.
@Suite struct DeliveryMetricsTests {
    /// The value of the sample `name{labels}` in Prometheus text, when present.
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func countsDeliveriesNotDeliveredAndHowOverdueTheOldestIs() async throws {
        try await TestDatabase.with { database in
            let store = try await database.open()
            let token = Token.make()
            _ = try await store.issueAdminToken(name: "ops", tokenHash: Token.hash(token))
            // No worker runs here: queued deliveries stay pending.
            let app = Application(router: buildRouter(store: store, policy: .default, metrics: PrometheusCollectorRegistry()))
            try await app.test(.router) { client in
                let hub = HubClient(client: client, adminToken: token, databasePath: database.path)
                let pending = #"casehub_deliveries{channel="webhook",status="pending"}"#
                let lag = #"casehub_delivery_lag_seconds{channel="webhook"}"#

                let before = try await hub.get("/metrics", token: nil).text
                #expect(Self.sample(before, pending) == 0, "\(before)")
                #expect(Self.sample(before, lag) == 0)
                #expect(Self.sample(before, #"casehub_deliveries{channel="email",status="dead"}"#) == 0)

                _ = try await hub.createWebhookEndpoint(events: ["message.posted"], roles: ["ppa"])
                let caseId = try #require(try await hub.createCase()["id"] as? String)
                for number in 1...3 { _ = try await hub.postMessage(caseId: caseId, thread: "ppa", body: "observation \(number)") }
                // The backlog is read at most once a second.
                try await Task.sleep(for: .milliseconds(1100))

                let after = try await hub.get("/metrics", token: nil).text
                #expect(Self.sample(after, pending) == 3, "\(after)")
                #expect(Self.sample(after, #"casehub_deliveries{channel="webhook",status="failed"}"#) == 0)
                let overdue = try #require(Self.sample(after, lag))
                #expect(overdue >= 1 && overdue < 60, "the first delivery has waited since it was queued: \(overdue) s")
                #expect(after.contains("# HELP casehub_deliveries "))
            }
        }
    }
}
