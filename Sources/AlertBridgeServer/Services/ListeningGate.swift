import ServiceLifecycle
import Synchronization

/// Opened once the HTTP server listens. The escalation engine, the dispatcher and the
/// heartbeat monitor wait for it: a start that fails to listen (its port taken, as in a
/// crash loop beside a running instance) must not fire timers, claim pages or mark
/// heartbeats missed, since it will not stay up to deliver them.
final class ListeningGate: Sendable {
    private struct State {
        var open = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters = [:] }
            return s.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Returns once open, or as soon as the task is cancelled (the start failed).
    func wait() async {
        let id = state.withLock { s in
            defer { s.next += 1 }
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                let now = state.withLock { s in
                    if s.open || Task.isCancelled { return true }
                    s.waiters[id] = waiter
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Runs `service` once the gate opens; not at all if the start fails first.
struct AfterListening: Service {
    let gate: ListeningGate
    let service: any Service

    /// A stop asked for before the server listened ends the wait too.
    func run() async throws {
        await cancelWhenGracefulShutdown { await gate.wait() }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
