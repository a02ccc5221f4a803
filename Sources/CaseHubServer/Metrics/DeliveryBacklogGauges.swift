import CaseHubCore
import CaseHubStore
import Prometheus
import Synchronization

/// The outbox as `/metrics` shows it, read from the store at a scrape, so that operators can
/// alert on a growing backlog or dead deliveries:
/// - `casehub_deliveries{channel, status}`: deliveries not delivered (`pending`, `failed` and
///   to be tried again, `dead`);
/// - `casehub_delivery_lag_seconds{channel}`: how long the most overdue pending or failed
///   delivery has been due (0 when none is; a disabled endpoint's deliveries are not due).
///
/// `/metrics` needs no token, so the store is read at most once a second however often it is
/// asked.
final class DeliveryBacklogGauges: Sendable {
    static let statuses: [Delivery.Status] = [.pending, .failed, .dead]
    static let refreshInterval: Duration = .seconds(1)

    private struct Series: Hashable {
        var channel: Delivery.Channel
        var status: Delivery.Status
    }

    private let counts: [Series: Gauge]
    private let lags: [Delivery.Channel: Gauge]
    private let lastRefresh = Mutex<ContinuousClock.Instant?>(nil)

    init(registry: PrometheusCollectorRegistry) {
        var counts: [Series: Gauge] = [:]
        var lags: [Delivery.Channel: Gauge] = [:]
        for channel in Delivery.Channel.allCases {
            for status in Self.statuses {
                counts[Series(channel: channel, status: status)] = registry.makeGauge(
                    descriptor: MetricNameDescriptor(
                        namespace: "casehub", metricName: "deliveries", unitName: "", helpText: "Deliveries not delivered, by channel and status"),
                    labels: [("channel", channel.rawValue), ("status", status.rawValue)])
            }
            lags[channel] = registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "casehub", metricName: "delivery_lag", unitName: "seconds",
                    helpText: "How long the most overdue pending or failed delivery has been due"),
                labels: [("channel", channel.rawValue)])
        }
        self.counts = counts
        self.lags = lags
    }

    /// Reads the backlog again, unless it was read less than ``refreshInterval`` ago.
    func refresh(from store: any Store) async throws {
        let now = ContinuousClock.now
        let due = lastRefresh.withLock { last in
            guard last.map({ now - $0 >= Self.refreshInterval }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        show(try await store.deliveryBacklog(), nowMillis: Timestamp.nowMillis())
    }

    private func show(_ backlog: [DeliveryBacklog], nowMillis: UInt64) {
        for channel in Delivery.Channel.allCases {
            for status in Self.statuses {
                let count = backlog.first { $0.channel == channel && $0.status == status }?.count ?? 0
                counts[Series(channel: channel, status: status)]?.set(Int64(count))
            }
            let oldestDue = backlog.filter { $0.channel == channel && $0.status != .dead }.compactMap(\.oldestDueMillis).min()
            let lagMillis = oldestDue.map { nowMillis > $0 ? nowMillis - $0 : 0 } ?? 0
            lags[channel]?.set(Double(lagMillis) / 1000)
        }
    }
}
