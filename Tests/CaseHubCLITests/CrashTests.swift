import CaseHubTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the posting clients saw, shared between 32 tasks.
final class PostRecorder: Sendable {
    struct Acknowledged: Sendable {
        let id: String
        let body: String
        let seq: Int
    }

    struct State: Sendable {
        var acknowledged: [Acknowledged] = []
        /// Failures before the server was killed: none are expected.
        var unexpected: [String] = []
        var failuresAfterKill = 0
        var acknowledgedAfterKill = 0
    }

    let state = Mutex(State())
    let killed = Atomic<Bool>(false)
    let stopped = Atomic<Bool>(false)

    var acknowledgedCount: Int { state.withLock { $0.acknowledged.count } }
}

@Suite("Crash: SIGKILL under load loses no acknowledged message", .serialized)
struct CrashTests {
    static let clients = 32

    @Test(.timeLimit(.minutes(5)))
    func killedServerKeepsEveryAcknowledgedMessage() async throws {
        let started = ContinuousClock.now
        let scratch = try Scratch("crash")
        defer { scratch.remove() }
        let environment = scratch.environment()

        // An admin token first (the CLI creates the store), then the hub.
        let token = try await issueAdminToken(in: scratch, environment: environment)
        let first = try await HubServer.start(in: scratch, environment: environment)
        defer { first.stop() }

        let client = HubClient(port: first.port, token: token, requestTimeout: 10)
        defer { client.close() }
        let hubCase = try await client.createCase(mrn: "RM-1")
        #expect(hubCase.mrn == "RM-1")
        let path = "/v1/cases/\(hubCase.id)/threads/ppa/messages"

        // 32 clients post in a loop until told to stop.
        let recorder = PostRecorder()
        let clientDeadline = ContinuousClock.now + .seconds(60)
        let posting = Task {
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<Self.clients {
                    group.addTask {
                        await Self.post(task: task, client: client, path: path, recorder: recorder, deadline: clientDeadline)
                    }
                }
            }
        }

        // About 1.5 s, and at least 200 acknowledged messages, whichever is later; at most 20 s.
        let load = ContinuousClock.now
        for _ in 0..<10_000 {
            let elapsed = ContinuousClock.now - load
            if (elapsed >= .milliseconds(1500) && recorder.acknowledgedCount >= 200) || elapsed >= .seconds(20) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let beforeKill = recorder.acknowledgedCount
        recorder.killed.store(true, ordering: .sequentiallyConsistent)
        first.crash()  // SIGKILL by PID while the clients are still posting, then reap
        recorder.stopped.store(true, ordering: .sequentiallyConsistent)
        await posting.value
        let loadTime = ContinuousClock.now - load

        let seen = recorder.state.withLock { $0 }
        #expect(first.child.process.terminationReason == .uncaughtSignal)
        #expect(seen.unexpected.isEmpty, "failures before the kill: \(seen.unexpected.prefix(5)) (\(seen.unexpected.count) in all)")
        #expect(beforeKill >= 200, "only \(beforeKill) messages acknowledged in \(loadTime) before the kill")
        let acknowledged = seen.acknowledged
        #expect(Set(acknowledged.map(\.id)).count == acknowledged.count, "the same message id was answered twice")

        // The same database, a new process.
        let second = try await HubServer.start(in: scratch, environment: environment)
        defer { second.stop() }
        let after = HubClient(port: second.port, token: token)
        defer { after.close() }

        // Every acknowledged message is there, with its body and seq.
        let messages = try await after.allMessages(caseId: hubCase.id, thread: "ppa")
        let stored = Dictionary(messages.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(stored.count == messages.count, "a message id appears twice in the thread")
        #expect(messages.map(\.seq) == messages.map(\.seq).sorted() && Set(messages.map(\.seq)).count == messages.count,
                "messages are not strictly ascending by seq")
        let missing = acknowledged.filter { stored[$0.id] == nil }
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged messages are gone after the crash, e.g. \(missing.prefix(3).map(\.id))")
        let changed = acknowledged.filter { ack in stored[ack.id].map { $0.body != ack.body || $0.seq != ack.seq } ?? false }
        #expect(changed.isEmpty, "\(changed.count) messages came back with another body or seq, e.g. \(changed.prefix(3).map(\.id))")

        // The chain is intact.
        let verify = try await after.get("/v1/cases/\(hubCase.id)/log/verify")
        #expect(verify.status == 200, "\(verify)")
        let verdict: VerifyView = try verify.decode()
        #expect(verdict.ok, "log/verify after the crash: \(verify)")

        // The log runs 1…n with no gap, each entry chained to the one before, and holds one
        // message.posted entry per stored message, at the message's seq.
        let entries = try await after.allLogEntries(caseId: hubCase.id)
        #expect(entries.map(\.seq) == Array(1..<(entries.count + 1)), "log seq do not run 1…n without gaps")
        #expect(entries.first?.prevHash == String(repeating: "0", count: 64))
        for (previous, entry) in zip(entries, entries.dropFirst()) where entry.prevHash != previous.hash {
            Issue.record("log entry \(entry.seq): prev_hash is not entry \(previous.seq)'s hash")
            break
        }
        #expect(verdict.entries == entries.count, "log/verify counts \(verdict.entries.map(String.init) ?? "nil"), the log holds \(entries.count)")
        let posted = Dictionary(entries.filter { $0.type == "message.posted" }.map { ($0.seq, $0.data.messageId) }, uniquingKeysWith: { a, _ in a })
        #expect(posted.count == messages.count, "\(posted.count) message.posted entries for \(messages.count) messages")
        let unlogged = messages.filter { posted[$0.seq] != .some($0.id) }
        #expect(unlogged.isEmpty, "\(unlogged.count) messages have no message.posted entry at their seq, e.g. \(unlogged.prefix(3).map(\.id))")

        // The CLI agrees, and exports the same log (with the server stopped).
        second.stop()
        let cliVerify = try await runCaseHub(["log", "verify", hubCase.id], in: scratch, environment: environment)
        #expect(cliVerify.status == 0, "\(cliVerify)")
        let export = try await runCaseHub(["export", hubCase.id, "--format", "jsonl"], in: scratch, environment: environment)
        #expect(export.status == 0, "\(export)")
        #expect(export.stdoutLines.count == entries.count, "export wrote \(export.stdoutLines.count) lines for \(entries.count) log entries")

        let total = ContinuousClock.now - started
        print("crash test: \(acknowledged.count) messages acknowledged (\(beforeKill) before SIGKILL, \(seen.acknowledgedAfterKill) answered after), "
              + "\(seen.failuresAfterKill) requests failed after the kill, load \(loadTime), log \(entries.count) entries, total \(total)")
    }

    /// One client: posts `m-<task>-<n>` until stopped, recording every 201.
    static func post(task: Int, client: HubClient, path: String, recorder: PostRecorder, deadline: ContinuousClock.Instant) async {
        for n in 0..<100_000 {
            if recorder.stopped.load(ordering: .sequentiallyConsistent) || ContinuousClock.now >= deadline { return }
            let body = "m-\(task)-\(n)"
            do {
                let answer = try await client.post(path, json: #"{"body":"\#(body)"}"#)
                let killed = recorder.killed.load(ordering: .sequentiallyConsistent)
                if answer.status == 201 {
                    let message: MessageView = try answer.decode()
                    recorder.state.withLock {
                        $0.acknowledged.append(.init(id: message.id, body: message.body, seq: message.seq))
                        if killed { $0.acknowledgedAfterKill += 1 }
                    }
                    if message.body != body {
                        recorder.state.withLock { $0.unexpected.append("posted \(body), answered body \(message.body)") }
                    }
                } else if killed {
                    recorder.state.withLock { $0.failuresAfterKill += 1 }
                } else {
                    recorder.state.withLock { $0.unexpected.append("\(body): \(answer)") }
                }
            } catch {
                if recorder.killed.load(ordering: .sequentiallyConsistent) {
                    recorder.state.withLock { $0.failuresAfterKill += 1 }
                    return
                }
                recorder.state.withLock { $0.unexpected.append("\(body): \(error)") }
            }
        }
    }
}
