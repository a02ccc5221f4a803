#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A child process the tests start: a `casehub` under test, a Python peer, `sqlite3` or `psql`.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3) now and then crashes the whole test
/// process: while it lists `/proc/self/fd` it copies a 256-byte name out of a shorter directory
/// record and may read past the end of a mapped page (swift-corelibs-foundation pull request
/// 5472). This type starts children with `posix_spawn` instead, and offers the few members of
/// `Process` the tests use. Standard input, output and error go to files (or `/dev/null`); the
/// child inherits no other descriptor and starts with default signal handling.
public final class ChildProcess: Sendable {
    public enum TerminationReason: Sendable, Equatable {
        case exit
        case uncaughtSignal
    }

    public let processIdentifier: pid_t
    /// The `waitpid` status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` (an absolute path) with exactly `arguments` and `environment`.
    public init(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
        standardInput: String = "/dev/null", standardOutput: String = "/dev/null", standardError: String = "/dev/null"
    ) throws {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        try Self.check(posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0), "open \(standardInput)")
        let writing = O_WRONLY | O_CREAT | O_APPEND
        try Self.check(posix_spawn_file_actions_addopen(&actions, 1, standardOutput, writing, 0o644), "open \(standardOutput)")
        try Self.check(posix_spawn_file_actions_addopen(&actions, 2, standardError, writing, 0o644), "open \(standardError)")
        try SpawnExtensions.closeFrom(3, &actions)
        if let directory { try SpawnExtensions.changeDirectory(to: directory, &actions) }

        // A thread of the test process may block signals (the child would inherit its mask) or
        // ignore them (SIGPIPE): the child starts as a shell would start it.
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let spawned = (argv + [nil]).withUnsafeBufferPointer { arguments in
            (envp + [nil]).withUnsafeBufferPointer { environment in
                posix_spawn(&pid, executable, &actions, &attributes, arguments.baseAddress!, environment.baseAddress!)
            }
        }
        try Self.check(spawned, "start \(executable)")
        processIdentifier = pid
    }

    /// True until the child has ended (it is reaped on the first call that sees it ended).
    public var isRunning: Bool { status == nil }

    /// Blocks until the child has ended.
    public func waitUntilExit() {
        while isRunning { usleep(2_000) }
    }

    /// The exit status, or the signal that ended the child; 0 while it runs.
    public var terminationStatus: Int32 {
        guard let status else { return 0 }
        return Self.exitedNormally(status) ? (status >> 8) & 0xff : status & 0x7f
    }

    public var terminationReason: TerminationReason {
        status.map { Self.exitedNormally($0) ? .exit : .uncaughtSignal } ?? .exit
    }

    /// Sends `signal` while the child runs (never to a reaped PID, which may be reused).
    public func send(_ signal: Int32) {
        reaped.withLock { status in
            if status == nil { kill(processIdentifier, signal) }
        }
    }

    /// The `waitpid` status, reaping the child if it has just ended; nil while it runs.
    private var status: Int32? {
        reaped.withLock { status in
            if status != nil { return status }
            var raw: Int32 = 0
            switch waitpid(processIdentifier, &raw, WNOHANG) {
            case processIdentifier: status = raw
            // Reaped by someone else: ended, its status unknown (reported as exit status 255).
            case -1 where errno == ECHILD: status = 255 << 8
            default: break
            }
            return status
        }
    }

    private static func exitedNormally(_ status: Int32) -> Bool { status & 0x7f == 0 }

    private static func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw ChildProcessError("cannot \(what): \(String(cString: strerror(result)))") }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `…_addchdir_np` (2.29), looked
/// up at run time: Swift's Glibc module declares neither.
private enum SpawnExtensions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static func closeFrom(_ descriptor: Int32, _ actions: inout posix_spawn_file_actions_t) throws {
        let function = try lookUp("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self)
        guard function(&actions, descriptor) == 0 else { throw ChildProcessError("cannot close the child's descriptors") }
    }

    static func changeDirectory(to directory: String, _ actions: inout posix_spawn_file_actions_t) throws {
        let function = try lookUp("posix_spawn_file_actions_addchdir_np", as: ChangeDirectory.self)
        guard function(&actions, directory) == 0 else { throw ChildProcessError("cannot start the child in \(directory)") }
    }

    private static func lookUp<Function>(_ name: String, as type: Function.Type) throws -> Function {
        guard let symbol = dlsym(nil, name) else { throw ChildProcessError("\(name) is missing: glibc 2.34 or later is needed") }
        return unsafeBitCast(symbol, to: type)
    }
}
