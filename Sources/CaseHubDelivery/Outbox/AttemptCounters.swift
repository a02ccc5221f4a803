import CaseHubCore
import CaseHubStore
import Metrics

/// Counts the worker's attempts by channel and outcome, as
/// `casehub_delivery_attempts_total{channel, outcome}` in `/metrics`.
struct AttemptCounters: Sendable {
    enum Outcome: String, CaseIterable {
        case delivered
        /// To be tried again.
        case failed
        case dead

        init(_ verdict: AttemptRecord.Verdict) {
            switch verdict {
            case .delivered: self = .delivered
            case .retry: self = .failed
            case .dead: self = .dead
            }
        }
    }

    private struct Series: Hashable {
        var channel: Delivery.Channel
        var outcome: Outcome
    }

    private let counters: [Series: Counter]

    /// Make it after `MetricsSystem.bootstrap`, or its counters count nowhere.
    init() {
        var counters: [Series: Counter] = [:]
        for channel in Delivery.Channel.allCases {
            for outcome in Outcome.allCases {
                counters[Series(channel: channel, outcome: outcome)] = Counter(
                    label: "casehub_delivery_attempts_total", dimensions: [("channel", channel.rawValue), ("outcome", outcome.rawValue)])
            }
        }
        self.counters = counters
    }

    func count(_ channel: Delivery.Channel, _ verdict: AttemptRecord.Verdict) {
        counters[Series(channel: channel, outcome: Outcome(verdict))]?.increment()
    }
}
