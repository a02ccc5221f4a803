import CaseHubCore
import CaseHubStore
import Metrics

/// Counts the worker's attempts by channel and outcome, as
/// `casehub_delivery_attempts_total{channel, outcome}` in `/metrics` (outcome `delivered`,
/// `failed`: to be tried again, or `dead`).
struct AttemptCounters: Sendable {
    private let counters: [String: Counter]

    init() {
        var counters: [String: Counter] = [:]
        for channel in Delivery.Channel.allCases {
            for outcome in ["delivered", "failed", "dead"] {
                counters[Self.key(channel, outcome)] = Counter(
                    label: "casehub_delivery_attempts_total", dimensions: [("channel", channel.rawValue), ("outcome", outcome)])
            }
        }
        self.counters = counters
    }

    func count(_ channel: Delivery.Channel, _ verdict: AttemptRecord.Verdict) {
        let outcome =
            switch verdict {
            case .delivered: "delivered"
            case .retry: "failed"
            case .dead: "dead"
            }
        counters[Self.key(channel, outcome)]?.increment()
    }

    private static func key(_ channel: Delivery.Channel, _ outcome: String) -> String { "\(channel.rawValue).\(outcome)" }
}
