import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Tells the other instances that this one is alive, so that a page it claimed and never
/// finished (it was killed mid-send) is sent again seconds after it died, not when the
/// claim's lease ends two minutes later.
///
/// It holds a session advisory lock on a random key of its own, on a connection of its
/// own. PostgreSQL lets go of the lock the moment that session ends, which a killed
/// process's does at once: the kernel closes its socket. Claims are stamped with the key
/// while the lock is held (``stamp()``), and any instance's next claim takes back a pending
/// row whose key no session holds (``PostgresStore/ReleaseOrphanedClaims``). What the
/// lock cannot see is left to the lease, as before: a frozen instance keeps its session and
/// its claims, and a host that vanished without closing its socket keeps its session until
/// PostgreSQL's TCP keepalive ends it.
///
/// Started by the first claim, not when the store opens: only a dispatcher claims, and
/// stores opened for anything else should not cost a connection each.
final class InstanceLock: Sendable {
    /// Random, so two instances (or one instance before and after a restart) never share
    /// it; below 2^62, so that `pg_locks`' two unsigned 32-bit halves put it together again
    /// as the same positive `bigint`.
    let key = Int64.random(in: 1 ..< (1 << 62))

    /// How long the first claim waits for the first try to take the lock before it claims
    /// on the lease alone: the connect timeout covers connecting, this a server that
    /// accepted the connection and then did not answer.
    static let firstTryPatience: Duration = .seconds(5)

    private struct State {
        var keeper: Task<Void, Never>?
        /// Claims waiting for the first try; nil once it ended (or took too long).
        var waiting: [CheckedContinuation<Void, Never>]? = []
        var closed = false
    }

    private let connect: @Sendable () async throws -> PostgresConnection
    private let logger: Logger
    private let held = Atomic<Bool>(false)
    private let state = Mutex(State())

    init(logger: Logger, connect: @escaping @Sendable () async throws -> PostgresConnection) {
        self.logger = logger
        self.connect = connect
    }

    /// The key to stamp a claim with: this instance's while it holds its lock, else nil (the
    /// claim then lives by its lease alone, as nobody could tell that this instance is
    /// alive). The first call starts holding the lock and waits for the first try.
    func stamp() async -> Int64? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                guard !state.closed, state.waiting != nil else { return true }
                state.waiting?.append(continuation)
                if state.keeper == nil { state.keeper = Task { await keep() } }
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return held.load(ordering: .acquiring) ? key : nil
    }

    /// Lets go of the lock (other instances may then take back this one's claims).
    func close() async {
        let keeper = state.withLock { state in
            state.closed = true
            return state.keeper
        }
        keeper?.cancel()
        await keeper?.value
        firstTryEnded()
    }

    /// Takes the lock, holds it while its connection lives, and takes it again (a new
    /// connection, the same key) after the connection was lost, until cancelled.
    private func keep() async {
        let patience = Task {
            try? await Task.sleep(for: Self.firstTryPatience)
            firstTryEnded()
        }
        defer { patience.cancel() }
        var failing = false
        while !Task.isCancelled {
            do {
                let connection = try await connect()
                let locked = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                    .collect().first?.decode(Bool.self) ?? false
                guard locked else {
                    // Only a session of this process could hold it; a reconnect would find it free.
                    try? await connection.close()
                    throw StoreError.unavailable("the instance lock \(key) is held by another session")
                }
                held.store(true, ordering: .releasing)
                firstTryEnded()
                let news = failing ? "holding the instance lock again" : "holding the instance lock"
                logger.notice("\(news): pages this instance claims are sent again soon if it dies", metadata: ["instance": "\(key)"])
                failing = false
                await withTaskCancellationHandler {
                    _ = try? await connection.closeFuture.get()
                } onCancel: {
                    _ = connection.close() as EventLoopFuture<Void>
                }
                held.store(false, ordering: .releasing)
                if Task.isCancelled { return }
                failing = true
                logger.warning("lost the instance lock's connection to PostgreSQL: until it is back, pages this instance claims wait out their lease if it dies")
            } catch {
                firstTryEnded()
                if Task.isCancelled { return }  // closed while connecting
                if !failing {
                    logger.warning("cannot take the instance lock: pages this instance claims wait out their lease if it dies", metadata: [
                        "error": "\(error)",
                    ])
                }
                failing = true
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func firstTryEnded() {
        let waiting = state.withLock { state in
            defer { state.waiting = nil }
            return state.waiting ?? []
        }
        for continuation in waiting { continuation.resume() }
    }
}
