import CaseHubTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The harness that starts every child process of the tests (``ChildProcess``).
@Suite struct ChildProcessTests {
    /// Runs `/bin/sh -c SCRIPT` in a scratch folder and answers what it printed.
    func shell(
        _ script: String, environment: [String: String] = ["PATH": "/usr/bin:/bin"], input: String? = nil, in scratch: Scratch
    ) throws -> (process: ChildProcess, stdout: String, stderr: String) {
        let stdin = try input.map { try scratch.write("stdin", $0).path }
        let process = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", script], environment: environment, directory: scratch.url.path,
            standardInput: stdin ?? "/dev/null", standardOutput: scratch.file("stdout").path, standardError: scratch.file("stderr").path)
        process.waitUntilExit()
        let read = { (name: String) in (try? String(contentsOf: scratch.file(name), encoding: .utf8)) ?? "" }
        return (process, read("stdout"), read("stderr"))
    }

    @Test func exitStatusOutputAndErrorsAreKept() throws {
        let scratch = try Scratch("child-exit")
        defer { scratch.remove() }
        let run = try shell("echo out; echo err >&2; exit 3", in: scratch)
        #expect(!run.process.isRunning)
        #expect(run.process.terminationReason == .exit && run.process.terminationStatus == 3)
        #expect(run.stdout == "out\n" && run.stderr == "err\n")
    }

    @Test func theChildRunsInItsFolderWithExactlyItsEnvironmentAndInput() throws {
        let scratch = try Scratch("child-place")
        defer { scratch.remove() }
        let run = try shell(
            "pwd; env | sort | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_='; cat", environment: ["PATH": "/usr/bin:/bin", "CASEHUB_X": "1"],
            input: "masukan\n", in: scratch)
        let folder = scratch.url.resolvingSymlinksInPath().path
        #expect(run.stdout == "\(folder)\nCASEHUB_X=1\nPATH=/usr/bin:/bin\nmasukan\n", "\(run)")
    }

    @Test func aSignalEndingTheChildIsReportedAndNoSignalGoesToAReapedOne() async throws {
        let scratch = try Scratch("child-signal")
        defer { scratch.remove() }
        let process = try ChildProcess(executable: "/bin/sleep", arguments: ["30"], environment: [:])
        #expect(process.isRunning)
        process.send(SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM)
        process.send(SIGKILL)  // reaped: nothing is sent, nothing fails
        #expect(process.terminationStatus == SIGTERM)
    }

    /// The child holds only its standard input, output and error: a descriptor the test
    /// process holds without close-on-exec does not leak into it.
    @Test func theChildInheritsNoOtherDescriptor() throws {
        let scratch = try Scratch("child-fds")
        defer { scratch.remove() }
        let held = open(try scratch.write("held", "x").path, O_RDONLY)
        #expect(held > 2)
        defer { close(held) }
        // What each of the shell's descriptors 0, 1, 2 and `held` names, where it has one.
        let run = try shell("for fd in 0 1 2 \(held); do readlink /proc/$$/fd/$fd; done; true", in: scratch)
        #expect(run.stdout == "/dev/null\n\(scratch.file("stdout").path)\n\(scratch.file("stderr").path)\n", "\(run)")
    }

    /// A child someone else reaped has ended, its status unknown: waiting never hangs on it.
    @Test(.timeLimit(.minutes(1))) func aChildReapedElsewhereCountsAsEnded() throws {
        let process = try ChildProcess(executable: "/bin/true", arguments: [], environment: [:])
        var status: Int32 = 0
        #expect(waitpid(process.processIdentifier, &status, 0) == process.processIdentifier)
        process.waitUntilExit()
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 255)
    }

    @Test func aMissingExecutableIsAnError() {
        #expect(throws: ChildProcessError.self) {
            _ = try ChildProcess(executable: "/nonexistent/casehub", arguments: [], environment: [:])
        }
    }

    /// Foundation's `Process.run()` crashes the test process now and then on Linux: no test
    /// may start a child with it.
    @Test func noTestStartsAChildWithFoundationsProcess() throws {
        let tests = CaseHubBinary.packageRoot.appendingPathComponent("Tests")
        let files = try #require(FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 10)
        let users = try files.filter { try String(contentsOf: $0, encoding: .utf8).contains(#/[^A-Za-z_]Process\(\)/#) }
        #expect(users.isEmpty, "\(users.map(\.lastPathComponent))")
    }
}
