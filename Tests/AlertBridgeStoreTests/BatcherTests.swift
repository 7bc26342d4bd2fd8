import AlertBridgeCore
@testable import AlertBridgeStore
import Testing

@Suite struct BatcherTests {
    /// Waits (without sleeping) until `count` submissions are queued.
    private func waitUntil<I, R>(_ batcher: Batcher<I, R>, holds count: Int) async {
        while batcher.waiting < count { await Task.yield() }
    }

    @Test func eachCommitTakesWholeSubmissionsUpToTheLimitAndSaysWhetherMoreWait() async throws {
        let batcher = Batcher<Int, String>(maxBatch: 3)
        let starts = Shared(0)
        let t0 = Timestamp(seconds: 1_795_457_100)
        func submit(_ items: [Int], at seconds: Int64) -> Task<[String], any Error> {
            Task { try await batcher.submit(items, now: t0 + .seconds(seconds)) { starts.withLock { $0 += 1 } } }
        }
        let first = submit([1, 2], at: 0)
        await waitUntil(batcher, holds: 1)
        let second = submit([3], at: 5)
        await waitUntil(batcher, holds: 2)
        let third = submit([4, 5], at: 1)
        await waitUntil(batcher, holds: 3)
        #expect(starts.withLock { $0 } == 1)  // one committer, however many wait

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
        #expect(starts.withLock { $0 } == 2)
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
}
