import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Logging
import Synchronization
import Testing

/// A store that records how many transactions it was asked for.
final class CountingStore: IncidentStore {
    let inner: any IncidentStore
    let calls = Mutex<[Int]>([])

    init(_ inner: any IncidentStore) { self.inner = inner }

    func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome] {
        calls.withLock { $0.append(batch.count) }
        return try await inner.ingest(batch, now: now)
    }
    func incidents(_ query: IncidentQuery) async throws -> [Incident] { try await inner.incidents(query) }
    func incident(id: Int64) async throws -> IncidentDetail? { try await inner.incident(id: id) }
    func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident { try await inner.act(action, on: id, now: now) }
    func ping() async throws { try await inner.ping() }
    func close() async throws { try await inner.close() }
}

@Suite struct GroupCommitterTests {
    @Test func concurrentSubmissionsShareTransactionsAndGetTheirOwnOutcomes() async throws {
        try await SQLiteStoreTests.withStore { conformance in
            let store = CountingStore(conformance.store)
            let committer = GroupCommitter(store: store, clock: ManualClock(conformance.t0))
            let results = try await withThrowingTaskGroup(of: (Int, [IngestOutcome]).self) { group in
                for i in 0..<200 {
                    group.addTask {
                        (i, try await committer.submit([StoreConformance.routed("h", key: "K\(i % 50)")]))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(results.count == 200)
            for (i, outcomes) in results {
                #expect(outcomes.count == 1)
                #expect(outcomes[0].dedupKey == "K\(i % 50)")
            }
            let calls = store.calls.withLock { $0 }
            #expect(calls.reduce(0, +) == 200)
            // Group commit: fewer transactions than requests.
            #expect(calls.count < 200)
            #expect(try await store.incidents(IncidentQuery(status: .all, limit: 1000)).count == 50)
        }
    }

    @Test func aFailedCommitFailsOnlyItsOwnBatch() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        let store = try await SQLiteStore.open(path: dir, logger: Logger(label: "test"))
        try await store.close()
        let committer = GroupCommitter(store: store, clock: SystemClock())
        await #expect(throws: (any Error).self) { try await committer.submit([StoreConformance.routed("a")]) }
    }
}
