import CaseHubCore
import CaseHubStore
import Prometheus

/// The outbox as `/metrics` shows it, read from the store at each scrape, so that operators
/// can alert on a growing backlog or dead deliveries:
/// - `casehub_deliveries{channel, status}`: deliveries not delivered (`pending`, `failed` and
///   to be tried again, `dead`);
/// - `casehub_delivery_lag_seconds{channel}`: how long the most overdue pending or failed
///   delivery has been due (0 when none is).
struct DeliveryBacklogGauges: Sendable {
    static let statuses: [Delivery.Status] = [.pending, .failed, .dead]

    private let counts: [String: Gauge]
    private let lags: [Delivery.Channel: Gauge]

    init(registry: PrometheusCollectorRegistry) {
        var counts: [String: Gauge] = [:]
        var lags: [Delivery.Channel: Gauge] = [:]
        for channel in Delivery.Channel.allCases {
            for status in Self.statuses {
                counts[Self.key(channel, status)] = registry.makeGauge(
                    name: "casehub_deliveries", labels: [("channel", channel.rawValue), ("status", status.rawValue)],
                    help: "Deliveries not delivered, by channel and status")
            }
            lags[channel] = registry.makeGauge(
                name: "casehub_delivery_lag_seconds", labels: [("channel", channel.rawValue)],
                help: "How long the most overdue pending or failed delivery has been due")
        }
        self.counts = counts
        self.lags = lags
    }

    func refresh(from store: any Store, nowMillis: UInt64 = Timestamp.nowMillis()) async throws {
        let backlog = try await store.deliveryBacklog()
        for channel in Delivery.Channel.allCases {
            for status in Self.statuses {
                let count = backlog.first { $0.channel == channel && $0.status == status }?.count ?? 0
                counts[Self.key(channel, status)]?.set(Int64(count))
            }
            let oldestDue = backlog.filter { $0.channel == channel && $0.status != .dead }.compactMap(\.oldestDueMillis).min()
            let lagMillis = oldestDue.map { nowMillis > $0 ? nowMillis - $0 : 0 } ?? 0
            lags[channel]?.set(Double(lagMillis) / 1000)
        }
    }

    private static func key(_ channel: Delivery.Channel, _ status: Delivery.Status) -> String { "\(channel.rawValue).\(status.rawValue)" }
}
