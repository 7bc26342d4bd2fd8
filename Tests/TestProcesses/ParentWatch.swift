import Foundation

/// Stops what a test started once the test process is gone, however it ended.
///
/// Tests stop their servers themselves (`defer`, `atexit`), but a crash, a SIGKILL or a
/// run its caller gave up on skips all of that and leaves PostgreSQL, Alertmanager or an
/// `alertbridge serve` listening. Each watch is a small shell loop that ignores the
/// signals a Ctrl-C or a stopping CI job sends the test run's process group: every
/// second it checks that the test process still exists and that what it guards still
/// does; when the test process is gone it cleans up, and when the guarded thing went
/// first it just ends. A normal run so leaves no watcher behind, and a watcher never acts
/// on a pid that was reused after its child exited and was reaped.
public enum ParentWatch {
    /// Sends SIGKILL to `pid` (a child of this process), and removes `directory` if given,
    /// when this process ends while the child still runs.
    public static func kill(_ pid: pid_t, removing directory: String? = nil) {
        var cleanup = "kill -KILL \(pid)"
        if let directory { cleanup += "; rm -rf \(quoted(directory))" }
        start(while: "kill -0 \(pid)", cleanup: cleanup)
    }

    /// Runs the shell command `cleanup` when this process ends while the shell command
    /// `condition` still succeeds (checked every second).
    public static func start(while condition: String, cleanup: String) {
        // The condition again before the cleanup: the guarded child may have ended (and its
        // pid been reused) during the last second's sleep.
        let script = "trap '' HUP INT TERM; while kill -0 \(getpid()); do \(condition) || exit 0; sleep 1; done; "
            + "\(condition) && { \(cleanup); }"
        // In the background of a shell that ends at once, so that it outlives nothing of
        // this process's but the pid it polls.
        _ = try? ChildProcess.start("/bin/bash", ["-c", #"bash -c "$1" watcher &"#, "start", script])
    }

    /// `text` as one shell word.
    public static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
