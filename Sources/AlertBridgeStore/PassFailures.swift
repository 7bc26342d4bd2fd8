import AlertBridgeCore
import Logging
import Synchronization

/// How a service loop (the dispatcher, the escalation engine, the heartbeat monitor) logs
/// its passes failing: when they start to, once a minute while they go on, with how many
/// failed, and when they work again.
///
/// On a full disk each failed pass logged a line, and pages and writes woke the loops
/// again and again: up to 149 error lines a second, onto the disk that was full
/// (black-box round 25). The metric `alertbridge_store_failures_total` still counts each.
public struct PassFailures {
    /// `delivery pass`, `escalation pass`: what the log lines name.
    public let pass: String
    private var failing: (since: ContinuousClock.Instant, lastLogged: ContinuousClock.Instant, count: Int)?

    public static let reminder: Duration = .seconds(60)
    static let retryDelay: Duration = .seconds(1)

    public init(_ pass: String) {
        self.pass = pass
    }

    public mutating func failed(_ error: any Error, logger: Logger, now: ContinuousClock.Instant = .now) {
        guard var state = failing else {
            failing = (now, now, 1)
            logger.error("\(pass) failed; retrying", metadata: ["error": "\(error)"])
            return
        }
        state.count += 1
        if now - state.lastLogged >= Self.reminder {
            state.lastLogged = now
            logger.error("\(pass) still failing; retrying", metadata: [
                "failures": "\(state.count)", "for": "\(DurationText.formatSeconds(now - state.since))", "error": "\(error)"])
        }
        failing = state
    }

    /// A loop's failed pass: logged as above, then ``retryDelay`` before the next, not
    /// sooner when a new page, incident or ping wakes the loop (each pass would be another
    /// write that fails).
    public mutating func failedThenWait(_ error: any Error, logger: Logger) async {
        failed(error, logger: logger)
        try? await Task.sleep(for: Self.retryDelay)
    }

    public mutating func succeeded(logger: Logger, now: ContinuousClock.Instant = .now) {
        guard let state = failing else { return }
        failing = nil
        logger.notice("\(pass) works again", metadata: ["failures": "\(state.count)", "for": "\(DurationText.formatSeconds(now - state.since))"])
    }
}

/// ``PassFailures`` for work that fails on several tasks at once (the dispatcher recording
/// the outcomes of its concurrent deliveries): one log line as failures start, not one per
/// delivery per retry.
public final class SharedPassFailures: Sendable {
    private let state: Mutex<PassFailures>

    public init(_ pass: String) {
        state = Mutex(PassFailures(pass))
    }

    public func failed(_ error: any Error, logger: Logger) {
        state.withLock { $0.failed(error, logger: logger) }
    }

    public func succeeded(logger: Logger) {
        state.withLock { $0.succeeded(logger: logger) }
    }
}
