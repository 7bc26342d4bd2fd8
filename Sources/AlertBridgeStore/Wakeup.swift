import AlertBridgeCore
import Synchronization

/// Lets one sleeping service loop be woken early by a write that makes work due.
///
/// The escalation engine sleeps until its earliest due time; a new incident whose
/// due time is earlier, or a page written to the outbox, signals it instead of
/// waiting for a polling cycle. A signal that arrives while nobody waits is kept,
/// so it is never lost between "checked the store" and "went to sleep".
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// A signal is waiting to be taken (for tests: whether a write signalled).
    var isPending: Bool { state.withLock { $0.pending } }

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when signalled, after `timeout`, or when the task is cancelled. One waiter at a time.
    public func wait(timeout: Duration) async {
        if state.withLock({ state in defer { state.pending = false }; return state.pending }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

extension Wakeup {
    /// The wait when something is due that a pass could not take: another transaction
    /// holds it (PostgreSQL's `SKIP LOCKED`, an ingest merging into the incident).
    public static let contended = Duration.milliseconds(100)

    /// How long a service loop sleeps after a pass that took `taken` items: until the
    /// next due time, at most `idle`; ``contended`` rather than not at all when something
    /// is already due but the pass took nothing, so the loop does not spin on the
    /// database for as long as another transaction holds the row.
    public static func delay(afterTaking taken: Int, nextDue: Timestamp?, now: Timestamp, idle: Duration) -> Duration {
        guard let nextDue else { return idle }
        let untilDue = min(idle, .milliseconds(max(0, nextDue.milliseconds - now.milliseconds)))
        return untilDue == .zero && taken == 0 ? contended : untilDue
    }
}
