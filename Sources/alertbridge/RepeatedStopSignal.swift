import Logging
import ServiceLifecycle
import UnixSignals

/// A second SIGTERM or SIGINT while `serve` shuts down: the operator will not wait for the
/// pages in flight, each of which may take up to its connector's `timeout` (a Ctrl-C at a
/// terminal, pressed again). It ends the graceful shutdown by throwing, which cancels the
/// service group: the sends in flight are cut short and their pages go out again, as after
/// SIGKILL, but the store is closed and the log says so. Accepted alerts and timers are
/// committed before they are answered or due, so nothing else is lost.
///
/// Listed first in the group, so the group shuts it down last: it listens through the
/// whole of the server's shutdown.
struct RepeatedStopSignal: Service {
    let logger: Logger

    /// Why `serve` stopped without waiting; the command's exit status is 1.
    struct StoppedAtOnce: Error, CustomStringConvertible {
        let signal: UnixSignal
        var description: String {
            "stopped at once on a second \(signal): pages in flight were cut short and go out again"
        }
    }

    func run() async throws {
        var seen = 0
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint).cancelOnGracefulShutdown() {
            seen += 1
            if seen == 1 {
                logger.notice("\(signal): shutting down; send it again to stop at once, cutting pages in flight short")
            } else {
                throw StoppedAtOnce(signal: signal)
            }
        }
    }
}
