import AlertBridgeCore

/// Batches concurrent ingest requests into one store transaction (group commit).
///
/// Every request waits for the commit that contains it, so a 202 is still only sent
/// after the alert is durable; under a storm one fsync covers many requests. While
/// one batch commits, the next one collects.
public actor GroupCommitter {
    private struct Waiter {
        var alerts: [RoutedAlert]
        var continuation: CheckedContinuation<[IngestOutcome], any Error>
    }

    private let store: any IncidentStore
    private let clock: any WallClock
    private let maxBatch: Int
    private var pending: [Waiter] = []
    private var pendingCount = 0
    private var flushing = false
    /// Transactions committed so far: fewer than requests whenever batching happens.
    public private(set) var transactions = 0

    /// - Parameter maxBatch: alerts per transaction at most, to bound commit latency.
    public init(store: any IncidentStore, clock: any WallClock, maxBatch: Int = 20_000) {
        self.store = store
        self.clock = clock
        self.maxBatch = maxBatch
    }

    /// Ingests alerts; returns once they are committed, one outcome per alert.
    public func submit(_ alerts: [RoutedAlert]) async throws -> [IngestOutcome] {
        if alerts.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append(Waiter(alerts: alerts, continuation: continuation))
            pendingCount += alerts.count
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func takeBatch() -> [Waiter] {
        var taken = 0
        var count = 0
        while taken < pending.count, count == 0 || count + pending[taken].alerts.count <= maxBatch {
            count += pending[taken].alerts.count
            taken += 1
        }
        let batch = Array(pending.prefix(taken))
        pending.removeFirst(taken)
        pendingCount -= count
        return batch
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = takeBatch()
            do {
                let outcomes = try await store.ingest(batch.flatMap(\.alerts), now: clock.now())
                transactions += 1
                var offset = 0
                for waiter in batch {
                    let end = offset + waiter.alerts.count
                    waiter.continuation.resume(returning: Array(outcomes[offset..<end]))
                    offset = end
                }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
