import AlertBridgeCore

/// Group commit for any store write: concurrent callers' items go into one call of
/// `commit`, and each caller gets back the results of its own items once that call
/// returns (so once the transaction committed). While one batch commits, the next
/// collects; under load one fsync covers many callers.
public actor Batcher<Item: Sendable, Result: Sendable> {
    private struct Waiter {
        var items: [Item]
        var continuation: CheckedContinuation<[Result], any Error>
    }

    private let commit: @Sendable ([Item]) async throws -> [Result]
    private let maxBatch: Int
    private var pending: [Waiter] = []
    private var flushing = false
    /// Calls of `commit` so far: fewer than submissions whenever batching happens.
    public private(set) var transactions = 0

    /// - Parameters:
    ///   - maxBatch: items per `commit` at most, to bound commit latency.
    ///   - commit: one transaction; returns one result per item, in order.
    public init(maxBatch: Int = 20_000, commit: @escaping @Sendable ([Item]) async throws -> [Result]) {
        self.commit = commit
        self.maxBatch = maxBatch
    }

    /// Commits the items with whatever else is waiting; returns their results.
    public func submit(_ items: [Item]) async throws -> [Result] {
        if items.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append(Waiter(items: items, continuation: continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func takeBatch() -> [Waiter] {
        var taken = 0
        var count = 0
        while taken < pending.count, count == 0 || count + pending[taken].items.count <= maxBatch {
            count += pending[taken].items.count
            taken += 1
        }
        defer { pending.removeFirst(taken) }
        return Array(pending.prefix(taken))
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = takeBatch()
            do {
                let results = try await commit(batch.flatMap(\.items))
                transactions += 1
                var offset = 0
                for waiter in batch {
                    let end = offset + waiter.items.count
                    waiter.continuation.resume(returning: Array(results[offset..<end]))
                    offset = end
                }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}

/// Concurrent ingest requests batched into one store transaction.
///
/// A concrete type rather than a typealias of ``Batcher``: called from another module,
/// a generic actor's methods stay unspecialised and look up type metadata on every
/// request (about 6% of the request tasks' profile samples at one alert per request).
/// Wrapped here, they are specialised in this module, where the types are known.
public struct GroupCommitter: Sendable {
    private let batcher: Batcher<RoutedAlert, IngestOutcome>

    public init(store: any IncidentStore, clock: any WallClock, maxBatch: Int = 20_000) {
        batcher = Batcher(maxBatch: maxBatch) { alerts in try await store.ingest(alerts, now: clock.now()) }
    }

    /// Commits the alerts with whatever else is waiting; returns one outcome per alert.
    public func submit(_ alerts: [RoutedAlert]) async throws -> [IngestOutcome] {
        try await batcher.submit(alerts)
    }

    /// Store transactions so far: fewer than submissions whenever batching happens.
    public var transactions: Int {
        get async { await batcher.transactions }
    }
}
