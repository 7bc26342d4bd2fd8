import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, which Prometheus and Alertmanager take as "reload" (and `systemctl reload`
/// sends): alertbridge does not reload, and the signal's default action would end it on
/// the spot, cutting pages in flight, which the next start sends again. It is said in the
/// log and otherwise ignored; the server goes on with the configuration it started with.
struct HangupSignal: Service {
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            logger.warning("""
                SIGHUP: alertbridge does not reload its configuration and goes on with the one it started with; \
                to apply changed files, run alertbridge check, then restart it (SIGTERM lets pages in flight finish)
                """)
        }
    }
}
