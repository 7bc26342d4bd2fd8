import AlertBridgeCore
import Foundation
import Testing

@Suite struct EscalationPlannerTests {
    let t0 = RFC3339.parse("2026-11-23T03:00:00Z")!  // 12:00 in Seoul: outside the evening peak
    func policy(repeat r: Int = 1, ackTimeout: Duration? = nil, autoResolve: Duration? = nil,
                sla: EscalationPolicy.SLA = .init(), windows: [EscalationPolicy.Window] = []) -> EscalationPolicy {
        EscalationPolicy(
            name: "cdn-performance",
            tiers: [
                .init(name: "technical-support", notify: [.init(connector: "console"), .init(connector: "noc-email", to: ["noc@example.com"])],
                      escalateAfter: .seconds(15 * 60)),
                .init(name: "rnd", notify: [.init(connector: "rnd-chat")], escalateAfter: .seconds(30 * 60)),
            ],
            repeat: r, ackTimeout: ackTimeout, autoResolveAfter: autoResolve, windows: windows, sla: sla)
    }

    var incident: Incident {
        Incident(id: 42, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", status: .triggered, title: "latency", severity: .critical,
                 labels: [:], annotations: [:], rule: "edge", policy: "cdn-performance", alertCount: 1, firingCount: 1,
                 createdAt: t0, lastAlertAt: t0)
    }

    func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }

    @Test func startPagesEveryTargetOfTierOneAtOnce() {
        let d = EscalationPlanner.start(incident, policy: policy(), now: t0)
        #expect(d.pages.count == 1)
        #expect(d.pages[0].tier == 1)
        #expect(d.pages[0].step == 1)
        #expect(d.pages[0].targets.map(\.connector) == ["console", "noc-email"])
        #expect(d.incident.tier == 1)
        #expect(d.incident.nextEscalationAt == t0 + minutes(15))
        #expect(d.timeline.map(\.kind) == [.paged])
        #expect(d.timeline[0].detail == "tier 1 (technical-support): console, noc-email (noc@example.com)")
    }

    /// A recovered incident kept open (`keep_open_for`) whose end passed while alertbridge
    /// was stopped waits out the start's grace, as a step does: its sender may have re-sent
    /// the alert that fired again meanwhile. Then it resolves as of the recovery, and says
    /// it was late.
    @Test func aKeptOpenIncidentDueWhileStoppedWaitsTheStartsGrace() {
        let p = policy()
        var kept = EscalationPlanner.start(incident, policy: p, now: t0).incident
        kept.escalation.recovery = .init(at: t0 + minutes(2), by: "alertmanager", resolvesAt: t0 + minutes(3))
        let started = t0 + minutes(10)
        let early = EscalationPlanner.advance(kept, policy: p, now: started, startedAt: started)
        #expect(early.incident.status == .triggered && early.pages.isEmpty)
        #expect(early.incident.nextEscalationAt == started + EscalationPlanner.restartGrace)
        #expect(EscalationPlanner.nextStep(kept, policy: p, startedAt: started)?.at == started + EscalationPlanner.restartGrace)
        let d = EscalationPlanner.advance(kept, policy: p, now: started + EscalationPlanner.restartGrace, startedAt: started)
        #expect(d.incident.status == .resolved && d.incident.resolvedAt == t0 + minutes(2) && d.incident.resolvedBy == "alertmanager")
        #expect(d.incident.escalation.recovery == nil && d.incident.nextEscalationAt == nil && d.pages.isEmpty)
        #expect(d.timeline.last?.detail == "all alerts resolved at 2026-11-23T03:02:00Z, and none fired again in the 1m it was "
                + "kept open (keep_open_for); alertbridge started at 2026-11-23T03:10:00Z, while it was kept open, and waited 1m after its "
                + "start for alerts that could not reach it while it was stopped")
        // Also when its end passed only moments before the start (black-box round 32: resolved
        // at once, then RESOLVED and REOPENED for the sender's retry).
        kept.escalation.recovery = .init(at: started - minutes(1), by: "alertmanager", resolvesAt: started - .seconds(5))
        #expect(EscalationPlanner.advance(kept, policy: p, now: started, startedAt: started).incident.status == .triggered)
        // Kept open since the start: its own end.
        kept.escalation.recovery = .init(at: started + .seconds(1), by: "alertmanager", resolvesAt: started + .seconds(16))
        #expect(EscalationPlanner.advance(kept, policy: p, now: started + .seconds(16), startedAt: started).incident.status == .resolved)
    }

    @Test func unacknowledgedEscalatesThroughTiersRepeatsThenEnds() {
        let p = policy(repeat: 1)
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        func step(at m: Int64) -> EscalationPlanner.Decision {
            let d = EscalationPlanner.advance(i, policy: p, now: t0 + minutes(m))
            i = d.incident
            return d
        }
        #expect(step(at: 14).pages.isEmpty)
        let toTier2 = step(at: 15)
        #expect(toTier2.pages.map(\.tier) == [2])
        #expect(toTier2.pages.map(\.reason) == [.escalated])
        #expect(i.tier == 2)
        #expect(i.nextEscalationAt == t0 + minutes(45))
        let repeated = step(at: 45)
        #expect(repeated.pages.map(\.tier) == [1])
        #expect(repeated.pages.map(\.reason) == [.repeated])
        #expect(step(at: 60).pages.map(\.tier) == [2])
        // Nobody is paged any more; whom it paged hear so, once, at the last step's number.
        let ended = step(at: 90)
        #expect(ended.pages.map(\.reason) == [.escalationEnded, .escalationEnded])
        #expect(ended.pages.map(\.tier) == [1, 2])
        #expect(ended.pages.allSatisfy { $0.step == 4 })
        #expect(i.escalation.ended)
        #expect(ended.timeline.last?.detail == "escalation ended: 2 tiers paged 2 times and nobody acknowledged")
        #expect(i.nextEscalationAt == nil)
        #expect(step(at: 200).pages.isEmpty)
        #expect(i.escalation.step == 4)
    }

    /// A step taken well after its time (alertbridge was down when it fell due) says so on
    /// the timeline: the restart's entries read as if the tier had just missed its page
    /// (black-box round 20). Under 30 s late, an engine tick's delay, nothing is added.
    @Test func aStepTakenLateSaysWhenItWasDue() {
        let p = policy(repeat: 0, ackTimeout: minutes(30))
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let onTime = EscalationPlanner.advance(started, policy: p, now: t0 + minutes(15) + .seconds(29))
        #expect(onTime.timeline.first?.detail == "tier 1 (technical-support) did not acknowledge in time: paging tier 2 (rnd)")
        let late = EscalationPlanner.advance(started, policy: p, now: t0 + minutes(16) + .seconds(10))
        #expect(late.timeline.first?.detail == "tier 1 (technical-support) did not acknowledge in time: paging tier 2 (rnd); "
                + "due at 2026-11-23T03:15:00Z, taken 1m10s late: alertbridge was stopped or behind")
        let ended = EscalationPlanner.advance(late.incident, policy: p, now: t0 + minutes(50))
        #expect(ended.timeline.last?.detail?.hasSuffix("and nobody acknowledged; due at 2026-11-23T03:46:10Z, taken 3m50s late: "
                                                      + "alertbridge was stopped or behind") == true, "\(ended.timeline)")
        var acked = started
        (acked, _) = try! IncidentAction.acknowledge(by: "alice", note: nil).apply(to: started, now: t0 + minutes(1))
        let lapsed = EscalationPlanner.advance(acked, policy: p, now: t0 + minutes(40))
        #expect(lapsed.timeline.first { $0.kind == .escalated }?.detail?.hasSuffix("back to triggered; due at 2026-11-23T03:31:00Z, "
                                                                                   + "taken 9m late: alertbridge was stopped or behind") == true)
    }

    /// A step that fell due while alertbridge was stopped waits ``EscalationPlanner/restartGrace``
    /// after the start (the recovery or the `ack` that could not reach it may be on its way),
    /// an ack timeout as a tier. Overdue by under 30 s (a quick restart; a fleet's running
    /// instances take steps on time), or by over 10 minutes (a start that keeps crashing
    /// would hold it for good), it is taken at once.
    @Test func aStepThatFellDueWhileStoppedWaitsAMinuteAfterTheStart() throws {
        let p = policy(repeat: 0, ackTimeout: minutes(30))
        let paged = EscalationPlanner.start(incident, policy: p, now: t0).incident  // tier 2 due at 15m
        func firstStep(startedAt: Timestamp, now: Timestamp) -> [Int] {
            EscalationPlanner.advance(paged, policy: p, now: now, startedAt: startedAt).pages.map(\.tier)
        }
        let started = t0 + minutes(17)
        #expect(firstStep(startedAt: started, now: started).isEmpty)
        #expect(EscalationPlanner.advance(paged, policy: p, now: started, startedAt: started).incident.nextEscalationAt
                == started + .seconds(60))
        #expect(EscalationPlanner.nextStep(paged, policy: p, now: started, startedAt: started)?.at == started + .seconds(60))
        #expect(firstStep(startedAt: started, now: started + .seconds(60)) == [2])
        #expect(firstStep(startedAt: t0 + minutes(15) + .seconds(20), now: t0 + minutes(15) + .seconds(20)) == [2], "20 s overdue")
        #expect(firstStep(startedAt: t0 + minutes(26), now: t0 + minutes(26)) == [2], "11 minutes overdue")

        let (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: paged, now: t0 + minutes(1))
        let restarted = t0 + minutes(33)  // its ack timeout fell due at 31m
        let waiting = EscalationPlanner.advance(acked, policy: p, now: restarted, startedAt: restarted)
        #expect(waiting.pages.isEmpty && waiting.incident.status == .acknowledged)
        #expect(waiting.incident.nextEscalationAt == restarted + .seconds(60))
        let lapsed = EscalationPlanner.advance(waiting.incident, policy: p, now: restarted + .seconds(60), startedAt: restarted)
        #expect(lapsed.pages.map(\.tier) == [1] && lapsed.incident.status == .triggered)
        #expect(lapsed.timeline.first { $0.kind == .escalated }?.detail?.hasSuffix(
            "back to triggered; due at 2026-11-23T03:31:00Z, taken 3m late: alertbridge was stopped or behind, then waited 1m "
                + "after its start for the recoveries and acknowledgements that could not reach it meanwhile") == true)
    }

    @Test func stepsAreNumberedSoEachIsTakenOnce() {
        let p = policy()
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let a = EscalationPlanner.advance(started, policy: p, now: t0 + minutes(15))
        // Advancing the stored (already advanced) state again at the same time pages nothing.
        let b = EscalationPlanner.advance(a.incident, policy: p, now: t0 + minutes(15))
        #expect(a.pages.map(\.step) == [2])
        #expect(b.pages.isEmpty)
    }

    /// A repeat and an ack timeout go back to tier 1, but R&D was paged: it hears the
    /// acknowledgement and the resolve too.
    @Test func noticesReachEveryTierPagedAlsoAfterGoingBackToTierOne() throws {
        let p = policy(repeat: 1, ackTimeout: minutes(30))
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i = EscalationPlanner.advance(i, policy: p, now: t0 + minutes(15)).incident  // tier 2
        i = EscalationPlanner.advance(i, policy: p, now: t0 + minutes(45)).incident  // repeat: tier 1
        #expect(i.tier == 1)
        #expect(EscalationPlanner.notices(for: i, policy: p, event: .acknowledged).map(\.tier) == [1, 2])

        var j = EscalationPlanner.start(incident, policy: p, now: t0).incident
        j = EscalationPlanner.advance(j, policy: p, now: t0 + minutes(15)).incident  // tier 2
        j = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: j, now: t0 + minutes(20)).0
        j = EscalationPlanner.advance(j, policy: p, now: t0 + minutes(50)).incident  // ack timeout: tier 1
        #expect(j.tier == 1)
        #expect(EscalationPlanner.notices(for: j, policy: p, event: .resolved).map(\.tier) == [1, 2])
    }

    /// The NOC channel and the ops webhook are in both tiers (tier 2's `to:` says whom it is
    /// for, as chat and webhooks show it), lead@ only in tier 2: each hears a notice once,
    /// from the first tier that reaches it (a ticketing webhook made two comments per
    /// notice); an email target is one audience per address, in any case.
    @Test func eachAudienceHearsANoticeOnce() throws {
        let p = EscalationPolicy(name: "pop-outage", tiers: [
            .init(name: "noc", notify: [.init(connector: "noc-chat"), .init(connector: "ops-hook"),
                                        .init(connector: "mail", to: ["noc@example.com"])], escalateAfter: minutes(5)),
            .init(name: "rnd", notify: [.init(connector: "noc-chat", to: ["rnd"]), .init(connector: "ops-hook", to: ["ticket-rnd"]),
                                        .init(connector: "mail", to: ["NOC@Example.com", "lead@example.com"])], escalateAfter: minutes(5)),
        ])
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i = EscalationPlanner.advance(i, policy: p, now: t0 + minutes(5)).incident
        let notices = EscalationPlanner.notices(for: i, policy: p, event: .acknowledged)
        #expect(notices.map { "\($0.tier): \($0.targets.map { $0.connector + $0.to.joined() }.joined(separator: " "))" } == [
            "1: noc-chat ops-hook mailnoc@example.com",
            "2: maillead@example.com",
        ])
    }

    /// Reopening starts a new episode but keeps counting steps: its pages must never carry
    /// the (step, event, tier) of a page the outbox already holds, or they would be dropped.
    @Test func aReopenedEpisodeNumbersItsStepsAfterTheEarlierOnes() {
        let p = policy()
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i = EscalationPlanner.advance(i, policy: p, now: t0 + minutes(15)).incident
        #expect(i.escalation.step == 2)
        i.escalation = i.escalation.reopened()
        #expect(!i.escalation.hasPaged)
        #expect(EscalationPlanner.notices(for: i, policy: p, event: .resolved).isEmpty)
        let again = EscalationPlanner.start(i, policy: p, now: t0 + minutes(40), reason: .reopened)
        #expect(again.pages.map(\.step) == [3])
        let escalated = EscalationPlanner.advance(again.incident, policy: p, now: t0 + minutes(55))
        #expect(escalated.pages.map(\.step) == [4])
        #expect(escalated.pages.map(\.tier) == [2])
    }

    /// A state stored before a field existed reads back as that state, not as a fresh one
    /// (which would page tier 1 again).
    @Test func aStoredStateWithoutTheNewerFieldsDecodes() throws {
        let old = #"{"step":2,"cycle":0,"tierPagedAt":"2026-11-23T03:15:00Z","ended":false,"ackSLABreached":true,"resolveSLABreached":false}"#
        let state = try JSONDecoder().decode(EscalationState.self, from: Data(old.utf8))
        #expect(state.step == 2)
        #expect(state.hasPaged)
        #expect(state.ackSLABreached)
        #expect(state.tierPagedAt == t0 + minutes(15))
    }

    @Test func anOverdueStepAfterDowntimeFiresOnceAndTimesTheNextFromNow() {
        let p = policy(repeat: 1)
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let late = t0 + .seconds(5 * 3600)
        let d = EscalationPlanner.advance(started, policy: p, now: late)
        #expect(d.pages.map(\.tier) == [2])
        #expect(d.incident.nextEscalationAt == late + minutes(30))
    }

    @Test func acknowledgingStopsEscalationUntilTheAckTimesOut() throws {
        let p = policy(ackTimeout: minutes(30))
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: started, now: t0 + minutes(5))
        #expect(EscalationPlanner.nextDue(acked, policy: p) == t0 + minutes(35))
        #expect(EscalationPlanner.advance(acked, policy: p, now: t0 + minutes(15)).pages.isEmpty)
        let timedOut = EscalationPlanner.advance(acked, policy: p, now: t0 + minutes(35))
        #expect(timedOut.incident.status == .triggered)
        #expect(timedOut.incident.acknowledgedBy == nil)
        #expect(timedOut.pages.map(\.tier) == [1])
        #expect(timedOut.pages.map(\.reason) == [.ackTimeout])
        #expect(timedOut.timeline.first?.detail?.contains("acknowledged by alice but unresolved after 30m") == true)
    }

    @Test func withoutAckTimeoutAnAcknowledgedIncidentWaitsForever() throws {
        let p = policy()
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: started, now: t0 + minutes(1))
        #expect(EscalationPlanner.nextDue(acked, policy: p) == nil)
    }

    @Test func autoResolvesAfterQuietPeriod() {
        let p = policy(autoResolve: .seconds(4 * 3600))
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i.lastAlertAt = t0 + .seconds(3600)
        #expect(EscalationPlanner.advance(i, policy: p, now: t0 + .seconds(4 * 3600)).incident.status != .resolved)
        let d = EscalationPlanner.advance(i, policy: p, now: t0 + .seconds(5 * 3600))
        #expect(d.incident.status == .resolved)
        #expect(d.incident.resolvedBy == "alertbridge")
        #expect(d.incident.escalation.resolution == .autoResolve)
        #expect(d.incident.nextEscalationAt == nil)
        #expect(d.timeline.map(\.detail) == ["no new alert for 4h (auto_resolve_after)"])
    }

    /// alertbridge was stopped past both the SLA deadlines and `auto_resolve_after`: the
    /// breaches still count, and the auto-resolve says it was checked late (the monitors
    /// may have been sending to a server that was not there).
    @Test func aLateAutoResolveStillCountsTheSLAAndSaysItIsLate() {
        let p = policy(autoResolve: .seconds(120), sla: .init(acknowledgeWithin: .seconds(30), resolveWithin: .seconds(90)))
        let i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let d = EscalationPlanner.advance(i, policy: p, now: t0 + .seconds(216))
        #expect(d.incident.status == .resolved)
        #expect(d.slaBreaches == ["acknowledge", "resolve"])
        #expect(d.timeline.map(\.detail) == [
            "SLA: not acknowledged within 30s", "SLA: not resolved within 1m30s",
            "no new alert for 3m36s (auto_resolve_after 2m; checked late: alertbridge was stopped or behind, so senders may not have reached it)",
        ])
        // Each breach at its deadline, when it was missed, not when alertbridge looked.
        #expect(d.timeline.map(\.at) == [t0 + .seconds(30), t0 + .seconds(90), t0 + .seconds(216)])
    }

    /// Fallen due while alertbridge was stopped: it waits for the grace after the start,
    /// and its next look is then, not now (the engine would spin on a due time in the past).
    @Test func anAutoResolveDueBeforeTheGraceWaitsForItsEnd() {
        let p = policy(autoResolve: .seconds(120))
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i.status = .acknowledged  // no tier timer: only the auto-resolve is due
        i.acknowledgedAt = t0
        let started = t0 + .seconds(3000)
        let graceEnds = started + EscalationPlanner.autoResolveGrace
        let waiting = EscalationPlanner.advance(i, policy: p, now: t0 + .seconds(3000), startedAt: started)
        #expect(waiting.incident.status == .acknowledged && waiting.timeline.isEmpty)
        #expect(waiting.incident.nextEscalationAt == t0 + .seconds(3030), "looked at again in 30s, for a re-send")
        #expect(EscalationPlanner.advance(i, policy: p, now: graceEnds - .seconds(10), startedAt: started)
            .incident.nextEscalationAt == graceEnds)
        #expect(EscalationPlanner.advance(i, policy: p, now: graceEnds, startedAt: started).incident.status == .resolved)
        // One whose last alert came after the start is not moved.
        #expect(EscalationPlanner.nextDue(i, policy: p, startedAt: t0 - .seconds(1)) == t0 + .seconds(120))
    }

    /// Opened after the start (its sender reached this alertbridge), it owes nothing to the
    /// grace: it auto-resolves on time, and its SLA breach and escalation end are not held
    /// back. A first round saw every incident of the first 10 minutes after a deploy wait.
    @Test func anIncidentOpenedAfterTheStartResolvesOnTime() {
        let p = policy(repeat: 0, autoResolve: .seconds(60), sla: .init(acknowledgeWithin: .seconds(30)))
        var i = EscalationPlanner.start(incident, policy: p, now: t0 + .seconds(12)).incident
        i.lastAlertAt = t0 + .seconds(12)
        #expect(EscalationPlanner.nextDue(i, policy: p, startedAt: t0) == t0 + .seconds(42), "the SLA deadline")
        let breached = EscalationPlanner.advance(i, policy: p, now: t0 + .seconds(42), startedAt: t0)
        #expect(breached.slaBreaches == ["acknowledge"])
        let closed = EscalationPlanner.advance(breached.incident, policy: p, now: t0 + .seconds(72), startedAt: t0)
        #expect(closed.incident.status == .resolved)
        #expect(closed.timeline.last?.detail == "no new alert for 1m (auto_resolve_after)")
    }

    /// While it waits out the grace, nothing else of an incident that fell quiet is due:
    /// no ack timeout pages tier 1, and no SLA deadline after its quiet time is a breach.
    @Test func duringTheGraceAQuietIncidentOnlyWaits() {
        let p = policy(ackTimeout: .seconds(1800), autoResolve: .seconds(3600), sla: .init(resolveWithin: .seconds(5400)))
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i.status = .acknowledged
        i.acknowledgedAt = t0 + .seconds(2400)  // its ack timeout at 1h10m, after the quiet hour
        let started = t0 + .seconds(6000)
        let graceEnds = started + EscalationPlanner.autoResolveGrace
        let waiting = EscalationPlanner.advance(i, policy: p, now: started, startedAt: started)
        #expect(waiting.pages.isEmpty && waiting.timeline.isEmpty && waiting.slaBreaches.isEmpty)
        #expect(waiting.incident.status == .acknowledged && waiting.incident.nextEscalationAt == t0 + .seconds(6030))
        let resolved = EscalationPlanner.advance(waiting.incident, policy: p, now: graceEnds, startedAt: started)
        #expect(resolved.incident.status == .resolved && resolved.slaBreaches.isEmpty && resolved.pages.isEmpty)
    }

    /// Due to auto-resolve before its SLA deadline, checked after it: no breach, since it
    /// would have closed in time had the engine run then.
    @Test func aLateAutoResolveDueBeforeTheDeadlineBreachesNothing() {
        let p = policy(autoResolve: .seconds(300), sla: .init(resolveWithin: .seconds(1800)))
        var i = EscalationPlanner.start(incident, policy: p, now: t0).incident
        i.lastAlertAt = t0 + .seconds(1470)  // due to resolve at 29m30s
        let d = EscalationPlanner.advance(i, policy: p, now: t0 + .seconds(1860))
        #expect(d.incident.status == .resolved && d.slaBreaches.isEmpty)
    }

    @Test func slaBreachesAreRecordedOnce() throws {
        let p = policy(repeat: 0, sla: .init(acknowledgeWithin: minutes(10), resolveWithin: minutes(60)))
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        #expect(started.nextEscalationAt == t0 + minutes(10))
        let breach = EscalationPlanner.advance(started, policy: p, now: t0 + minutes(10))
        #expect(breach.slaBreaches == ["acknowledge"])
        #expect(breach.timeline.map(\.kind) == [.slaBreached])
        #expect(breach.incident.nextEscalationAt == t0 + minutes(15))
        let again = EscalationPlanner.advance(breach.incident, policy: p, now: t0 + minutes(11))
        #expect(again.slaBreaches.isEmpty)
        let resolveBreach = EscalationPlanner.advance(again.incident, policy: p, now: t0 + minutes(60))
        #expect(resolveBreach.slaBreaches == ["resolve"])
    }

    @Test func acknowledgedInTimeMeetsTheSLA() throws {
        let p = policy(sla: .init(acknowledgeWithin: minutes(10)))
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: started, now: t0 + minutes(9))
        #expect(EscalationPlanner.advance(acked, policy: p, now: t0 + minutes(10)).slaBreaches.isEmpty)
    }

    /// Acknowledged a moment after the deadline, before the engine's look at it (it was
    /// behind, in a storm): the breach is still recorded, at the next look, which is due at once.
    @Test func anAcknowledgementAfterTheDeadlineBeforeTheEngineLookedIsABreach() throws {
        let p = policy(sla: .init(acknowledgeWithin: minutes(10)))
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        var (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: started, now: t0 + minutes(10) + .seconds(2))
        acked.nextEscalationAt = EscalationPlanner.nextDue(acked, policy: p)  // as the store's act does
        #expect(acked.nextEscalationAt == t0 + minutes(10))
        let look = EscalationPlanner.advance(acked, policy: p, now: t0 + minutes(10) + .seconds(3))
        #expect(look.slaBreaches == ["acknowledge"])
        #expect(look.incident.nextEscalationAt == nil, "nothing else is due for an acknowledged incident without timers")
    }

    @Test func escalateByHandPagesTheNextTierAndRefusesPastTheLast() throws {
        let p = policy()
        let started = EscalationPlanner.start(incident, policy: p, now: t0).incident
        let d = try EscalationPlanner.escalateNow(started, policy: p, now: t0 + minutes(2), by: "alice")
        #expect(d.pages.map(\.tier) == [2])
        #expect(d.pages.map(\.reason) == [.manual])
        #expect(d.timeline.first?.by == "alice")
        #expect(d.incident.nextEscalationAt == t0 + minutes(32))
        #expect(throws: EscalationPlanner.Refusal.lastTier("rnd")) {
            try EscalationPlanner.escalateNow(d.incident, policy: p, now: t0 + minutes(3), by: "alice")
        }
        var resolved = started
        resolved.status = .resolved
        #expect(throws: EscalationPlanner.Refusal.resolved) {
            try EscalationPlanner.escalateNow(resolved, policy: p, now: t0, by: "alice")
        }
    }

    @Test func peakWindowShortensTheTimerOfTheTierPagedInIt() {
        let peak = EscalationPolicy.Window(name: "peak", startMinute: 18 * 60, endMinute: 23 * 60,
                                           timeZone: "Asia/Seoul", escalateAfter: minutes(10))
        let p = policy(windows: [peak])
        let evening = RFC3339.parse("2026-11-23T10:00:00Z")!  // 19:00 in Seoul
        let d = EscalationPlanner.start(incident, policy: p, now: evening)
        #expect(d.incident.nextEscalationAt == evening + minutes(10))
        #expect(EscalationPlanner.advance(d.incident, policy: p, now: evening + minutes(10)).pages.map(\.tier) == [2])
    }
}

@Suite struct EscalationWindowTests {
    func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }
    let peak = EscalationPolicy.Window(name: "peak", startMinute: 18 * 60, endMinute: 23 * 60,
                                       timeZone: "Asia/Seoul", escalateAfter: .seconds(600))

    func seoul(_ hhmm: String, day: String = "2026-11-23") -> Timestamp {
        RFC3339.parse("\(day)T\(hhmm):00+09:00")!
    }

    @Test func deadlinesAroundThePeakWindow() {
        let tier = minutes(15)
        #expect(EscalationWindows.deadline(from: seoul("12:00"), tier: tier, windows: [peak]) == seoul("12:15"))
        #expect(EscalationWindows.deadline(from: seoul("18:30"), tier: tier, windows: [peak]) == seoul("18:40"))
        // Paged before the window opens: from 18:00 the 10-minute target is in force.
        #expect(EscalationWindows.deadline(from: seoul("17:55"), tier: tier, windows: [peak]) == seoul("18:05"))
        #expect(EscalationWindows.deadline(from: seoul("17:50"), tier: tier, windows: [peak]) == seoul("18:00"))
        // Paged near the end: after 23:00 the tier's own 15 minutes apply again.
        #expect(EscalationWindows.deadline(from: seoul("22:55"), tier: tier, windows: [peak]) == seoul("23:10"))
    }

    @Test func windowsCrossingMidnight() {
        let night = EscalationPolicy.Window(name: "night", startMinute: 22 * 60, endMinute: 2 * 60,
                                            timeZone: "Asia/Seoul", escalateAfter: minutes(5))
        #expect(EscalationWindows.contains(night, seoul("23:30")))
        #expect(EscalationWindows.contains(night, seoul("01:59", day: "2026-11-24")))
        #expect(!EscalationWindows.contains(night, seoul("02:00", day: "2026-11-24")))
        #expect(!EscalationWindows.contains(night, seoul("21:59")))
        #expect(EscalationWindows.deadline(from: seoul("23:58"), tier: minutes(30), windows: [night])
                == seoul("00:03", day: "2026-11-24"))
        #expect(EscalationWindows.deadline(from: seoul("01:58", day: "2026-11-24"), tier: minutes(30), windows: [night])
                == seoul("02:28", day: "2026-11-24"))
    }

    @Test func windowEndingAtMidnight() {
        let evening = EscalationPolicy.Window(name: "evening", startMinute: 20 * 60, endMinute: 1440,
                                              timeZone: "Asia/Seoul", escalateAfter: minutes(5))
        #expect(EscalationWindows.contains(evening, seoul("23:59")))
        #expect(!EscalationWindows.contains(evening, seoul("00:00", day: "2026-11-24")))
    }

    @Test func daylightSavingMovesTheWindowWithTheWallClock() {
        // New York switches to EDT (UTC-4) on 2026-03-08; the window stays 18:00-23:00 local.
        let ny = EscalationPolicy.Window(name: "peak", startMinute: 18 * 60, endMinute: 23 * 60,
                                         timeZone: "America/New_York", escalateAfter: minutes(10))
        #expect(!EscalationWindows.contains(ny, RFC3339.parse("2026-03-07T22:30:00Z")!))  // 17:30 EST
        #expect(EscalationWindows.contains(ny, RFC3339.parse("2026-03-07T23:30:00Z")!))   // 18:30 EST
        #expect(EscalationWindows.contains(ny, RFC3339.parse("2026-03-08T22:30:00Z")!))   // 18:30 EDT
        #expect(!EscalationWindows.contains(ny, RFC3339.parse("2026-03-08T21:30:00Z")!))  // 17:30 EDT
        // Paged at 17:55 EDT on the first DST evening: the window opens at 22:00 UTC, not 23:00.
        #expect(EscalationWindows.deadline(from: RFC3339.parse("2026-03-08T21:55:00Z")!, tier: minutes(15), windows: [ny])
                == RFC3339.parse("2026-03-08T22:05:00Z")!)
    }

    @Test func windowInAGapOfTheSpringForwardNight() {
        // 02:00-03:00 does not exist in New York on 2026-03-08; the window 02:30-04:00 opens at 03:00 EDT.
        let w = EscalationPolicy.Window(name: "w", startMinute: 150, endMinute: 240, timeZone: "America/New_York",
                                        escalateAfter: minutes(5))
        #expect(EscalationWindows.contains(w, RFC3339.parse("2026-03-08T07:10:00Z")!))   // 03:10 EDT
        #expect(!EscalationWindows.contains(w, RFC3339.parse("2026-03-08T08:10:00Z")!))  // 04:10 EDT
        // Paged at 01:55 EST with a 60-minute tier: the window's 5 minutes are in force from
        // the jump at 03:00 EDT (07:00 UTC), by which time 5 minutes have passed.
        #expect(EscalationWindows.deadline(from: RFC3339.parse("2026-03-08T06:55:00Z")!, tier: minutes(60), windows: [w])
                == RFC3339.parse("2026-03-08T07:00:00Z")!)
    }

    @Test func windowInTheRepeatedHourOfTheFallBackNight() {
        // 01:00-02:00 happens twice in New York on 2026-11-01 (EDT, then EST). A window from
        // 01:30 opens on each pass; paged at 01:05 EST (the second pass, 06:05 UTC), its
        // 10 minutes are in force from 01:30 EST (06:30 UTC).
        let w = EscalationPolicy.Window(name: "w", startMinute: 90, endMinute: 180, timeZone: "America/New_York",
                                        escalateAfter: minutes(10))
        #expect(!EscalationWindows.contains(w, RFC3339.parse("2026-11-01T06:05:00Z")!))  // 01:05 EST
        #expect(EscalationWindows.contains(w, RFC3339.parse("2026-11-01T05:40:00Z")!))   // 01:40 EDT
        #expect(EscalationWindows.deadline(from: RFC3339.parse("2026-11-01T06:05:00Z")!, tier: minutes(60), windows: [w])
                == RFC3339.parse("2026-11-01T06:30:00Z")!)
        // Paged at 01:20 EDT, first pass: the window opens at 01:30 EDT (05:30 UTC).
        #expect(EscalationWindows.deadline(from: RFC3339.parse("2026-11-01T05:20:00Z")!, tier: minutes(60), windows: [w])
                == RFC3339.parse("2026-11-01T05:30:00Z")!)
    }
}
