import Foundation
import Synchronization

/// A program a test started: the CLI under test, `alertbridge serve`, PostgreSQL's tools,
/// Alertmanager, aiosmtpd. The one way the tests start programs.
///
/// Not Foundation's `Process`, for two reasons seen in full test runs. Its `run()` on Linux
/// lists `/proc/self/fd` by copying each directory entry at full `d_name` size, reading past
/// the end of the listing's buffer, and the test process crashed there (SIGSEGV) now and
/// then. And it learns that a child exited when the child's end of a socket pair closes, so
/// a grandchild that inherited that end (started by another test at the same moment) kept
/// a test waiting for as long as it lived. Nor `system(3)`: it passes every descriptor on,
/// and SwiftNIO opens its sockets without close-on-exec — a PostgreSQL server started that
/// way held 14 of the test process's sockets, among them a receiver's listening socket, so
/// that port stayed taken and the receiver could not come back on it.
///
/// Here the child is started with `posix_spawn` through bash, which closes every
/// descriptor it inherited before it runs the program, with no blocked signals
/// and the usual stop signals at their defaults, in a process group of its own (a Ctrl-C on
/// the test run is for the test process; ``ParentWatch`` stops what it leaves). A thread
/// waits for the exit with `waitid`, and reaps it under the same lock that ``signal(_:)``
/// takes, so a signal never reaches another process that got the pid after it.
public final class ChildProcess: Sendable {
    /// How the program ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exit(Int32)
        case signal(Int32)

        /// A shell's `$?`: the exit code, or 128 plus the signal.
        public var status: Int32 {
            switch self {
            case .exit(let code): code
            case .signal(let signal): 128 + signal
            }
        }

        public var description: String {
            switch self {
            case .exit(let code): "exit \(code)"
            case .signal(let signal): "signal \(signal)"
            }
        }
    }

    public struct SpawnFailure: Error, CustomStringConvertible {
        public var description: String
    }

    public let pid: pid_t
    private let state = Mutex<State>(State())

    private struct State {
        var termination: Termination?
        var waiters: [@Sendable (Termination) -> Void] = []
    }

    private init(pid: pid_t) { self.pid = pid }

    /// Starts `executable` with `arguments`: stdin is `/dev/null`; stdout and stderr are
    /// appended to the files `output` and `errors` (created if missing), or discarded.
    /// - Parameter environment: the child's whole environment; `nil` passes this process's on.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             output: String? = nil, errors: String? = nil) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errors ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = cStrings(["/bin/bash", "-c", closeInherited + #"exec "$0" "$@""#, executable] + arguments)
        defer { argv.forEach { free($0) } }
        let envp = environment.map { cStrings($0.map { "\($0.key)=\($0.value)" }) }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, "/bin/bash", &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, "/bin/bash", &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw SpawnFailure(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        let child = ChildProcess(pid: pid)
        Thread.detachNewThread { child.reap() }
        return child
    }

    public var isRunning: Bool { state.withLock { $0.termination == nil } }

    /// Sends `signal` if the program still runs.
    public func signal(_ signal: Int32) {
        state.withLock { if $0.termination == nil { kill(pid, signal) } }
    }

    /// Sends SIGTERM if the program still runs.
    public func terminate() { signal(SIGTERM) }

    /// Waits for the program to end.
    public func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            whenEnded { continuation.resume(returning: $0) }
        }
    }

    /// Waits for the program to end, blocking the calling thread (for cleanup that cannot await).
    @discardableResult
    public func waitBlocking() -> Termination {
        let ended = DispatchSemaphore(value: 0)
        let termination = Mutex<Termination?>(nil)
        whenEnded { value in
            termination.withLock { $0 = value }
            ended.signal()
        }
        ended.wait()
        return termination.withLock { $0! }
    }

    /// Waits up to `grace` after SIGTERM, then sends SIGKILL, and waits for the end.
    @discardableResult
    public func stop(grace: Duration = .seconds(5)) -> Termination {
        terminate()
        let deadline = ContinuousClock.now + grace
        while isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        signal(SIGKILL)
        return waitBlocking()
    }

    private func whenEnded(_ body: @escaping @Sendable (Termination) -> Void) {
        let ended: Termination? = state.withLock { state in
            if state.termination == nil { state.waiters.append(body) }
            return state.termination
        }
        if let ended { body(ended) }
    }

    /// Waits for the exit without reaping, then reaps under the lock.
    private func reap() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        let (termination, waiters) = state.withLock { state -> (Termination, [@Sendable (Termination) -> Void]) in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            let termination: Termination = status & 0x7f == 0 ? .exit((status >> 8) & 0xff) : .signal(status & 0x7f)
            state.termination = termination
            defer { state.waiters = [] }
            return (termination, state.waiters)
        }
        for waiter in waiters { waiter(termination) }
    }

    /// A script prefix that closes every descriptor but stdin, stdout and stderr. (Not by
    /// silencing the loop's errors: bash keeps the real stderr on a descriptor of its own
    /// while `2>/dev/null` applies, the loop would close that one too, and the program's
    /// stderr would be lost. The `-e` skips the listing's own descriptor, closed by then.)
    private static let closeInherited = #"for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && [ -e "$f" ] && eval "exec $n>&-"; done; "#

    private static func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
        strings.map { strdup($0) } + [nil]
    }
}
