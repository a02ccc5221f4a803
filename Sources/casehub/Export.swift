import ArgumentParser
import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a case's full log to stdout.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, fhir }

    @OptionGroup var options: CommonOptions

    @Argument(help: "The case id.")
    var caseId: String

    @Option(
        help: """
            jsonl: one log entry per line, as the API shows them. fhir: one FHIR R4 Bundle (collection) of the case, \
            its participants, care plan, messages and every log entry.
            """)
    var format: Format = .jsonl

    func run() async throws {
        let configuration = try options.loadConfiguration()
        let store = try await options.openStore(configuration, logger: options.logger(configuration), inspecting: true)
        guard let hubCase = try await store.getCase(id: caseId) else { throw Fatal.exit(2, "no case \(caseId)") }
        switch format {
        case .jsonl:
            try await forEachLogPage(of: store) { entries in
                var out: [UInt8] = []
                for entry in entries {
                    entry.json.write(into: &out)
                    out.append(UInt8(ascii: "\n"))
                }
                write(out)
            }
        case .fhir:
            try await exportFHIR(hubCase, from: store, policy: configuration.access)
        }
    }

    /// The bundle is written as it is made: the case's own resources, then every message of
    /// every thread, then every log entry, a page at a time. The hub may be running: the
    /// export stops at the log's newest entry when it began, and reads the participants after
    /// that, so every message and entry it writes, and everyone who acted in them, is in it.
    /// On a failure the output stops where it was (and the exit status says so).
    private func exportFHIR(_ hubCase: Case, from store: any Store, policy: AccessPolicy) async throws {
        let head = try await store.logSeq(caseId: caseId)
        var bundle = FHIRCaseBundle(
            case: hubCase, participants: try await store.participants(caseId: caseId), milestones: try await store.milestones(caseId: caseId),
            policy: policy, timestamp: Timestamp.now())
        var out: [UInt8] = []
        bundle.open(into: &out)
        write(out)
        for thread in ThreadName.allCases {
            var after: Int?
            while true {
                let page = try await store.messages(caseId: caseId, thread: thread, query: MessageQuery(after: after, before: nil, limit: 200))
                out.removeAll(keepingCapacity: true)
                for rendered in page.messages where rendered.seq <= head {
                    guard let message = Message(json: rendered.json) else {
                        throw Fatal.exit(1, "message at seq \(rendered.seq) of the \(thread.rawValue) thread could not be read")
                    }
                    bundle.add(message, into: &out)
                }
                write(out)
                guard page.hasMore, let last = page.messages.last, last.seq < head else { break }
                after = last.seq
            }
        }
        try await forEachLogPage(of: store, upTo: head) { entries in
            out.removeAll(keepingCapacity: true)
            for entry in entries { bundle.add(entry, into: &out) }
            write(out)
        }
        out.removeAll(keepingCapacity: true)
        bundle.close(into: &out)
        out.append(UInt8(ascii: "\n"))
        write(out)
    }

    /// Every entry of the case's log (up to `head`), in seq order, a page at a time.
    private func forEachLogPage(of store: any Store, upTo head: Int = .max, _ body: ([LogEntry]) throws -> Void) async throws {
        var after = 0
        while true {
            let page = try await store.logEntries(caseId: caseId, after: after, limit: 1000, threads: Set(ThreadName.allCases))
            try body(page.entries.filter { $0.seq <= head })
            guard page.hasMore, let last = page.entries.last, last.seq < head else { return }
            after = last.seq
        }
    }

    private func write(_ bytes: [UInt8]) {
        if !bytes.isEmpty { FileHandle.standardOutput.write(Data(bytes)) }
    }
}
