import CCurl
import CurlShim
import Foundation
import Synchronization

/// Runs outbound transfers through libcurl's multi interface: one thread owns a long-lived
/// multi handle (so connections to a receiver are reused) and drives many transfers at once;
/// any task hands it work with ``perform(_:)`` and awaits the result.
public final class CurlEngine: Sendable {
    private struct State {
        var queued: [Transfer] = []
        var closed = false
    }

    private let multiHandle: UncheckedSendable<UnsafeMutableRawPointer>
    private var multi: UnsafeMutableRawPointer { multiHandle.value }
    private let state = Mutex(State())

    /// Starts the engine's thread.
    public init(maxConnections: Int = 256) {
        Self.initializeLibrary
        let multi = curl_multi_init()!
        curlshim_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxConnections)
        multiHandle = UncheckedSendable(multi)
        let thread = Thread { [self] in run(multiHandle.value) }
        thread.name = "casehub-curl"
        thread.start()
    }

    /// `curl_global_init` must run once, before any thread uses libcurl.
    private static let initializeLibrary: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// Runs one transfer to its end. Never throws: a failure is described in the result.
    public func perform(_ request: TransferRequest) async -> TransferResult {
        await perform(request, then: { _ in nil })
    }

    /// Runs `first`, then each transfer `next` gives for the result of the one before, until
    /// it gives nil; returns the last result. `next` is called on the engine's thread, so a
    /// follow-up starts the moment its forerunner ends, without a hop through the caller's
    /// executor. It must be quick, and it hears of every transfer it was given, even when the
    /// engine stops.
    public func perform(
        _ first: TransferRequest, then next: @escaping @Sendable (TransferResult) -> TransferRequest?
    ) async -> TransferResult {
        await withCheckedContinuation { continuation in
            let sequence = TransferSequence(continuation: continuation, next: next)
            guard let transfer = Transfer(request: first, sequence: sequence) else {
                sequence.end(after: TransferResult(code: nil, error: Self.noHandle, duration: .zero))
                return
            }
            let accepted = state.withLock { state in
                guard !state.closed else { return false }
                state.queued.append(transfer)
                // Under the lock, so the thread cannot have cleaned up the handle meanwhile.
                curl_multi_wakeup(multi)
                return true
            }
            if !accepted { sequence.end(after: TransferResult(code: nil, error: Self.stopped, duration: .zero)) }
        }
    }

    private static let noHandle = "libcurl could not make a handle"
    private static let stopped = "the delivery engine has stopped"
    private static let refused = "libcurl refused the transfer"

    /// Stops the thread: transfers still running end with an error.
    public func shutdown() {
        state.withLock { state in
            state.closed = true
            curl_multi_wakeup(multi)
        }
    }

    private func run(_ multi: UnsafeMutableRawPointer) {
        var running: [UnsafeMutableRawPointer: Transfer] = [:]
        while true {
            let (incoming, closed) = state.withLock { state in
                defer { state.queued.removeAll() }
                return (state.queued, state.closed)
            }
            if closed {
                for transfer in running.values + incoming {
                    curl_multi_remove_handle(multi, transfer.handle)
                    transfer.sequence.end(after: transfer.result(CURLE_ABORTED_BY_CALLBACK))
                }
                _ = state.withLock { _ in curl_multi_cleanup(multi) }
                return
            }
            for transfer in incoming { start(transfer, multi, &running) }
            var stillRunning: Int32 = 0
            curl_multi_perform(multi, &stillRunning)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
                    let transfer = running.removeValue(forKey: handle)
                else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, handle)
                follow(transfer, after: transfer.result(code), multi, &running)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func start(_ transfer: Transfer, _ multi: UnsafeMutableRawPointer, _ running: inout [UnsafeMutableRawPointer: Transfer]) {
        guard curl_multi_add_handle(multi, transfer.handle) == CURLM_OK else {
            follow(transfer, after: TransferResult(code: nil, error: Self.refused, duration: .zero), multi, &running)
            return
        }
        running[transfer.handle] = transfer
    }

    /// Starts what follows `transfer` in its sequence, or resumes the caller when nothing does.
    private func follow(
        _ transfer: Transfer, after result: TransferResult, _ multi: UnsafeMutableRawPointer,
        _ running: inout [UnsafeMutableRawPointer: Transfer]
    ) {
        var result = result
        while let request = transfer.sequence.next(result) {
            if let following = Transfer(request: request, sequence: transfer.sequence) {
                start(following, multi, &running)
                return
            }
            result = TransferResult(code: nil, error: Self.noHandle, duration: .zero)
        }
        transfer.sequence.continuation.resume(returning: result)
    }
}

/// A caller's transfers, one after another: who waits for the last result, and what follows
/// each.
struct TransferSequence: Sendable {
    let continuation: CheckedContinuation<TransferResult, Never>
    let next: @Sendable (TransferResult) -> TransferRequest?

    /// Ends the sequence early: `next` hears of `result`, and of the same failure for
    /// everything it still gives; then the caller is resumed.
    func end(after result: TransferResult) {
        var result = result
        while next(result) != nil { result = TransferResult(code: nil, error: result.error, duration: .zero) }
        continuation.resume(returning: result)
    }
}

/// Carries a value libcurl owns across the one hand-over to the engine's thread.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
