import AlertBridgeCore
import Testing

/// A page says what happens next and when: that must be what the engine then does, at
/// exactly that time, or the person paged is told a wrong deadline.
@Suite struct NextStepTests {
    let t0 = RFC3339.parse("2026-11-23T03:00:00Z")!  // 12:00 in Seoul
    let peak = EscalationPolicy.Window(name: "peak", startMinute: 18 * 60, endMinute: 23 * 60,
                                       timeZone: "Asia/Seoul", escalateAfter: .seconds(600))

    func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }

    func policy(repeat r: Int = 0, ackTimeout: Duration? = nil, windows: [EscalationPolicy.Window] = []) -> EscalationPolicy {
        EscalationPolicy(name: "cdn-performance",
                         tiers: [.init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: minutes(15)),
                                 .init(name: "rnd", notify: [.init(connector: "rnd-chat")], escalateAfter: minutes(30))],
                         repeat: r, ackTimeout: ackTimeout, windows: windows)
    }

    func incident(at time: Timestamp) -> Incident {
        Incident(id: 7, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", status: .triggered, title: "latency", severity: .critical,
                 labels: [:], annotations: [:], rule: "edge", policy: "cdn-performance", alertCount: 1, firingCount: 1,
                 createdAt: time, lastAlertAt: time)
    }

    /// Walks an unacknowledged incident to the end of its policy, checking at each state
    /// that nothing happens a millisecond before the predicted time and the predicted
    /// step happens at it.
    func predictedSteps(_ p: EscalationPolicy, from start: Timestamp) -> [EscalationPlanner.NextStep] {
        var i = EscalationPlanner.start(incident(at: start), policy: p, now: start).incident
        var seen: [EscalationPlanner.NextStep] = []
        while let next = EscalationPlanner.nextStep(i, policy: p) {
            seen.append(next)
            let early = EscalationPlanner.advance(i, policy: p, now: next.at - .milliseconds(1))
            #expect(early.pages.isEmpty && early.incident.escalation.step == i.escalation.step)
            let d = EscalationPlanner.advance(i, policy: p, now: next.at)
            switch next.action {
            case .page(let tier, let name):
                #expect(d.pages.map(\.tier) == [tier])
                #expect(d.pages.map(\.tierName) == [name])
                #expect(d.pages.map(\.reason) == [.escalated])
            case .repeatPolicy(_, let cycle, _):
                #expect(d.pages.map(\.tier) == [1])
                #expect(d.pages.map(\.reason) == [.repeated])
                #expect(d.incident.escalation.cycle == cycle)
            case .end:
                #expect(d.incident.escalation.ended)
                #expect(d.pages.allSatisfy { $0.reason == .escalationEnded })
            case .ackTimeout:
                Issue.record("an unacknowledged incident has no ack timeout")
            case .waitsForAlert:
                Issue.record("no grace without a start")
            case .waitsForInhibitor, .awaitsInhibitor, .inhibitorsResolved:
                Issue.record("nothing inhibits it")
            case .keptOpen:
                Issue.record("no alert recovered")
            }
            i = d.incident
            if seen.count > 10 { break }
        }
        return seen
    }

    /// Stopped 40 s with tier 2 due at 15 m and `auto_resolve_after` 16 m: after the start
    /// the incident waits out the grace for its alert, and says so: `show` said "tier 2 is
    /// paged at" a time already gone (black-box round 23). A re-sent alert ends that wait,
    /// and its overdue step is taken at the end of the restart grace.
    @Test func anIncidentThatFellQuietWhileStoppedWaitsForItsAlert() throws {
        var p = policy()
        p.autoResolveAfter = minutes(16)
        let paged = EscalationPlanner.start(incident(at: t0), policy: p, now: t0).incident
        let started = t0 + minutes(16) + .seconds(20)
        let grace = started + EscalationPlanner.autoResolveGrace
        let now = started + .seconds(5)
        let waiting = try #require(EscalationPlanner.nextStep(paged, policy: p, now: now, startedAt: started))
        #expect(waiting.action == .waitsForAlert && waiting.at == grace)
        let held = EscalationPlanner.advance(paged, policy: p, now: now, startedAt: started)
        #expect(held.pages.isEmpty && held.incident.nextEscalationAt == now + .seconds(30))
        // Without a start's grace the step stands as the policy says.
        #expect(EscalationPlanner.nextStep(paged, policy: p)?.action == .page(tier: 2, name: "rnd"))
        // The alert is sent again: due now, and tier 2 is paged.
        let routed = RoutedAlert(alert: Alert(source: "cdn-monitor", status: .firing, severity: .critical, summary: "latency",
                                              labels: ["alertname": "EdgeLatencyHigh"]),
                                 rule: "edge", dedupKey: paged.dedupKey, policy: p.name, escalationPolicy: p)
        let plan = IngestPlanner.plan([routed], current: [paged.dedupKey: held.incident], alertStatus: [:], now: now)
        #expect(plan.outcomes.map(\.stepDueNow) == [true])
        let merged = try #require(plan.incidents.first)
        #expect(merged.nextEscalationAt == now)
        let step = try #require(EscalationPlanner.nextStep(merged, policy: p, now: now, startedAt: started))
        let graceEnd = started + EscalationPlanner.restartGrace
        #expect(step.action == .page(tier: 2, name: "rnd") && step.at == graceEnd)
        let deferred = EscalationPlanner.advance(merged, policy: p, now: now, startedAt: started)
        #expect(deferred.pages.isEmpty && deferred.incident.nextEscalationAt == graceEnd)
        #expect(EscalationPlanner.advance(deferred.incident, policy: p, now: graceEnd, startedAt: started).pages.map(\.tier) == [2])
        // An alert of an incident that is not quiet makes nothing due.
        let busy = IngestPlanner.plan([routed], current: [paged.dedupKey: paged], alertStatus: [:], now: t0 + minutes(1))
        #expect(busy.outcomes.map(\.stepDueNow) == [false])
    }

    @Test func eachStepOfAPolicyIsPredictedAtItsTime() {
        let steps = predictedSteps(policy(repeat: 1), from: t0)
        #expect(steps.map(\.action) == [.page(tier: 2, name: "rnd"), .repeatPolicy(tier1: "technical-support", cycle: 1, of: 1),
                                         .page(tier: 2, name: "rnd"), .end])
        #expect(steps.map(\.at) == [t0 + minutes(15), t0 + minutes(45), t0 + minutes(60), t0 + minutes(90)])
        #expect(steps.map(\.timer) == [minutes(15), minutes(30), minutes(15), minutes(30)])
        #expect(steps.allSatisfy { $0.window == nil })
    }

    /// Paged at 17:55 in Seoul with a 15-minute tier: the 10-minute peak window that opens
    /// at 18:00 sets the deadline (18:05), and the page says which window did.
    @Test func aWindowThatSetsTheDeadlineIsNamed() {
        let evening = RFC3339.parse("2026-11-23T17:55:00+09:00")!
        let steps = predictedSteps(policy(windows: [peak]), from: evening)
        #expect(steps.map(\.action) == [.page(tier: 2, name: "rnd"), .end])
        #expect(steps.first?.at == RFC3339.parse("2026-11-23T18:05:00+09:00")!)
        #expect(steps.first?.window?.name == "peak")
        #expect(steps.first?.timer == .seconds(600))
        // Outside the window, the tier's own timer, and no window named.
        let noon = predictedSteps(policy(windows: [peak]), from: t0)
        #expect(noon.first?.at == t0 + minutes(15))
        #expect(noon.first?.window == nil)
    }

    @Test func anAcknowledgementWithAnAckTimeoutPagesTierOneAgain() throws {
        let p = policy(ackTimeout: minutes(30))
        let paged = EscalationPlanner.start(incident(at: t0), policy: p, now: t0).incident
        let (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: paged, now: t0 + minutes(5))
        let next = try #require(EscalationPlanner.nextStep(acked, policy: p))
        #expect(next.action == .ackTimeout(tier1: "technical-support"))
        #expect(next.at == t0 + minutes(35))
        let d = EscalationPlanner.advance(acked, policy: p, now: next.at)
        #expect(d.pages.map(\.reason) == [.ackTimeout])
        // Without an ack_timeout nothing is due once someone has it.
        #expect(EscalationPlanner.nextStep(acked, policy: policy()) == nil)
    }

    @Test func nothingIsPredictedWhenNoTimerRuns() {
        let p = policy()
        // Not paged yet (held by a silence, say), and resolved.
        #expect(EscalationPlanner.nextStep(incident(at: t0), policy: p) == nil)
        var resolved = EscalationPlanner.start(incident(at: t0), policy: p, now: t0).incident
        resolved.status = .resolved
        #expect(EscalationPlanner.nextStep(resolved, policy: p) == nil)
        // Held by an inhibiting incident: the step waits for it, not for a time.
        var held = EscalationPlanner.start(incident(at: t0), policy: p, now: t0).incident
        held.escalation.heldUntil = t0 + minutes(16)
        #expect(EscalationPlanner.nextStep(held, policy: p) == nil)
    }
}
