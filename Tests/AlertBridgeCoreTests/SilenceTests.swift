import AlertBridgeCore
import Testing

/// Silences: what they hold and when, what ingest records while they hold, and what the
/// engine does when they end. All on a manual clock.
@Suite struct SilenceTests {
    let t0 = RFC3339.parse("2026-11-30T02:00:00Z")!

    func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }

    func silence(_ id: Int64, _ matchers: [String], from start: Int64 = 0, to end: Int64 = 120) -> Silence {
        Silence(id: id, matchers: matchers.map { try! Matcher(parsing: $0) }, startsAt: t0 + minutes(start),
                endsAt: t0 + minutes(end), createdBy: "alice", comment: "ICN1 fibre maintenance", createdAt: t0)
    }

    let policy = EscalationPolicy(
        name: "cdn-performance",
        tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(15 * 60)),
            .init(name: "rnd", notify: [.init(connector: "rnd-chat")], escalateAfter: .seconds(30 * 60)),
        ],
        repeat: 0, ackTimeout: .seconds(30 * 60))

    func routed(pop: String, _ status: AlertStatus = .firing, instance: String = "edge-01") -> RoutedAlert {
        let alert = Alert(source: "cdn-monitor", status: status, severity: .critical, summary: "p95 latency at \(pop)",
                          labels: ["alertname": "EdgeLatencyHigh", "pop": pop, "instance": instance])
        return RoutedAlert(alert: alert, rule: "latency", dedupKey: "EdgeLatencyHigh/\(pop)", policy: "cdn-performance",
                           escalationPolicy: policy)
    }

    /// Plans one batch against no stored state, new incidents numbered from 1.
    func plan(_ batch: [RoutedAlert], current: [String: Incident] = [:], silences: [Silence], at now: Timestamp) -> IngestPlanner.Plan {
        let plan = IngestPlanner.plan(batch, current: current, alertStatus: [:], silences: silences, now: now)
        return plan.assigningIDs((0..<plan.newIncidentCount).map { Int64($0 + 1) })
    }

    // MARK: The silence itself

    @Test func aSilenceIsPendingThenActiveThenExpired() {
        let s = silence(1, ["pop = ICN1"], from: 10, to: 70)
        #expect(s.status(at: t0) == .pending)
        #expect(s.status(at: t0 + minutes(10)) == .active)
        #expect(s.status(at: t0 + minutes(70)) == .expired)
        #expect(!s.holds(["pop": "ICN1"], at: t0))
        #expect(s.holds(["pop": "ICN1"], at: t0 + minutes(30)))
        #expect(!s.holds(["pop": "NRT2"], at: t0 + minutes(30)))
    }

    @Test func expiringEndsItNowAndAPendingOneNeverStarts() throws {
        let active = try silence(1, ["pop = ICN1"]).expired(by: "bob", at: t0 + minutes(5))
        #expect(active.endsAt == t0 + minutes(5))
        #expect(active.startsAt == t0)
        #expect(active.expiredBy == "bob")
        let pending = try silence(2, ["pop = ICN1"], from: 60).expired(by: "bob", at: t0 + minutes(5))
        #expect(pending.startsAt == t0 + minutes(5) && pending.endsAt == t0 + minutes(5))
        #expect(pending.status(at: t0 + minutes(5)) == .expired)
        #expect(throws: Silence.Refusal.alreadyExpired(1, t0 + minutes(5))) {
            try active.expired(by: "bob", at: t0 + minutes(6))
        }
    }

    /// Maintenance runs over: the same silence ends later, from now (or its pending start),
    /// and says who extended it.
    @Test func anExtensionMovesTheEndLater() throws {
        let now = t0 + minutes(100)
        let active = silence(7, ["pop = ICN1"], from: 0, to: 120)
        let next = try active.extended(to: .after(minutes(60)), by: "bob", comment: nil, at: now)
        #expect(next.id == 7 && next.matchers == active.matchers && next.startsAt == active.startsAt)
        #expect(next.endsAt == now + minutes(60) && next.extendedBy == "bob" && next.expiredBy == nil)
        #expect(next.createdBy == "alice" && next.comment == "ICN1 fibre maintenance")
        // Past the old end, it still holds.
        #expect([next].holding(["pop": "ICN1"], at: t0 + minutes(150)) == next)

        let pending = silence(8, ["pop = NRT2"], from: 200, to: 260)
        let later = try pending.extended(to: .at(t0 + minutes(300)), by: "bob", comment: "vendor asked for more time", at: now)
        #expect(later.startsAt == t0 + minutes(200) && later.endsAt == t0 + minutes(300))
        #expect(later.comment == "vendor asked for more time" && later.status(at: now) == .pending)
        #expect(try pending.extended(to: .after(minutes(90)), by: "bob", comment: nil, at: now).endsAt
                == t0 + minutes(290))  // a duration counts from a pending silence's start
    }

    @Test func anExtensionMustEndLaterAndTheSilenceMustNotHaveEnded() {
        let s = silence(7, ["pop = ICN1"], from: 0, to: 120)
        #expect(throws: Silence.Refusal.notLater(7, t0 + minutes(120))) {
            try s.extended(to: .at(t0 + minutes(110)), by: "bob", comment: nil, at: t0 + minutes(100))
        }
        #expect(throws: Silence.Refusal.notLater(7, t0 + minutes(120))) {
            try s.extended(to: .after(minutes(20)), by: "bob", comment: nil, at: t0 + minutes(100))
        }
        #expect(throws: Silence.Refusal.alreadyExpired(7, t0 + minutes(120))) {
            try s.extended(to: .after(minutes(60)), by: "bob", comment: nil, at: t0 + minutes(120))
        }
        #expect(throws: Silence.Refusal.tooLong) {
            try s.extended(to: .after(DurationText.longest + .seconds(1)), by: "bob", comment: nil, at: t0 + minutes(100))
        }
    }

    @Test func ofSeveralSilencesTheOneThatEndsLastHolds() {
        let silences = [silence(1, ["pop = ICN1"], to: 60), silence(2, ["alertname =~ Edge.*"], to: 90),
                        silence(3, ["pop = NRT2"], to: 300)]
        #expect(silences.holding(["alertname": "EdgeLatencyHigh", "pop": "ICN1"], at: t0)?.id == 2)
        #expect(silences.holding(["alertname": "PopDown", "pop": "ICN1"], at: t0)?.id == 1)
        #expect(silences.holding(["alertname": "PopDown", "pop": "SIN1"], at: t0) == nil)
    }

    @Test func quotedMatchersReadBackAsTheSameMatcher() throws {
        for text in [#"pop = ICN1"#, #"alertname =~ "Edge.*|Origin.*""#, #"pop =~ "ICN\d+""#, #"summary != "say \"hi\"""#,
                     #"path = "C:\\edge""#, #"note = "a\nb""#] {
            let matcher = try Matcher(parsing: text)
            #expect(try Matcher(parsing: matcher.quoted) == matcher, "\(text) → \(matcher.quoted)")
        }
        #expect(try Matcher(parsing: "pop = ICN1").quoted == #"pop="ICN1""#)
    }

    // MARK: Ingest while a silence holds

    @Test func aSilencedAlertOpensAnIncidentThatPagesNobodyUntilTheSilenceEnds() throws {
        let p = plan([routed(pop: "ICN1"), routed(pop: "NRT2")], silences: [silence(7, ["pop = ICN1"])], at: t0 + minutes(1))
        #expect(p.outcomes.map(\.kind) == [.suppressed, .created])
        #expect(p.pages.map(\.incidentID) == [2])  // only NRT2 pages
        let held = try #require(p.incidents.first { $0.id == 1 })
        #expect(held.escalation.heldUntil == t0 + minutes(120))
        #expect(held.nextEscalationAt == t0 + minutes(120))
        #expect(!held.escalation.hasPaged)
        #expect(p.policySnapshots[1] == policy)  // kept, so the engine can page it later
        let said = p.timeline.filter { $0.incidentID == 1 }.compactMap(\.detail)
        #expect(said.contains("suppressed: silenced by silence 7 until 2026-11-30T04:00:00Z (alice: ICN1 fibre maintenance)"))
    }

    @Test func aPendingOrEndedSilenceHoldsNothing() {
        let silences = [silence(1, ["pop = ICN1"], from: 30, to: 60)]
        #expect(plan([routed(pop: "ICN1")], silences: silences, at: t0).outcomes.map(\.kind) == [.created])
        #expect(plan([routed(pop: "ICN1")], silences: silences, at: t0 + minutes(60)).outcomes.map(\.kind) == [.created])
        #expect(plan([routed(pop: "ICN1")], silences: silences, at: t0 + minutes(30)).outcomes.map(\.kind) == [.suppressed])
    }

    @Test func anAlertNoSilenceHoldsStartsPagingTheHeldIncident() throws {
        let first = plan([routed(pop: "ICN1", instance: "edge-01")], silences: [silence(1, ["instance = edge-01"])], at: t0)
        let held = try #require(first.incidents.first)
        // A second host of the same PoP, not covered by the silence, merges into it.
        let next = IngestPlanner.plan([routed(pop: "ICN1", instance: "edge-02")], current: [held.dedupKey: held],
                                      alertStatus: [.init(incidentID: held.id, fingerprint: routed(pop: "ICN1").alert.fingerprint): .firing],
                                      silences: [silence(1, ["instance = edge-01"])], now: t0 + minutes(5))
        #expect(next.outcomes.map(\.kind) == [.merged])
        #expect(next.outcomes[0].startedPaging)
        #expect(next.pages.map(\.tier) == [1])
        #expect(next.incidents[0].escalation.heldUntil == nil)
        #expect(next.incidents[0].nextEscalationAt == t0 + minutes(20))
    }

    /// Nothing is held, so the answer is `merged`: `suppressed` told the sender the page
    /// was held while the incident went on escalating (black-box round 21). Into an
    /// incident the silence holds, it is `suppressed`.
    @Test func aSilencedAlertMergingIntoAPagingIncidentDoesNotStopIt() throws {
        let first = plan([routed(pop: "ICN1")], silences: [], at: t0)
        let paging = try #require(first.incidents.first)
        let next = IngestPlanner.plan([routed(pop: "ICN1")], current: [paging.dedupKey: paging], alertStatus: [:],
                                      silences: [silence(1, ["pop = ICN1"])], now: t0 + minutes(5))
        #expect(next.outcomes.map(\.kind) == [.merged])
        #expect(next.incidents[0].nextEscalationAt == t0 + minutes(15))  // tier 2 still due
        let held = try heldIncident()
        let again = IngestPlanner.plan([routed(pop: "ICN1")], current: [held.dedupKey: held], alertStatus: [:],
                                       silences: [silence(1, ["pop = ICN1"])], now: t0 + minutes(1))
        #expect(again.outcomes.map(\.kind) == [.suppressed])
    }

    // MARK: The engine when the silence ends

    func heldIncident(until end: Int64 = 120) throws -> Incident {
        let p = plan([routed(pop: "ICN1")], silences: [silence(1, ["pop = ICN1"], to: end)], at: t0)
        return try #require(p.incidents.first)
    }

    @Test func whenTheSilenceEndsAStillOpenIncidentPagesTierOne() throws {
        let held = try heldIncident()
        #expect(EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(60), silences: [silence(1, ["pop = ICN1"])]).pages.isEmpty)
        let d = EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(120), silences: [])
        #expect(d.pages.map(\.tier) == [1])
        #expect(d.pages.map(\.reason) == [.triggered])
        #expect(d.timeline.map(\.detail).first == "no silence holds this incident any more and it is still open: paging")
        #expect(d.incident.escalation.heldUntil == nil)
        #expect(d.incident.nextEscalationAt == t0 + minutes(135))  // tier 2 from the page, not from creation
        // Ended while alertbridge was stopped: the timeline says the page came late
        // (black-box round 28: paged 37 s late, read as on time).
        let late = EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(120) + .seconds(37), silences: [])
        #expect(late.timeline.map(\.detail).first == "no silence holds this incident any more and it is still open: paging; "
                + "due at \(RFC3339.format(t0 + minutes(120))), taken 37s late: alertbridge was stopped or behind")
    }

    @Test func anotherSilenceThatStillHoldsPushesThePageToItsEnd() throws {
        let held = try heldIncident()
        let longer = silence(2, ["alertname = EdgeLatencyHigh"], from: 100, to: 240)
        let d = EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(120), silences: [longer])
        #expect(d.pages.isEmpty)
        #expect(d.incident.escalation.heldUntil == t0 + minutes(240))
        #expect(d.incident.nextEscalationAt == t0 + minutes(240))
        // Said once, so the timeline does not end on the first silence's end, which passed.
        #expect(d.timeline.map(\.detail) == ["still silenced: nobody is paged before 2026-11-30T06:00:00Z"])
        let again = EscalationPlanner.advance(d.incident, policy: policy, now: t0 + minutes(150), silences: [longer])
        #expect(again.timeline.isEmpty)
    }

    /// It stays acknowledged until the later of its ack_timeout and the silence's end.
    @Test func aHeldIncidentAcknowledgedDuringTheSilenceDoesNotPageAtItsAckTimeout() throws {
        var held = try heldIncident(until: 240)
        held = try IncidentAction.acknowledge(by: "bob", note: nil).apply(to: held, now: t0 + minutes(10)).0
        let d = EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(40), silences: [silence(1, ["pop = ICN1"], to: 240)])
        #expect(d.incident.status == .acknowledged && d.incident.acknowledgedBy == "bob")
        #expect(d.pages.isEmpty)
        #expect(d.incident.nextEscalationAt == t0 + minutes(240))
        // Once the silence is over, it pages.
        let over = EscalationPlanner.advance(d.incident, policy: policy, now: t0 + minutes(240))
        #expect(over.pages.map(\.tier) == [1] && over.pages.first?.reason == .ackTimeout && over.incident.status == .triggered)
    }

    /// The silence was extended, or another one holds it since: it stays acknowledged until
    /// the new end, and is then paged as an acknowledgement that lapsed (black-box round 35:
    /// it went back to triggered at the old end, and its page at the new one did not say
    /// that bob had had it).
    @Test func aHeldAcknowledgedIncidentWaitsForTheSilencesNewEnd() throws {
        var held = try heldIncident(until: 240)
        held = try IncidentAction.acknowledge(by: "bob", note: nil).apply(to: held, now: t0 + minutes(10)).0
        #expect(held.nextEscalationAt == t0 + minutes(240))
        let extended = EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(240), silences: [silence(1, ["pop = ICN1"], to: 300)])
        #expect(extended.incident.status == .acknowledged && extended.pages.isEmpty)
        #expect(extended.incident.nextEscalationAt == t0 + minutes(300))
        #expect(extended.timeline.map(\.detail) == ["still silenced: nobody is paged before 2026-11-30T07:00:00Z"])
        let over = EscalationPlanner.advance(extended.incident, policy: policy, now: t0 + minutes(300))
        #expect(over.pages.map(\.tier) == [1] && over.pages.first?.reason == .ackTimeout)
        #expect(over.timeline.first?.detail == "acknowledged by bob but unresolved after 4h50m, when the silence that held it ended "
                + "(ack_timeout 30m): back to triggered")

        // Expired early and another silence added: its ack_timeout keeps its own time, and
        // the timeline says what holds the page back.
        let expired = EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(20))
        #expect(expired.incident.escalation.heldUntil == nil && expired.incident.nextEscalationAt == t0 + minutes(40))
        let replaced = EscalationPlanner.advance(expired.incident, policy: policy, now: t0 + minutes(40), silences: [silence(2, ["pop = ICN1"], to: 90)])
        #expect(replaced.incident.status == .triggered && replaced.pages.isEmpty && replaced.incident.nextEscalationAt == t0 + minutes(90))
        #expect(replaced.timeline.map(\.detail) == ["acknowledged by bob but unresolved after 30m (ack_timeout): back to triggered",
                                                    "a silence holds it: nobody is paged before 2026-11-30T03:30:00Z"])
    }

    @Test func slaClocksRunFromThePageNotFromTheHeldCreation() throws {
        var sla = policy
        sla.sla = .init(acknowledgeWithin: minutes(10), resolveWithin: minutes(60))
        let p = IngestPlanner.plan([{ var r = routed(pop: "ICN1"); r.escalationPolicy = sla; return r }()], current: [:],
                                   alertStatus: [:], silences: [silence(1, ["pop = ICN1"])], now: t0)
        var i = try #require(p.assigningIDs([1]).incidents.first)
        #expect(i.nextEscalationAt == t0 + minutes(120))  // no SLA deadline while nobody was paged
        var d = EscalationPlanner.advance(i, policy: sla, now: t0 + minutes(120))
        #expect(d.slaBreaches.isEmpty && d.pages.count == 1)
        #expect(d.incident.nextEscalationAt == t0 + minutes(130))
        i = d.incident
        d = EscalationPlanner.advance(i, policy: sla, now: t0 + minutes(130))
        #expect(d.slaBreaches == ["acknowledge"])
    }

    @Test func anAlertBothInhibitedAndSilencedIsInhibitedAndNotPagedWhenTheSilenceEnds() throws {
        var edge = routed(pop: "ICN1")
        edge.inhibitors = [InhibitCandidate(sourceRule: "pop-down", equal: ["pop"])]
        let popDown = Incident(id: 9, dedupKey: "PopDown/ICN1", status: .triggered, title: "ICN1 down", severity: .critical,
                               labels: ["alertname": "PopDown", "pop": "ICN1"], annotations: [:], rule: "pop-down",
                               policy: "pop-outage", alertCount: 1, firingCount: 1, createdAt: t0, lastAlertAt: t0)
        let p = IngestPlanner.plan([edge], current: [:], alertStatus: [:], inhibitSources: [popDown],
                                   silences: [silence(1, ["pop = ICN1"])], now: t0).assigningIDs([10])
        #expect(p.outcomes.map(\.kind) == [.suppressed])
        let incident = try #require(p.incidents.first { $0.id == 10 })
        #expect(incident.escalation.inhibitedBy == [9])
        #expect(p.timeline.contains { $0.detail?.hasPrefix("suppressed: inhibited by incident 9") == true })
        // The silence ends while PopDown is still open: nobody is paged.
        var d = EscalationPlanner.advance(incident, policy: policy, now: t0 + minutes(121), silences: [],
                                          inhibitors: [popDown])
        #expect(d.pages.isEmpty)
        #expect(d.incident.nextEscalationAt == t0 + minutes(122))
        // PopDown resolved while the silence still holds: held until the silence ends.
        var recovered = popDown
        recovered.status = .resolved
        d = EscalationPlanner.advance(incident, policy: policy, now: t0 + minutes(60), silences: [silence(1, ["pop = ICN1"])],
                                      inhibitors: [recovered])
        #expect(d.pages.isEmpty)
        #expect(d.incident.nextEscalationAt == t0 + minutes(120))
    }

    @Test func aSilencedAlertOfAnIncidentCreatedInhibitedPagesWhenTheSilenceEnds() throws {
        let inhibited = Incident(id: 3, dedupKey: "EdgeLatencyHigh/ICN1", status: .triggered, title: "latency", severity: .critical,
                                 labels: routed(pop: "ICN1").alert.labels, annotations: [:], rule: "latency",
                                 policy: "cdn-performance", alertCount: 1, firingCount: 1, createdAt: t0, lastAlertAt: t0)
        let key = IngestPlanner.AlertKey(incidentID: 3, fingerprint: routed(pop: "ICN1").alert.fingerprint)
        // Its PopDown resolved during the window; the next alert is silenced, not inhibited.
        let p = IngestPlanner.plan([routed(pop: "ICN1")], current: [inhibited.dedupKey: inhibited], alertStatus: [key: .firing],
                                   silences: [silence(1, ["pop = ICN1"])], now: t0 + minutes(30))
        #expect(p.outcomes.map(\.kind) == [.suppressed])
        let held = try #require(p.incidents.first)
        #expect(held.nextEscalationAt == t0 + minutes(120))
        #expect(p.policySnapshots[3] == policy)
        #expect(EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(120)).pages.map(\.tier) == [1])
    }

    @Test func anIncidentStaysHeldOnlyWhileEveryFiringAlertIsHeld() throws {
        let held = try heldIncident(until: 240)
        let edge01 = routed(pop: "ICN1", instance: "edge-01").alert.labels
        let edge02 = routed(pop: "ICN1", instance: "edge-02").alert.labels
        let silences = [silence(1, ["instance = edge-01"], to: 240), silence(2, ["instance = edge-02"], to: 90)]
        #expect(silences.holdEnd(of: [edge01, edge02], at: t0 + minutes(60)) == t0 + minutes(90))
        #expect(silences.holdEnd(of: [edge01, edge02], at: t0 + minutes(90)) == nil)
        #expect(EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(60), silences: silences,
                                          firingLabels: [edge01, edge02]).incident.nextEscalationAt == t0 + minutes(90))
        #expect(EscalationPlanner.advance(held, policy: policy, now: t0 + minutes(90), silences: [silences[0]],
                                          firingLabels: [edge01, edge02]).pages.map(\.tier) == [1])
    }

    @Test func aReopenedIncidentHeldByASilencePagesAsReopened() throws {
        var resolved = try heldIncident()
        resolved = EscalationPlanner.advance(resolved, policy: policy, now: t0 + minutes(120)).incident  // paged
        resolved.status = .resolved
        resolved.resolvedAt = t0 + minutes(130)
        resolved.firingCount = 0
        let key = IngestPlanner.AlertKey(incidentID: resolved.id, fingerprint: routed(pop: "ICN1").alert.fingerprint)
        var again = routed(pop: "ICN1")
        again.reopenWithin = minutes(60)
        let p = IngestPlanner.plan([again], current: [resolved.dedupKey: resolved], alertStatus: [key: .resolved],
                                   silences: [silence(2, ["pop = ICN1"], to: 200)], now: t0 + minutes(140))
        #expect(p.outcomes.map(\.kind) == [.suppressed])
        let d = EscalationPlanner.advance(try #require(p.incidents.first), policy: policy, now: t0 + minutes(200))
        #expect(d.pages.map(\.reason) == [.reopened])
    }

    @Test func anIncidentOfAnEarlierBuildKeepsItsSLAFromCreation() throws {
        var sla = policy
        sla.sla = .init(acknowledgeWithin: minutes(30))
        var old = try heldIncident()
        old.escalation = EscalationState()
        old.escalation.step = 1  // paged at creation by a build without firstPagedAt
        old.escalation.tierPagedAt = t0
        old.tier = 1
        let d = EscalationPlanner.advance(old, policy: sla, now: t0 + minutes(15))  // tier 2
        #expect(d.pages.map(\.tier) == [2])
        #expect(d.incident.escalation.firstPagedAt == t0)
        #expect(d.incident.nextEscalationAt == t0 + minutes(30))  // the SLA deadline, from creation
    }

    @Test func aResolvedHeldIncidentPagesNobodyWhenTheSilenceEnds() throws {
        let held = try heldIncident()
        let resolved = IngestPlanner.plan([routed(pop: "ICN1", .resolved)], current: [held.dedupKey: held],
                                          alertStatus: [.init(incidentID: held.id, fingerprint: routed(pop: "ICN1").alert.fingerprint): .firing],
                                          now: t0 + minutes(30))
        #expect(resolved.outcomes.map(\.kind) == [.resolved])
        #expect(resolved.incidents[0].nextEscalationAt == nil)
        #expect(EscalationPlanner.advance(resolved.incidents[0], policy: policy, now: t0 + minutes(120)).pages.isEmpty)
    }
}
