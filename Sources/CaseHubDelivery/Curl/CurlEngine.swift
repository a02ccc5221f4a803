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
        await withCheckedContinuation { continuation in
            guard let transfer = Transfer(request: request, continuation: continuation) else {
                continuation.resume(returning: TransferResult(code: nil, error: "libcurl could not make a handle", duration: .zero))
                return
            }
            let accepted = state.withLock { state in
                guard !state.closed else { return false }
                state.queued.append(transfer)
                // Under the lock, so the thread cannot have cleaned up the handle meanwhile.
                curl_multi_wakeup(multi)
                return true
            }
            if !accepted {
                continuation.resume(returning: TransferResult(code: nil, error: "the delivery engine has stopped", duration: .zero))
            }
        }
    }

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
                    transfer.continuation.resume(returning: transfer.result(CURLE_ABORTED_BY_CALLBACK))
                }
                _ = state.withLock { _ in curl_multi_cleanup(multi) }
                return
            }
            for transfer in incoming {
                guard curl_multi_add_handle(multi, transfer.handle) == CURLM_OK else {
                    transfer.continuation.resume(
                        returning: TransferResult(code: nil, error: "libcurl refused the transfer", duration: .zero))
                    continue
                }
                running[transfer.handle] = transfer
            }
            var stillRunning: Int32 = 0
            curl_multi_perform(multi, &stillRunning)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
                    let transfer = running.removeValue(forKey: handle)
                else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, handle)
                transfer.continuation.resume(returning: transfer.result(code))
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }
}

/// Carries a value libcurl owns across the one hand-over to the engine's thread.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
