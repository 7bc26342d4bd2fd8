import AlertBridgeCore
import AlertBridgeStore
import Testing

/// How long the escalation engine and the dispatcher sleep after a pass.
@Suite struct ServiceLoopDelayTests {
    let now = Timestamp(seconds: 1_795_457_100)
    let idle = Duration.seconds(5)

    @Test func sleepsUntilTheNextDueTimeAtMostIdle() {
        #expect(Wakeup.delay(afterTaking: 0, nextDue: nil, now: now, idle: idle) == idle)
        #expect(Wakeup.delay(afterTaking: 3, nextDue: now + .milliseconds(1500), now: now, idle: idle) == .milliseconds(1500))
        #expect(Wakeup.delay(afterTaking: 0, nextDue: now + .seconds(60), now: now, idle: idle) == idle)
    }

    /// Something due that the pass took none of is held by another transaction (PostgreSQL's
    /// SKIP LOCKED skipped it): wait a little instead of querying again at once, in a loop,
    /// for as long as it is held. After a pass that took work, more may be due: no wait.
    @Test func somethingDueButNotTakenWaitsAShortWhileInsteadOfSpinning() {
        #expect(Wakeup.delay(afterTaking: 0, nextDue: now - .seconds(30), now: now, idle: idle) == Wakeup.contended)
        #expect(Wakeup.contended == .milliseconds(100))
        #expect(Wakeup.delay(afterTaking: 500, nextDue: now - .seconds(30), now: now, idle: idle) == .zero)
    }
}
