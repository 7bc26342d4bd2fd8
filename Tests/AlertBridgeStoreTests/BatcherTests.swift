import AlertBridgeCore
@testable import AlertBridgeStore
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct BatcherTests {
    /// A value shared with closures that run elsewhere.
    private final class Shared<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
    }

    /// Waits (without sleeping) until `count` submissions are queued.
    private func waitUntil<I, R>(_ batcher: Batcher<I, R>, holds count: Int) async {
        while batcher.waiting < count { await Task.yield() }
    }

    @Test func eachCommitTakesWholeSubmissionsUpToTheLimitAndSaysWhetherMoreWait() async throws {
        let batcher = Batcher<Int, String>(maxBatch: 3)
        let starts = Shared(0)
        let t0 = Timestamp(seconds: 1_795_457_100)
        func submit(_ items: [Int], at seconds: Int64) -> Task<[String], any Error> {
            Task { try await batcher.submit(items, now: t0 + .seconds(seconds)) { starts.value.withLock { $0 += 1 } } }
        }
        let first = submit([1, 2], at: 0)
        await waitUntil(batcher, holds: 1)
        let second = submit([3], at: 5)
        await waitUntil(batcher, holds: 2)
        let third = submit([4, 5], at: 1)
        await waitUntil(batcher, holds: 3)
        #expect(starts.value.withLock { $0 } == 1)  // one committer, however many wait

        var commits: [([Int], Timestamp)] = []
        let record = { (items: [Int], now: Timestamp) in
            commits.append((items, now))
            return items.map { "r\($0)" }
        }
        #expect(batcher.commitNext(record))   // [1, 2] + [3]: the third would pass the limit
        #expect(!batcher.commitNext(record))  // [4, 5], and nothing more waits
        #expect(commits.map(\.0) == [[1, 2, 3], [4, 5]])
        #expect(commits.map(\.1) == [t0 + .seconds(5), t0 + .seconds(1)])  // each batch at its latest caller's time
        #expect(try await first.value == ["r1", "r2"])
        #expect(try await second.value == ["r3"])
        #expect(try await third.value == ["r4", "r5"])
        #expect(batcher.transactions == 2)

        // Nobody is committing now, so the next submission starts a committer again.
        let fourth = submit([6], at: 9)
        await waitUntil(batcher, holds: 1)
        #expect(starts.value.withLock { $0 } == 2)
        #expect(!batcher.commitNext(record))
        #expect(try await fourth.value == ["r6"])
    }

    @Test func aFailedCommitFailsOnlyItsOwnBatch() async throws {
        struct Refused: Error {}
        let batcher = Batcher<Int, Int>(maxBatch: 1)
        let t0 = Timestamp(seconds: 1_795_457_100)
        let doomed = Task { try await batcher.submit([1], now: t0) {} }
        await waitUntil(batcher, holds: 1)
        let fine = Task { try await batcher.submit([2], now: t0) {} }
        await waitUntil(batcher, holds: 2)
        #expect(batcher.commitNext { _, _ in throw Refused() })
        #expect(!batcher.commitNext { items, _ in items })
        await #expect(throws: Refused.self) { try await doomed.value }
        #expect(try await fine.value == [2])
        #expect(batcher.transactions == 1)
    }

    @Test func concurrentIngestsShareTransactionsAndGetTheirOwnOutcomes() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try await SQLiteStore.open(path: dir.appendingPathComponent("test.db").path, logger: Logger(label: "test"))
        let t0 = Timestamp(seconds: 1_795_457_100)
        let results = try await withThrowingTaskGroup(of: (Int, [IngestOutcome]).self) { group in
            for i in 0..<200 {
                group.addTask { (i, try await store.ingest([StoreConformance.routed("h", key: "K\(i % 50)")], now: t0)) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 200)
        for (i, outcomes) in results {
            #expect(outcomes.count == 1)
            #expect(outcomes[0].dedupKey == "K\(i % 50)")
        }
        #expect(store.ingests.transactions < 200)  // group commit: fewer transactions than callers
        let incidents = try await store.incidents(IncidentQuery(status: .all, limit: 1000))
        #expect(incidents.count == 50)
        #expect(incidents.map(\.alertCount).reduce(0, +) == 200)
        try await store.close()
    }

    /// Between two ingest batches the SQLite writer runs whatever else was queued for it
    /// (an acknowledgement, an escalation), so an alert storm cannot starve those.
    @Test func theWriterLetsOtherWritesInBetweenIngestBatches() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"), ingestBatchLimit: 1)
        let t0 = Timestamp(seconds: 1_795_457_100)
        let seen = Shared<Int?>(nil)
        let ingests = Shared<[Task<[IngestOutcome], any Error>]>([])
        // On the writer's thread: queue two ingests (one batch each), then other work
        // behind the first batch, and only then let the writer go on.
        try await store.writer.run { _ in
            for key in ["A", "B"] {
                let before = store.ingests.waiting
                let task = Task { try await store.ingest([StoreConformance.routed("h", key: key)], now: t0) }
                ingests.value.withLock { $0.append(task) }
                while store.ingests.waiting == before { sched_yield() }
            }
            store.writer.submit { db in
                seen.value.withLock { $0 = try? db?.rows("SELECT COUNT(*) AS n FROM incidents").first?.column("n")?.integer }
            }
        }
        for task in ingests.value.withLock({ $0 }) { _ = try await task.value }
        #expect(seen.value.withLock { $0 } == 1)  // after the first batch, before the second
        #expect(try await store.incidents(IncidentQuery(status: .all, limit: 10)).count == 2)
        try await store.close()
    }

    @Test func ingestIntoAClosedStoreFailsInsteadOfWaiting() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        try await store.close()
        await #expect(throws: StoreError.unavailable("the store is closed")) {
            try await store.ingest([StoreConformance.routed("a")], now: Timestamp(seconds: 1_795_457_100))
        }
    }
}
