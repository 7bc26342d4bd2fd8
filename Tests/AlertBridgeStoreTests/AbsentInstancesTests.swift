import AlertBridgeCore
@testable import AlertBridgeStore
import Testing

/// When another PostgreSQL instance counts as dead, so that its pages are taken back.
@Suite struct AbsentInstancesTests {
    let t0 = Timestamp(seconds: 1_795_457_100)

    /// Dead once its lock has been seen missing for ten seconds, however old its claims.
    @Test func aKeyMissingForTenSecondsIsDead() {
        var absent = AbsentInstances()
        let first = absent.seenMissing([7, 9], at: t0)
        let nearly = absent.seenMissing([7, 9], at: t0 + .milliseconds(9_999))
        let then = absent.seenMissing([7, 9], at: t0 + .seconds(10))
        #expect(first.isEmpty && nearly.isEmpty)
        #expect(then == [7, 9])
    }

    /// A lock seen held again (a live instance back from a lost connection) starts over.
    @Test func aKeySeenAgainStartsOver() {
        var absent = AbsentInstances()
        _ = absent.seenMissing([7, 9], at: t0)
        _ = absent.seenMissing([9], at: t0 + .seconds(1))
        let at10 = absent.seenMissing([7, 9], at: t0 + .seconds(10))
        let at20 = absent.seenMissing([7, 9], at: t0 + .seconds(20))
        #expect(at10 == [9])
        #expect(at20 == [7, 9])
    }

    /// `pg_locks` is read once a second at most, and again after the clock went back.
    @Test func itLooksOnceASecondAtMost() {
        var absent = AbsentInstances()
        let looks = [t0, t0 + .milliseconds(999), t0 + .seconds(1), t0 - .seconds(5)].map { absent.shouldLook(at: $0) }
        #expect(looks == [true, false, true, true])
    }
}
