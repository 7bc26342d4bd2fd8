import AlertBridgeCore
import Testing

@Suite struct HeartbeatTests {
    let t0 = RFC3339.parse("2026-11-30T02:00:00Z")!
    let heartbeat = Heartbeat(name: "prometheus-apac", timeout: .seconds(300), severity: .critical,
                              labels: ["region": "apac", "service": "monitoring"])

    @Test func namesArePathSafe() {
        #expect(Heartbeat.isValidName("prometheus-apac.v2_1"))
        for bad in ["", ".", "..", "a/b", "a b", "서울", "a?b", String(repeating: "a", count: 129)] {
            #expect(!Heartbeat.isValidName(bad), "\(bad)")
        }
    }

    @Test func statusIsWaitingUntilTheFirstPingThenUpUntilTheTimeoutRunsOut() {
        #expect(heartbeat.status(of: nil, at: t0, startedAt: t0) == .waiting)
        let state = HeartbeatState(name: "prometheus-apac", lastPingAt: t0)
        #expect(heartbeat.status(of: state, at: t0 + .seconds(299), startedAt: t0) == .up)
        #expect(heartbeat.status(of: state, at: t0 + .seconds(300), startedAt: t0) == .missed)
    }

    @Test func aMissAndItsRecoveryAreOneAlert() {
        let missed = heartbeat.missed(expiredAt: t0)
        let back = heartbeat.recovered(at: t0 + .seconds(60))
        #expect(missed.status == .firing && back.status == .resolved)
        #expect(missed.labels == ["alertname": "HeartbeatMissed", "heartbeat": "prometheus-apac", "region": "apac",
                                  "service": "monitoring"])
        #expect(missed.fingerprint == back.fingerprint)  // the recovery resolves the miss
        #expect(missed.summary == "heartbeat prometheus-apac missed: no ping within its 5m timeout")
        #expect(missed.severity == .critical)
        #expect(missed.startsAt == t0 && back.endsAt == t0 + .seconds(60))
    }

    /// After a start, a miss due before it (or soon after) waits until the monitor could
    /// ping again: its timeout, at most 10 minutes. A daily job's 25h heartbeat due five
    /// minutes after a deploy is missed five minutes late, not a day late; one already
    /// missed, or pinged since the start, is not put off.
    @Test func aStartPutsOffAMissByAtMostItsTimeoutOrTenMinutes() {
        let state = HeartbeatState(name: "prometheus-apac", lastPingAt: t0)
        #expect(heartbeat.nextMiss(of: state, startedAt: t0 + .seconds(900)) == t0 + .seconds(1200), "5m timeout, stopped past it")
        let daily = Heartbeat(name: "backup", timeout: .seconds(25 * 3600))
        let deploy = t0 + .seconds(25 * 3600 - 300)
        #expect(daily.nextMiss(of: state, startedAt: deploy) == deploy + .seconds(600))
        #expect(daily.nextMiss(of: state, startedAt: t0 + .seconds(3600)) == t0 + .seconds(25 * 3600), "due long after the start")
        var missed = state
        missed.missSentAt = t0 + .seconds(300)
        #expect(heartbeat.nextMiss(of: missed, startedAt: t0 + .seconds(900)) == heartbeat.nextMiss(of: missed))
        #expect(heartbeat.nextMiss(of: state, startedAt: t0 - .seconds(1)) == t0 + .seconds(300), "pinged after the start")
    }

    @Test func aMissIsDueAtTheExpiryThenEveryTimeoutUntilAPing() {
        var state = HeartbeatState(name: "prometheus-apac", lastPingAt: t0)
        #expect(heartbeat.expiry(of: state) == t0 + .seconds(300))
        #expect(heartbeat.nextMiss(of: state) == t0 + .seconds(300))
        state.missStartedAt = t0 + .seconds(301)
        #expect(heartbeat.nextMiss(of: state) == t0 + .seconds(300))  // started, not sent: send it now
        state.missSentAt = t0 + .seconds(301)
        #expect(heartbeat.nextMiss(of: state) == t0 + .seconds(601))
        #expect(state.mayBeMissed && !state.needsRecovery)
        // A ping: the time starts again from it, and the miss is owed a recovery.
        state.lastPingAt = t0 + .seconds(700)
        #expect(heartbeat.nextMiss(of: state) == t0 + .seconds(1000))
        #expect(state.needsRecovery)
        #expect(!HeartbeatState(name: "prometheus-apac", lastPingAt: t0).needsRecovery)
    }

    @Test func aMissIsRecoveredByNameEvenWhenItsLabelsChanged() {
        var relabelled = heartbeat
        relabelled.labels = ["region": "apac", "team": "sre"]
        #expect(heartbeat.missed(expiredAt: t0).fingerprint == relabelled.recovered(at: t0).fingerprint)
    }

    @Test func theRecoveryOfAMissResolvesItsIncidentAndALaterMissReopensIt() throws {
        func routed(_ alert: Alert) -> RoutedAlert {
            RoutedAlert(alert: alert, rule: "default", dedupKey: alert.fingerprint, policy: "p", reopenWithin: .seconds(3600))
        }
        var plan = IngestPlanner.plan([routed(heartbeat.missed(expiredAt: t0))], current: [:], alertStatus: [:], now: t0)
        plan = plan.assigningIDs([1])
        let incident = try #require(plan.incidents.first)
        let key = IngestPlanner.AlertKey(incidentID: 1, fingerprint: heartbeat.missed(expiredAt: t0).fingerprint)
        let back = IngestPlanner.plan([routed(heartbeat.recovered(at: t0 + .seconds(60)))], current: [incident.dedupKey: incident],
                                      alertStatus: [key: .firing], now: t0 + .seconds(60))
        #expect(back.outcomes.map(\.kind) == [.resolved])
        let resolved = try #require(back.incidents.first)
        // The miss of the next expiry (after the ping) is a new episode, not a stale copy.
        let again = IngestPlanner.plan([routed(heartbeat.missed(expiredAt: t0 + .seconds(360)))], current: [resolved.dedupKey: resolved],
                                       alertStatus: [key: .resolved], alertEnds: [key: t0 + .seconds(60)], now: t0 + .seconds(360))
        #expect(again.outcomes.map(\.kind) == [.reopened])
        // A miss that arrives after the ping that recovered it is stale and changes nothing.
        let late = IngestPlanner.plan([routed(heartbeat.missed(expiredAt: t0 + .seconds(30)))], current: [resolved.dedupKey: resolved],
                                      alertStatus: [key: .resolved], alertEnds: [key: t0 + .seconds(60)], now: t0 + .seconds(61))
        #expect(late.outcomes.map(\.kind) == [.resolved])
        #expect(late.pages.isEmpty)
    }
}
