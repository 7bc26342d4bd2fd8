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

    /// The instance locks held now in this database (`key`), with the session holding each
    /// (`pid`): the key put together again from `pg_locks`' two halves.
    static let heldSQL = """
        SELECT (classid::bigint << 32) | objid::bigint AS key, pid FROM pg_locks
        WHERE locktype = 'advisory' AND objsubid = 1 AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """

    /// How long the first claim waits for the first try to take the lock before it claims
    /// on the lease alone: the connect timeout covers connecting, this a server that
    /// accepted the connection and then did not answer.
    static let firstTryPatience: Duration = .seconds(5)

    private struct State {
        var keeper: Task<Void, Never>?
        /// The connection that takes or holds the lock, for ``close()``.
        var connection: PostgresConnection?
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
    ///
    /// It closes the lock's connection itself rather than leave that to cancellation, and
    /// the lock's query gives up when its connection closes (``lock(on:)``): a store
    /// closed while its lock was being taken hung its `close()` (a test of 40 such closes
    /// hung one run in a few).
    func close() async {
        let (keeper, connection) = state.withLock { state in
            state.closed = true
            return (state.keeper, state.connection)
        }
        try? await connection?.close()
        keeper?.cancel()
        await keeper?.value
        firstTryEnded()
    }

    private var closed: Bool { state.withLock { $0.closed } }

    /// Takes the lock, holds it while its connection lives, and takes it again (a new
    /// connection, the same key) after the connection was lost, until closed.
    private func keep() async {
        let patience = Task {
            try? await Task.sleep(for: Self.firstTryPatience)
            firstTryEnded()
        }
        defer { patience.cancel() }
        var failing = false
        while !closed {
            do {
                let connection = try await connect()
                let kept = state.withLock { state in
                    if !state.closed { state.connection = connection }
                    return !state.closed
                }
                defer { state.withLock { $0.connection = nil } }
                do {
                    guard kept else { throw CancellationError() }
                    // Only a session of this process could hold it; a reconnect would find it free.
                    guard try await lock(on: connection) else {
                        throw StoreError.unavailable("the instance lock \(key) is held by another session")
                    }
                } catch {
                    // A connection must be closed before it is let go (PostgresNIO asserts it:
                    // a debug build stopped here when a store closed during the lock's query).
                    try? await connection.close()
                    throw error
                }
                held.store(true, ordering: .releasing)
                firstTryEnded()
                let news = failing ? "holding the instance lock again" : "holding the instance lock"
                logger.notice("\(news): pages this instance claims are sent again soon if it dies", metadata: ["instance": "\(key)"])
                failing = false
                _ = try? await connection.closeFuture.get()
                held.store(false, ordering: .releasing)
                if closed { return }
                failing = true
                logger.warning("lost the instance lock's connection to PostgreSQL: until it is back, pages this instance claims wait out their lease if it dies")
            } catch {
                firstTryEnded()
                if closed { return }
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

    /// Takes the lock on `connection`, or fails once the connection closes first: a query
    /// written to a connection that closed meanwhile is never answered (PostgresNIO 1.33.2
    /// writes it without a promise), and ``close()`` may close it at any moment.
    private func lock(on connection: PostgresConnection) async throws -> Bool {
        let key = self.key, logger = self.logger
        return try await withCheckedThrowingContinuation { continuation in
            let answer = FirstAnswer(continuation)
            Task {
                do {
                    answer.give(.success(try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                        .collect().first?.decode(Bool.self) ?? false))
                } catch {
                    answer.give(.failure(error))
                }
            }
            connection.closeFuture.whenComplete { _ in
                answer.give(.failure(StoreError.unavailable("the instance lock's connection closed")))
            }
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
