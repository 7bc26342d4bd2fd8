import AlertBridgeCore
import Synchronization

/// Group commit for any store write: items submitted while a commit runs wait for the
/// next one, so under load one transaction (one fsync) answers many callers, and each
/// caller gets back the results of its own items once the transaction holding them
/// committed.
///
/// It only queues and hands out batches; whoever owns the transaction commits them, one
/// batch per ``commitNext(_:)``. SQLite's writer thread takes the next batch itself the
/// moment a commit returns: with a task scheduling each batch instead, the writer waited
/// for a pool thread busy with requests, and at one alert per request both CPUs sat
/// idle 12–13% of the time (bench/README.md). Async committers (PostgreSQL, the
/// delivery recorder) use ``submit(_:now:commit:)``, which commits in a task.
public final class Batcher<Item: Sendable, Result: Sendable>: Sendable {
    /// A class, not a struct: the queue's array copies and destroys its elements through
    /// their value witnesses, and a generic struct's looked up the metadata of `[Item]`
    /// and of the continuation each time, about 5,900 instructions of a single-alert
    /// request (callgrind, 2% of its work); a reference is retained and released.
    private final class Waiter {
        let items: [Item]
        let now: Timestamp
        let continuation: CheckedContinuation<[Result], any Error>

        init(items: [Item], now: Timestamp, continuation: CheckedContinuation<[Result], any Error>) {
            self.items = items
            self.now = now
            self.continuation = continuation
        }
    }

    private struct State {
        var pending: [Waiter] = []
        /// Set from the submission that finds nobody committing until a batch finds
        /// nothing more waiting; while set, no new committer is started.
        var committing = false
        var transactions = 0
    }

    private let state = Mutex(State())
    private let maxBatch: Int

    /// - Parameter maxBatch: items per transaction at most (whole submissions; a larger
    ///   single submission goes alone), to bound how long one commit keeps callers waiting.
    public init(maxBatch: Int = 20_000) {
        self.maxBatch = maxBatch
    }

    /// Queues `items` and returns their results once committed. When nobody is
    /// committing, `startCommitting` runs (once the items are queued) and must see to it
    /// that ``commitNext(_:)`` is called.
    /// - Parameter now: when the caller submitted; a batch is committed at the latest of
    ///   its callers' times.
    public func submit(_ items: [Item], now: Timestamp, startCommitting: () -> Void) async throws -> [Result] {
        if items.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.pending.append(Waiter(items: items, now: now, continuation: continuation))
                defer { state.committing = true }
                return !state.committing
            }
            if start { startCommitting() }
        }
    }

    /// Queues `items` and commits in a task: for committers that are themselves async.
    public func submit(_ items: [Item], now: Timestamp,
                       commit: @escaping @Sendable ([Item], Timestamp) async throws -> [Result]) async throws -> [Result] {
        try await submit(items, now: now) {
            Task {
                var more = true
                while more {
                    let batch = takeBatch()
                    do { more = answer(batch, with: try await commit(batch.flatMap(\.items), Self.time(of: batch))) } catch {
                        more = answer(batch, with: error)
                    }
                }
            }
        }
    }

    /// Commits the next batch of waiting items with `commit` (one transaction) and
    /// answers their callers. Returns whether more are waiting; the caller then calls this
    /// again, after letting any other work of its own go first, so that a storm's
    /// batches do not starve an operator's acknowledgement queued behind them.
    public func commitNext(_ commit: ([Item], Timestamp) throws -> [Result]) -> Bool {
        let batch = takeBatch()
        do { return answer(batch, with: try commit(batch.flatMap(\.items), Self.time(of: batch))) } catch { return answer(batch, with: error) }
    }

    private static func time(of batch: [Waiter]) -> Timestamp {
        batch.dropFirst().reduce(batch[0].now) { max($0, $1.now) }
    }

    /// Transactions committed so far: fewer than submissions whenever batching happens.
    public var transactions: Int { state.withLock { $0.transactions } }

    /// Submissions waiting for a transaction.
    var waiting: Int { state.withLock { $0.pending.count } }

    private func takeBatch() -> [Waiter] {
        state.withLock { state in
            var taken = 0
            var count = 0
            while taken < state.pending.count, count == 0 || count + state.pending[taken].items.count <= maxBatch {
                count += state.pending[taken].items.count
                taken += 1
            }
            defer { state.pending.removeFirst(taken) }
            return Array(state.pending.prefix(taken))
        }
    }

    /// Hands each waiter its own results; returns whether more are waiting (if not,
    /// the next submission starts a committer).
    private func answer(_ batch: [Waiter], with results: [Result]) -> Bool {
        var offset = 0
        for waiter in batch {
            let end = offset + waiter.items.count
            waiter.continuation.resume(returning: Array(results[offset..<end]))
            offset = end
        }
        return finishBatch(committed: true)
    }

    private func answer(_ batch: [Waiter], with error: any Error) -> Bool {
        for waiter in batch { waiter.continuation.resume(throwing: error) }
        return finishBatch(committed: false)
    }

    private func finishBatch(committed: Bool) -> Bool {
        state.withLock { state in
            if committed { state.transactions += 1 }
            if state.pending.isEmpty { state.committing = false }
            return state.committing
        }
    }
}
