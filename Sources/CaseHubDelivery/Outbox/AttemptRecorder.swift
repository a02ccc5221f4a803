import CaseHubStore
import Logging
import Synchronization

/// Writes the worker's attempts to the store in batches: while one batch is written, the
/// attempts of the transfers that end meanwhile gather for the next. Under load many attempts
/// share a transaction and its sync to disk; alone, an attempt is written at once.
///
/// An attempt waiting here is not yet durable: if the process dies first, its lease is freed
/// at the next start and the delivery is sent again (at least once, never lost).
final class AttemptRecorder: Sendable {
    private struct State {
        var pending: [(record: AttemptRecord, key: String)] = []
        var closed = false
    }

    private let store: any Store
    private let logger: Logger
    private let state = Mutex(State())
    private let bell = Doorbell()

    init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues an attempt of concurrency key `key` for the next batch.
    func submit(_ record: AttemptRecord, key: String) {
        state.withLock { $0.pending.append((record, key)) }
        bell.ring()
    }

    /// No more attempts come: ``run(recorded:)`` returns once those queued are written.
    func close() {
        state.withLock { $0.closed = true }
        bell.ring()
    }

    /// Writes batches until closed; tells `recorded` the keys of each batch once it is written.
    func run(recorded: ([String]) -> Void) async {
        while true {
            let (batch, closed) = state.withLock { state in
                defer { state.pending.removeAll(keepingCapacity: true) }
                return (state.pending, state.closed)
            }
            if batch.isEmpty {
                if closed { return }
                await bell.wait()
                continue
            }
            for unrecorded in await store.recordAttempts(batch.map(\.record)) {
                logger.error(
                    "could not record a delivery attempt", metadata: ["delivery": "\(unrecorded.deliveryId)", "error": "\(unrecorded.error)"])
            }
            recorded(batch.map(\.key))
        }
    }
}
