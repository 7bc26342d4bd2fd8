import Foundation

/// Shell commands for the tests, run so that they inherit nothing of the test process.
///
/// SwiftNIO opens its sockets without close-on-exec, and `system(3)` passes every open
/// descriptor on: `pg_ctl start` run that way left PostgreSQL holding whatever the tests
/// had open at that moment — a receiver's listening socket (so the port stayed taken and
/// the receiver could not come back on it: "Address already in use"), or the socket
/// Foundation watches to learn that a child exited (so a test waited on it for good).
/// `Process` closes them itself; what runs through `system(3)` must do it first.
public enum Shell {
    /// A script prefix that closes every descriptor but stdin, stdout and stderr. (Not by
    /// silencing the loop's errors: bash keeps the real stderr on a descriptor of its own
    /// while `2>/dev/null` applies, the loop would close that one too, and the command's
    /// stderr would be lost. The `-e` skips the listing's own descriptor, closed by then.)
    static let closeInherited = #"for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && [ -e "$f" ] && eval "exec $n>&-"; done; "#

    /// Runs `command` with bash, as `system(3)` does (only the calling thread waits, in
    /// `waitpid`), once the shell has closed what it inherited. Returns `system`'s status.
    public static func run(_ command: String) -> Int32 {
        system("exec /bin/bash -c " + ParentWatch.quoted(closeInherited + command))
    }
}
