import CaseHubCore
import CaseHubStore
import Metrics

/// Counts the worker's attempts by channel and outcome, as
/// `casehub_delivery_attempts_total{channel, outcome}` in `/metrics`; the outcome is the status
/// the attempt leaves its delivery in (`delivered`, `failed` and to be tried again, `dead`).
struct AttemptCounters: Sendable {
    static let outcomes: [Delivery.Status] = [.delivered, .failed, .dead]

    private struct Series: Hashable {
        var channel: Delivery.Channel
        var outcome: Delivery.Status
    }

    private let counters: [Series: Counter]

    /// Make it after `MetricsSystem.bootstrap`, or its counters count nowhere.
    init() {
        var counters: [Series: Counter] = [:]
        for channel in Delivery.Channel.allCases {
            for outcome in Self.outcomes {
                counters[Series(channel: channel, outcome: outcome)] = Counter(
                    label: "casehub_delivery_attempts_total", dimensions: [("channel", channel.rawValue), ("outcome", outcome.rawValue)])
            }
        }
        self.counters = counters
    }

    func count(_ channel: Delivery.Channel, _ verdict: AttemptRecord.Verdict) {
        counters[Series(channel: channel, outcome: verdict.status)]?.increment()
    }
}
