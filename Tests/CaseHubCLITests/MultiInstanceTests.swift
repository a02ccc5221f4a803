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

// Several `casehub serve` processes on one PostgreSQL database: what each instance commits,
// every instance's live readers see; one killed instance's deliveries are sent by another.
// The server comes from CASEHUB_TEST_POSTGRES_URL (scripts/test starts one); each test works
// in a schema of its own, created by the hub on migrate and dropped afterwards with psql.

/// The PostgreSQL server of the process tests, and fresh schemas on it.
enum TestPostgres {
    static let baseURL = ProcessInfo.processInfo.environment["CASEHUB_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let required = ProcessInfo.processInfo.environment["CASEHUB_REQUIRE_POSTGRES"] == "1"

    /// A database URL naming a fresh schema (`search_path`) with a pool of 8, or nil when no
    /// server is configured: then an issue is recorded if `CASEHUB_REQUIRE_POSTGRES=1`, and
    /// the test returns without checking anything otherwise.
    static func fresh() -> (url: String, schema: String)? {
        guard let baseURL else {
            if required {
                Issue.record("CASEHUB_REQUIRE_POSTGRES=1 but CASEHUB_TEST_POSTGRES_URL is not set: start a server with scripts/postgres start")
            }
            return nil
        }
        let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return (baseURL + (baseURL.contains("?") ? "&" : "?") + "search_path=\(schema)&pool_size=8", schema)
    }

    /// The server's URL without query parameters, as psql takes it.
    static var psqlURL: String? { baseURL.map { String($0.prefix { $0 != "?" }) } }

    /// Runs one SQL statement with `psql -At` and answers its output; throws when psql fails
    /// or runs longer than `timeout` (then it is killed by PID).
    static func psql(_ sql: String, timeout: Duration = .seconds(30)) throws -> String {
        guard let url = psqlURL else { throw HarnessError("no CASEHUB_TEST_POSTGRES_URL") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-psql-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputURL = folder.appendingPathComponent("stdout")
        let errorURL = folder.appendingPathComponent("stderr")
        let process = try ChildProcess(
            executable: "/usr/bin/env", arguments: ["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            environment: ProcessInfo.processInfo.environment, standardOutput: outputURL.path, standardError: errorURL.path)
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<1_000_000 where process.isRunning && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            process.send(SIGKILL)
            process.waitUntilExit()
            throw HarnessError("psql -c \(sql.debugDescription) ran longer than \(timeout)")
        }
        process.waitUntilExit()
        let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
            throw HarnessError("psql -c \(sql.debugDescription) failed with status \(process.terminationStatus): \(message)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Drops a test's schema; a failure is printed, not recorded (the schema is only left behind).
    static func drop(_ schema: String) {
        do {
            _ = try psql("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        } catch {
            print("MultiInstanceTests: could not drop schema \(schema): \(error)")
        }
    }
}

/// One message post as its client saw it.
struct PostOutcome: Sendable {
    let number: Int
    let via: String
    let status: Int?
    let id: String?
    let seq: Int?
    let failure: String?
}

@Suite("Several hub instances on one PostgreSQL database", .serialized)
struct MultiInstanceTests {
    static let messages = 200
    static let tasksPerInstance = 8

    @Test(.timeLimit(.minutes(5)))
    func postsThroughBothInstancesKeepOneGapFreeChainAndEverySubscriberSeesEveryEntryOnceInOrder() async throws {
        guard let database = TestPostgres.fresh() else { return }
        let (url, schema) = database
        defer { TestPostgres.drop(schema) }
        let started = ContinuousClock.now
        let scratch = try Scratch("multi-stream")
        defer { scratch.remove() }
        let environment = scratch.environment(["CASEHUB_DATABASE_URL": url])

        let first = try await HubServer.start(in: scratch, environment: environment)
        defer { first.stop() }
        let second = try await HubServer.start(in: scratch, environment: environment)
        defer { second.stop() }
        #expect(first.port != second.port)
        let token = try await issueAdminToken(in: scratch, environment: environment)
        let clientA = HubClient(port: first.port, token: token)
        defer { clientA.close() }
        let clientB = HubClient(port: second.port, token: token)
        defer { clientB.close() }

        let hubCase = try await clientA.createCase(mrn: "RM-MULTI-1")
        let seenByB = try await clientB.get("/v1/cases/\(hubCase.id)")
        #expect(seenByB.status == 200, "the case created through A, read through B: \(seenByB)")

        // One subscriber per instance, each following (case.opened, seq 1, has come) before any post.
        let subscriberA = StreamSubscriber(label: "A", port: first.port, caseId: hubCase.id, token: token, carrier: .webSocketProtocol)
        let subscriberB = StreamSubscriber(label: "B", port: second.port, caseId: hubCase.id, token: token, carrier: .authorizationHeader)
        let subscribers = [subscriberA, subscriberB]
        for subscriber in subscribers {
            let following = await subscriber.waitFor(seq: 1, timeout: .seconds(15))
            #expect(following, "subscriber on \(subscriber.label) got no case.opened frame; socket: \(subscriber.ending ?? "open")")
        }

        // 200 posts at once, half through each instance, 8 tasks per instance, to two threads.
        let postStart = ContinuousClock.now
        let outcomes = await withTaskGroup(of: [PostOutcome].self) { group in
            let lanes = Self.tasksPerInstance * 2
            for lane in 0..<lanes {
                let (client, via) = lane % 2 == 0 ? (clientA, "A") : (clientB, "B")
                group.addTask {
                    var outcomes: [PostOutcome] = []
                    for number in stride(from: lane, to: Self.messages, by: lanes) {
                        let thread = number % 3 == 0 ? "family" : "ppa"
                        let path = "/v1/cases/\(hubCase.id)/threads/\(thread)/messages"
                        do {
                            let answer = try await client.post(path, json: #"{"body":"pesan \#(number) lewat \#(via)"}"#)
                            if answer.status == 201 {
                                let message: MessageView = try answer.decode()
                                outcomes.append(PostOutcome(number: number, via: via, status: 201, id: message.id, seq: message.seq, failure: nil))
                            } else {
                                outcomes.append(PostOutcome(number: number, via: via, status: answer.status, id: nil, seq: nil, failure: answer.text))
                            }
                        } catch {
                            outcomes.append(PostOutcome(number: number, via: via, status: nil, id: nil, seq: nil, failure: "\(error)"))
                        }
                    }
                    return outcomes
                }
            }
            return await group.reduce(into: [PostOutcome]()) { $0 += $1 }
        }
        let postTime = ContinuousClock.now - postStart
        #expect(outcomes.count == Self.messages)
        let failed = outcomes.filter { $0.status != 201 }
        #expect(failed.isEmpty, "\(failed.count) posts were not answered 201, e.g. \(failed.prefix(3).map { "\($0.via) #\($0.number): \($0.status.map(String.init) ?? "-") \($0.failure ?? "")" })")
        let acknowledged = outcomes.filter { $0.status == 201 }
        #expect(acknowledged.filter { $0.via == "A" }.count == Self.messages / 2)
        #expect(acknowledged.filter { $0.via == "B" }.count == Self.messages / 2)
        let acknowledgedSeqs = acknowledged.compactMap(\.seq)
        #expect(Set(acknowledgedSeqs).count == acknowledgedSeqs.count, "two posts were answered with the same seq")
        #expect(Set(acknowledged.compactMap(\.id)).count == acknowledged.count, "two posts were answered with the same id")

        // The log: 1…N without a gap, chained, one message.posted per acknowledged post at its seq.
        let entries = try await clientA.allLogEntries(caseId: hubCase.id)
        let lastSeq = entries.last?.seq ?? 0
        #expect(entries.map(\.seq) == Array(1..<(entries.count + 1)), "log seq do not run 1…n without gaps: \(Self.gaps(entries.map(\.seq)))")
        #expect(entries.first?.prevHash == String(repeating: "0", count: 64))
        let broken = zip(entries, entries.dropFirst()).filter { $1.prevHash != $0.hash }.map { $1.seq }
        #expect(broken.isEmpty, "prev_hash does not match the previous entry's hash at seq \(broken.prefix(5))")
        let posted = entries.filter { $0.type == "message.posted" }
        #expect(posted.count == acknowledged.count, "\(posted.count) message.posted entries for \(acknowledged.count) acknowledged posts")
        let postedById = Dictionary(posted.compactMap { entry in entry.data.messageId.map { ($0, entry.seq) } }, uniquingKeysWith: { a, _ in a })
        let missing = acknowledged.filter { $0.id.flatMap { postedById[$0] } != $0.seq }
        #expect(missing.isEmpty, "\(missing.count) acknowledged posts are not in the log at their seq, e.g. \(missing.prefix(3).map { "\($0.id ?? "?")@\($0.seq ?? -1)" })")
        let entriesB = try await clientB.allLogEntries(caseId: hubCase.id)
        #expect(entriesB.map(\.hash) == entries.map(\.hash), "the log read through B differs from the log read through A")

        for (client, name) in [(clientA, "A"), (clientB, "B")] {
            let answer = try await client.get("/v1/cases/\(hubCase.id)/log/verify")
            #expect(answer.status == 200, "log/verify on \(name): \(answer)")
            let verdict: VerifyView = try answer.decode()
            #expect(verdict.ok, "log/verify on \(name): \(answer)")
            #expect(verdict.entries == entries.count, "log/verify on \(name) counted \(verdict.entries.map(String.init) ?? "nothing"), the log has \(entries.count)")
        }

        // Each subscriber: every entry once, in order, up to the last, frames identical to the log.
        let streamWait = ContinuousClock.now
        for subscriber in subscribers {
            let reached = await subscriber.waitFor(seq: lastSeq, timeout: .seconds(30))
            #expect(reached, "subscriber on \(subscriber.label) reached seq \(subscriber.seqs.max() ?? 0) of \(lastSeq) within 30 s; socket: \(subscriber.ending ?? "open")")
        }
        let streamLag = ContinuousClock.now - streamWait
        for subscriber in subscribers { await subscriber.stop() }
        let hashBySeq = Dictionary(entries.map { ($0.seq, $0.hash) }, uniquingKeysWith: { a, _ in a })
        for subscriber in subscribers {
            let seqs = subscriber.seqs
            #expect(seqs == Array(1..<(lastSeq + 1)),
                    "subscriber on \(subscriber.label): \(seqs.count) frames for \(lastSeq) entries; \(Self.streamProblems(seqs))")
            let wrong = subscriber.frames.filter { frame in frame.seq.map { hashBySeq[$0] != frame.hash } ?? false }
            #expect(wrong.isEmpty, "subscriber on \(subscriber.label): \(wrong.count) frames differ from the log, e.g. \(wrong.first?.text.prefix(300) ?? "")")
            #expect(subscriber.undecodable.isEmpty, "subscriber on \(subscriber.label) got frames that are not JSON objects: \(subscriber.undecodable.prefix(2))")
            let postedFrames = subscriber.frames.filter { $0.type == "message.posted" }.count
            #expect(postedFrames == acknowledged.count, "subscriber on \(subscriber.label): \(postedFrames) message.posted frames")
        }
        print(
            "MultiInstanceTests: \(acknowledged.count) posts through two instances in \(postTime); log 1…\(lastSeq); "
                + "subscribers caught up \(streamLag) after the log was read; whole test \(ContinuousClock.now - started)")
    }

    /// Missing and repeated values of what should be 1…n.
    static func gaps(_ seqs: [Int]) -> String {
        guard let highest = seqs.max() else { return "none" }
        let present = Set(seqs)
        let missing = (1...highest).filter { !present.contains($0) }
        return "missing \(missing.prefix(10))\(missing.count > 10 ? "…" : "")"
    }

    /// What is wrong with a stream's seqs: missing, repeated, out of order.
    static func streamProblems(_ seqs: [Int]) -> String {
        var counts: [Int: Int] = [:]
        for seq in seqs { counts[seq, default: 0] += 1 }
        let repeated = counts.filter { $0.value > 1 }.keys.sorted()
        let backwards = zip(seqs, seqs.dropFirst()).filter { $1 <= $0 }.map { "\($0)→\($1)" }
        return "\(gaps(seqs)); repeated \(repeated.prefix(10)); out of order at \(backwards.prefix(10))"
    }

    @Test(.timeLimit(.minutes(6)))
    func aKilledInstancesDeliveryBacklogIsDeliveredByTheOther() async throws {
        guard let database = TestPostgres.fresh() else { return }
        let (url, schema) = database
        defer { TestPostgres.drop(schema) }
        let started = ContinuousClock.now
        let scratch = try Scratch("multi-delivery")
        defer { scratch.remove() }
        let receiver = try await WebhookReceiver.start(in: scratch)
        defer { receiver.stop() }
        // Four transfers at once per instance to the endpoint, which takes 3 s to answer each:
        // when A is killed it holds leases on four deliveries and has the rest still to send.
        let environment = scratch.environment([
            "CASEHUB_DATABASE_URL": url,
            "CASEHUB_WEBHOOK_ALLOW_PRIVATE": "true",
            "CASEHUB_RETRY_SCHEDULE": "1s,2s,2s,2s,2s,2s,2s,2s,2s,2s",
            "CASEHUB_WEBHOOK_CONCURRENCY": "4",
        ])
        let messageCount = 24

        let first = try await HubServer.start(in: scratch, environment: environment)
        defer { first.stop() }
        let token = try await issueAdminToken(in: scratch, environment: environment)
        let clientA = HubClient(port: first.port, token: token)
        defer { clientA.close() }
        let hubCase = try await clientA.createCase(mrn: "RM-MULTI-2")
        let prefix = "/slow/3/multi-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await clientA.createEndpoint(url: receiver.url(prefix), roles: ["ppa"])
        try await receiver.register(secrets: [prefix: created.secret])

        let outcomes = try await withThrowingTaskGroup(of: [MessageView].self) { group in
            for lane in 0..<4 {
                group.addTask {
                    var posted: [MessageView] = []
                    for number in stride(from: lane, to: messageCount, by: 4) {
                        posted.append(try await clientA.postMessage(caseId: hubCase.id, thread: "ppa", body: "antrean \(number)"))
                    }
                    return posted
                }
            }
            return try await group.reduce(into: [MessageView]()) { $0 += $1 }
        }
        #expect(outcomes.count == messageCount)

        // Every delivery queued, and A busy with the first of them (its worker wakes on the
        // queue and polls every 250 ms); then A dies without a word.
        let queued = try await waitUntil("\(messageCount) deliveries queued", timeout: .seconds(15), every: .milliseconds(100)) {
            let deliveries = try await clientA.deliveries(caseId: hubCase.id)
            return (deliveries.count >= messageCount, deliveries.count)
        }
        try await Task.sleep(for: .milliseconds(1200))
        let leasedAtKill = try TestPostgres.psql(
            "SELECT count(*) FROM \(schema).deliveries WHERE lease_until_ms IS NOT NULL AND status = 'pending'")
        let receivedBeforeKill = try receiver.requests(under: prefix).count
        first.crash()
        let killedAt = ContinuousClock.now
        #expect(first.child.process.terminationReason == .uncaughtSignal)
        #expect(Int(leasedAtKill) ?? 0 > 0, "A held no leased delivery when it was killed (\(leasedAtKill)): the test did not set up a takeover")

        // B alone now: it sends A's backlog at once, and A's leased ones when their leases run out.
        let second = try await HubServer.start(in: scratch, environment: environment)
        defer { second.stop() }
        let clientB = HubClient(port: second.port, token: token)
        defer { clientB.close() }
        var deliveries: [DeliveryView] = []
        do {
            _ = try await waitUntil("every delivery delivered by B", timeout: .seconds(180), every: .seconds(1)) {
                deliveries = try await clientB.deliveries(caseId: hubCase.id)
                let open = deliveries.filter { $0.status != "delivered" }
                return (deliveries.count >= messageCount && open.isEmpty, "\(open.count) of \(deliveries.count) not delivered, e.g. \(open.prefix(3))")
            }
        } catch {
            throw HarnessError("\(error); B's stderr: \(second.child.stderr.suffix(3000)); A's stderr: \(first.child.stderr.suffix(2000))")
        }
        let takeover = ContinuousClock.now - killedAt

        #expect(queued == messageCount, "\(queued) deliveries for \(messageCount) messages")
        #expect(deliveries.count == messageCount)
        #expect(deliveries.allSatisfy { $0.status == "delivered" && $0.channel == "webhook" }, "\(deliveries.filter { $0.status != "delivered" })")
        #expect(Set(deliveries.map(\.eventSeq)) == Set(outcomes.map(\.seq)), "the deliveries are not one per posted message")
        #expect(deliveries.allSatisfy { $0.attempts.last?.code.map { (200..<300).contains($0) } ?? false }, "a delivery's last attempt is not a 2xx")

        // The receiver got every event, signed; the ones A was sending when it died may come
        // twice (same webhook-id), which is counted and reported, not required.
        let requests = try receiver.requests(under: prefix)
        let byId = Dictionary(grouping: requests, by: { $0.webhookId ?? "" })
        let notReceived = deliveries.filter { byId[$0.eventId] == nil }
        #expect(notReceived.isEmpty, "the receiver never got \(notReceived.count) events, e.g. \(notReceived.prefix(3))")
        #expect(byId[""] == nil, "requests without a webhook-id: \(byId[""]?.prefix(2) ?? [])")
        #expect(requests.allSatisfy { $0.verified == true }, "unverified: \(requests.filter { $0.verified != true }.prefix(2))")
        let resent = byId.filter { $0.value.count > 1 }
        #expect(Set(byId.keys) == Set(deliveries.map(\.eventId)), "the receiver got events that are not this case's deliveries")

        // The log: one delivery.succeeded per delivery, whoever sent it how often; the chain holds.
        let log = try await clientB.deliveryLog(caseId: hubCase.id)
        let succeeded = Dictionary(grouping: log.filter { $0.type == "delivery.succeeded" }, by: { $0.data.deliveryId ?? "" })
        let wrongCount = deliveries.filter { succeeded[$0.id]?.count != 1 }
        #expect(wrongCount.isEmpty, "\(wrongCount.count) deliveries without exactly one delivery.succeeded entry, e.g. \(wrongCount.prefix(2).map(\.id))")
        let verify = try await clientB.get("/v1/cases/\(hubCase.id)/log/verify")
        let verdict: VerifyView = try verify.decode()
        #expect(verify.status == 200 && verdict.ok, "log/verify on B: \(verify)")

        print(
            "MultiInstanceTests: A killed holding \(leasedAtKill) leased deliveries of \(messageCount) (receiver had \(receivedBeforeKill) requests); "
                + "B delivered all \(takeover) after the kill; \(resent.count) events re-sent (\(requests.count) requests for \(deliveries.count) deliveries); "
                + "whole test \(ContinuousClock.now - started)")
    }

    @Test(.timeLimit(.minutes(3)))
    func twoInstancesStartedTogetherOnAFreshSchemaBothMigrateAndServe() async throws {
        guard let database = TestPostgres.fresh() else { return }
        let (url, schema) = database
        defer { TestPostgres.drop(schema) }
        let scratch = try Scratch("multi-migrate")
        defer { scratch.remove() }
        let environment = scratch.environment(["CASEHUB_DATABASE_URL": url])

        // Both processes exist before either is waited for: they migrate at the same moment.
        let starting = ContinuousClock.now
        let childA = try HubProcess(["serve"], in: scratch, environment: environment)
        defer { childA.stop() }
        let childB = try HubProcess(["serve"], in: scratch, environment: environment)
        defer { childB.stop() }
        let portA = try await Self.listeningPort(of: childA)
        let portB = try await Self.listeningPort(of: childB)
        let startTime = ContinuousClock.now - starting
        #expect(portA != portB)
        for child in [childA, childB] {
            #expect(child.isRunning)
            #expect(!child.stderr.lowercased().contains("error"), "stderr of an instance: \(child.stderr)")
        }

        let token = try await issueAdminToken(in: scratch, environment: environment)
        let clientA = HubClient(port: portA, token: token)
        defer { clientA.close() }
        let clientB = HubClient(port: portB, token: token)
        defer { clientB.close() }
        for client in [clientA, clientB] {
            let ready = try await client.get("/readyz")
            #expect(ready.status == 200, "\(client.baseURL)/readyz: \(ready)")
        }
        let hubCase = try await clientA.createCase(mrn: "RM-MULTI-3")
        let message = try await clientB.postMessage(caseId: hubCase.id, thread: "ppa", body: "dari B")
        #expect(message.seq == 2)
        let entries = try await clientA.allLogEntries(caseId: hubCase.id)
        #expect(entries.map(\.type) == ["case.opened", "message.posted"])
        print("MultiInstanceTests: two instances started together on a fresh schema in \(startTime)")
    }
}

extension MultiInstanceTests {
    /// The port of `casehub serve`'s listening line, its first line on stdout; throws when it
    /// prints something else, exits, or prints nothing within `timeout`.
    static func listeningPort(of child: HubProcess, timeout: Duration = .seconds(60)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        let pattern = #/^casehub listening on http://127\.0\.0\.1:(\d+)$/#
        for _ in 0..<100_000 {
            let output = child.stdout
            if output.hasSuffix("\n"), let first = CommandResult.lines(output).first {
                guard let match = first.wholeMatch(of: pattern), let port = Int(match.1), port > 0 else {
                    throw HarnessError("casehub serve printed \(first.debugDescription) instead of its listening line; stderr: \(child.stderr)")
                }
                return port
            }
            if !child.isRunning {
                child.process.waitUntilExit()
                throw HarnessError("casehub serve exited with status \(child.process.terminationStatus) before listening; stderr: \(child.stderr)")
            }
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("casehub serve printed no listening line within \(timeout); stderr: \(child.stderr)")
    }
}
