import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Logging
import Testing

@Suite struct GroupCommitterTests {
    @Test func concurrentSubmissionsShareTransactionsAndGetTheirOwnOutcomes() async throws {
        try await SQLiteStoreTests.withStore { conformance in
            let store = conformance.store
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
            // Group commit: fewer transactions than requests.
            #expect(await committer.transactions < 200)
            #expect(try await store.incidents(IncidentQuery(status: .all, limit: 1000)).count == 50)
        }
    }

    @Test func aFailedCommitFailsOnlyItsOwnBatch() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        try await store.close()
        let committer = GroupCommitter(store: store, clock: SystemClock())
        await #expect(throws: (any Error).self) { try await committer.submit([StoreConformance.routed("a")]) }
    }
}
