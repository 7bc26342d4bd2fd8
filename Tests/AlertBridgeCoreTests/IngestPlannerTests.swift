import AlertBridgeCore
import Testing

/// Dedup, merge, multi-alert resolve and reopen, driven by a manual clock.
@Suite struct IngestPlannerTests {
    let t0 = Timestamp(seconds: 1_795_457_100)

    func routed(_ instance: String, _ status: AlertStatus = .firing, severity: Severity = .warning,
                key: String = "EdgeLatencyHigh/ICN1/cdn-edge", reopen: Duration = .seconds(600),
                resolve: Rule.ResolveMode = .all) -> RoutedAlert {
        let alert = Alert(source: "test", status: status, severity: severity, summary: "latency at ICN1",
                          labels: ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": instance])
        return RoutedAlert(alert: alert, rule: "latency", dedupKey: key, policy: "cdn-performance",
                           reopenWithin: reopen, resolve: resolve)
    }

    /// `routed(_:_:)` with the policy it runs, as the router sets it.
    func routed(_ instance: String, _ status: AlertStatus = .firing, running policy: EscalationPolicy) -> RoutedAlert {
        var r = routed(instance, status)
        r.escalationPolicy = policy
        return r
    }

    /// Applies a batch to `state` as a store would, and returns the outcomes.
    func apply(_ batch: [RoutedAlert], to state: inout World, at now: Timestamp) -> [IngestOutcome] {
        let keys = Set(batch.map(\.dedupKey))
        let current = state.incidents.values.filter { keys.contains($0.dedupKey) }
            .reduce(into: [String: Incident]()) { out, i in if (out[i.dedupKey]?.id ?? 0) < i.id { out[i.dedupKey] = i } }
        var plan = IngestPlanner.plan(batch, current: current, alertStatus: state.alerts, now: now)
        plan = plan.assigningIDs((0..<plan.newIncidentCount).map { Int64(state.nextID + $0) })
        state.nextID += plan.newIncidentCount
        for i in plan.incidents { state.incidents[i.id] = i }
        for id in plan.resolvedIncidentIDs { for k in state.alerts.keys where k.incidentID == id { state.alerts[k] = .resolved } }
        for a in plan.alerts { state.alerts[.init(incidentID: a.incidentID, fingerprint: a.alert.fingerprint)] = a.alert.status }
        state.timeline += plan.timeline
        return plan.outcomes
    }

    struct World {
        var incidents: [Int64: Incident] = [:]
        var alerts: [IngestPlanner.AlertKey: AlertStatus] = [:]
        var timeline: [TimelineEntry] = []
        var nextID = 1
    }

    @Test func duplicatesMergeIntoOneIncident() {
        var w = World()
        let out = apply([routed("edge-01"), routed("edge-01"), routed("edge-01")], to: &w, at: t0)
        #expect(out.map(\.kind) == [.created, .merged, .merged])
        #expect(Set(out.map(\.incidentID)) == [1])
        #expect(w.incidents.count == 1)
        #expect(w.incidents[1]?.alertCount == 3)
        #expect(w.incidents[1]?.firingCount == 1)
        // A duplicate of an already-firing alert does not add timeline noise.
        #expect(w.timeline.map(\.kind) == [.created, .alert])
        #expect(w.timeline[1].detail == "not paged: no escalation policy named \"cdn-performance\" is loaded")
    }

    /// `{{pops}}` for `{{pop}}`: every PoP's alert renders `PopDown/` and merges into one
    /// incident. Its timeline says why at once, naming the label and the rule.
    @Test func aKeyLabelTheAlertLacksIsOnTheTimeline() throws {
        let rules = RuleSet(rules: [Rule(name: "pop-down", matchers: [try Matcher(parsing: "alertname = PopDown")],
                                         dedupKey: try DedupKeyTemplate(parsing: "PopDown/{{pops}}"), policy: "pop-outage")])
        func down(_ pop: String) -> RoutedAlert {
            rules.route(Alert(source: "am", status: .firing, severity: .critical, summary: "\(pop) down",
                              labels: ["alertname": "PopDown", "pop": pop]))[0]
        }
        var w = World()
        let out = apply([down("ICN1"), down("NRT2")], to: &w, at: t0)
        #expect(out.map(\.kind) == [.created, .merged])
        #expect(w.timeline.filter { $0.kind == .note }.map(\.detail) == [
            "the alert has no pops, which rule pop-down's dedup_key uses: it renders empty in key \"PopDown/\", so alerts that differ only there share this incident"])
        let fine = try RuleSet(rules: [Rule(name: "pop-down", dedupKey: DedupKeyTemplate(parsing: "PopDown/{{pop}}"), policy: "p")])
        #expect(fine.route(Alert(source: "am", status: .firing, severity: .critical, summary: "s", labels: ["pop": "ICN1"]))[0]
            .missingKeyLabels.isEmpty)
        #expect(fine.route(Alert(source: "am", status: .firing, severity: .critical, summary: "s", labels: ["pop": ""]))[0]
            .missingKeyLabels == ["pop"], "an empty label is an absent one")
    }

    @Test func mergeRaisesSeverityButNeverLowersIt() {
        var w = World()
        func routed(_ severity: Severity, _ summary: String) -> RoutedAlert {
            var r = self.routed("edge-01", severity: severity)
            r.alert.summary = summary
            return r
        }
        _ = apply([routed(.warning, "p95 900ms at ICN1")], to: &w, at: t0)
        _ = apply([routed(.critical, "p95 2.5s at ICN1")], to: &w, at: t0 + .seconds(10))
        #expect(w.incidents[1]?.severity == .critical)
        _ = apply([routed(.info, "p95 300ms at ICN1")], to: &w, at: t0 + .seconds(20))
        #expect(w.incidents[1]?.severity == .critical)
        #expect(w.incidents[1]?.lastAlertAt == t0 + .seconds(20))
        #expect(w.timeline.contains { $0.detail == "severity raised from warning to critical" })
        // The title follows the alert that set the severity; a lower one changes nothing.
        #expect(w.incidents[1]?.title == "p95 2.5s at ICN1")
    }

    @Test func incidentResolvesOnlyWhenEveryAlertHasResolved() {
        var w = World()
        _ = apply([routed("icn1-edge-01"), routed("icn1-edge-02")], to: &w, at: t0)
        #expect(w.incidents[1]?.firingCount == 2)
        let first = apply([routed("icn1-edge-01", .resolved)], to: &w, at: t0 + .seconds(60))
        #expect(first.map(\.kind) == [.merged])
        #expect(w.incidents[1]?.status == .triggered)
        #expect(w.timeline.contains { $0.kind == .alert && $0.detail == "icn1-edge-01 recovered" })
        // A probe's alert names no host: its recovery says what it was, as its firing line does.
        var probe = routed("", .firing)
        probe.alert.labels = ["alertname": "PopDown", "pop": "ICN1", "probe": "sydney"]
        probe.alert.summary = "ICN1 unreachable from probe sydney"
        probe.alert.fingerprint = Fingerprint.of(probe.alert.labels)
        _ = apply([probe], to: &w, at: t0 + .seconds(90))
        probe.alert.status = .resolved
        _ = apply([probe], to: &w, at: t0 + .seconds(100))
        #expect(w.timeline.contains { $0.detail == "\(probe.alert.fingerprint) recovered: ICN1 unreachable from probe sydney" },
                "\(w.timeline.map(\.detail))")
        let second = apply([routed("icn1-edge-02", .resolved)], to: &w, at: t0 + .seconds(120))
        #expect(second.map(\.kind) == [.resolved])
        #expect(w.incidents[1]?.status == .resolved)
        #expect(w.incidents[1]?.resolvedAt == t0 + .seconds(120))
    }

    /// A recovery of an alert the open incident never held (another host of the PoP that
    /// never fired) resolves nothing and is not written into it: nothing was left to resolve.
    @Test func aRecoveryOfAnAlertTheIncidentNeverHeldChangesNothing() {
        var w = World()
        _ = apply([routed("edge-01")], to: &w, at: t0)
        let before = w.incidents[1]
        let out = apply([routed("never-fired", .resolved)], to: &w, at: t0 + .seconds(60))
        #expect(out == [IngestOutcome(incidentID: nil, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", kind: .resolved)])
        #expect(w.incidents[1] == before)
        #expect(w.alerts.count == 1)
        // Fired within the same request, its recovery is one the incident holds.
        let both = apply([routed("edge-02"), routed("edge-02", .resolved)], to: &w, at: t0 + .seconds(70))
        #expect(both.map(\.kind) == [.merged, .merged])
        #expect(w.alerts.count == 2)
    }

    @Test func resolveModeAnyResolvesAtFirstRecovery() {
        var w = World()
        _ = apply([routed("a", resolve: .any), routed("b", resolve: .any)], to: &w, at: t0)
        #expect(apply([routed("a", .resolved, resolve: .any)], to: &w, at: t0 + .seconds(5)).map(\.kind) == [.resolved])
        #expect(w.incidents[1]?.status == .resolved)
        // "b" never recovered: the timeline says what resolved it, not "all alerts resolved".
        #expect(w.timeline.last?.detail == "a recovered, and rule latency resolves on any recovery (resolve: any)")
    }

    @Test func refiringWithinTheReopenWindowReopens() {
        var w = World()
        _ = apply([routed("edge-01")], to: &w, at: t0)
        _ = apply([routed("edge-01", .resolved)], to: &w, at: t0 + .seconds(60))
        let out = apply([routed("edge-01")], to: &w, at: t0 + .seconds(60 + 599))
        #expect(out.map(\.kind) == [.reopened])
        #expect(out[0].incidentID == 1)
        #expect(w.incidents[1]?.status == .triggered)
        #expect(w.incidents[1]?.resolvedAt == nil)
        #expect(w.incidents[1]?.firingCount == 1)
        #expect(w.timeline.last { $0.kind == .reopened } != nil)
    }

    /// A flap: paged, recovered 30 s later (before its 30 s acknowledge deadline), fired
    /// again 5 s after, acknowledged 5 s after that. Nobody was late: the reopened
    /// episode's page starts its acknowledge clock. (It breached the moment it reopened.)
    /// After an acknowledgement, or a deadline that passed, the first page still counts.
    @Test func aReopenNobodyHadToAcknowledgeStartsTheAcknowledgeClock() throws {
        let policy = EscalationPolicy(name: "cdn-performance", tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
        ], sla: .init(acknowledgeWithin: .seconds(30)))
        func flapping(_ status: AlertStatus = .firing) -> RoutedAlert { routed("edge-01", status, running: policy) }
        var w = World()
        _ = apply([flapping()], to: &w, at: t0)
        _ = apply([flapping(.resolved)], to: &w, at: t0 + .seconds(30))
        _ = apply([flapping()], to: &w, at: t0 + .seconds(35))
        let reopened = try #require(w.incidents[1])
        #expect(reopened.acknowledgeSLAFrom == t0 + .seconds(35))
        #expect(EscalationPlanner.nextDue(reopened, policy: policy) == t0 + .seconds(65))
        #expect(EscalationPlanner.advance(reopened, policy: policy, now: t0 + .seconds(40)).slaBreaches.isEmpty)

        var acked = reopened
        acked.escalation.firstAcknowledgedAt = t0 + .seconds(40)
        acked.status = .resolved
        acked.resolvedAt = t0 + .seconds(60)
        w.incidents[1] = acked
        _ = apply([flapping()], to: &w, at: t0 + .seconds(100))
        #expect(w.incidents[1]?.acknowledgeSLAFrom == t0 + .seconds(35), "acknowledged before: the clock is not reset")
    }

    /// A flap nobody acknowledged whose tier 2 an edit of its policy removed starts again
    /// from tier 1, and says why: it did so silently (black-box round 39).
    @Test func aFlapWhoseTierWasEditedAwayStartsAgainAndSaysWhy() throws {
        let twoTiers = EscalationPolicy(name: "cdn-performance", tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "console")], escalateAfter: .seconds(1800)),
        ])
        var oneTier = twoTiers
        oneTier.tiers.removeLast()
        var w = World()
        _ = apply([routed("edge-01", running: twoTiers)], to: &w, at: t0)
        w.incidents[1] = EscalationPlanner.advance(try #require(w.incidents[1]), policy: twoTiers, now: t0 + .seconds(900)).incident
        _ = apply([routed("edge-01", .resolved, running: twoTiers)], to: &w, at: t0 + .seconds(1000))
        _ = apply([routed("edge-01", running: oneTier)], to: &w, at: t0 + .seconds(1010))
        #expect(w.incidents[1]?.tier == 1)
        #expect(w.timeline.compactMap(\.detail).contains(
            "nobody acknowledged it before it resolved, but policy cdn-performance has no tier 2 now (it has 1): "
                + "escalation starts again from tier 1"), "\(w.timeline.compactMap(\.detail).suffix(4))")
    }

    /// A flap nobody acknowledged takes up its escalation where it was: tier 2, paged at
    /// 15 minutes, is due to repeat 30 minutes after that page, not after the reopen. One an
    /// operator resolved starts again from tier 1, as one someone acknowledged does, also
    /// when their acknowledgement timed out before it resolved (black-box round 34: the
    /// reopen said "nobody acknowledged it" and paged tier 2 a second later).
    @Test func onlyAFlapNobodyAcknowledgedTakesUpItsEscalation() throws {
        let policy = EscalationPolicy(name: "cdn-performance", tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "console")], escalateAfter: .seconds(1800)),
        ], repeat: 1, ackTimeout: .seconds(600))
        func flapping(_ status: AlertStatus = .firing) -> RoutedAlert { routed("edge-01", status, running: policy) }
        var w = World()
        _ = apply([flapping()], to: &w, at: t0)
        w.incidents[1] = EscalationPlanner.advance(try #require(w.incidents[1]), policy: policy, now: t0 + .seconds(900)).incident
        _ = apply([flapping(.resolved)], to: &w, at: t0 + .seconds(1000))
        #expect(apply([flapping()], to: &w, at: t0 + .seconds(1060)).map(\.kind) == [.reopened])
        let resumed = try #require(w.incidents[1])
        #expect(resumed.tier == 2 && resumed.status == .triggered)
        #expect(resumed.escalation.tierPagedAt == t0 + .seconds(900))
        #expect(resumed.nextEscalationAt == t0 + .seconds(900 + 1800))
        #expect(resumed.escalation.highestTier == 2)

        var byHand = resumed
        byHand.status = .resolved
        byHand.resolvedAt = t0 + .seconds(1100)
        byHand.escalation.resolution = .operator
        w.incidents[1] = byHand
        _ = apply([flapping()], to: &w, at: t0 + .seconds(1160))
        let restarted = try #require(w.incidents[1])
        #expect(restarted.tier == 1 && restarted.nextEscalationAt == t0 + .seconds(1160 + 900))

        // Acknowledged, its ack_timeout ran out (tier 1 paged again), then its alerts recovered.
        var (acked, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: restarted, now: t0 + .seconds(1200))
        acked = EscalationPlanner.advance(acked, policy: policy, now: t0 + .seconds(1800)).incident
        #expect(acked.status == .triggered && acked.acknowledgedBy == nil, "the ack timed out")
        w.incidents[1] = acked
        _ = apply([flapping(.resolved)], to: &w, at: t0 + .seconds(1900))
        #expect(apply([flapping()], to: &w, at: t0 + .seconds(1960)).map(\.kind) == [.reopened])
        let afterTimeout = try #require(w.incidents[1])
        #expect(afterTimeout.tier == 1 && afterTimeout.nextEscalationAt == t0 + .seconds(1960 + 900))
        #expect(!w.timeline.contains { $0.detail?.contains("nobody acknowledged it before it resolved") == true && $0.at == t0 + .seconds(1960) })
    }

    /// Tier 1's 15 minutes ran out while the flap was resolved: tier 2 is paged at the
    /// reopen, and the timeline does not call that late (alertbridge was up; the incident
    /// was resolved). `Next:` on the reopen's page says the reopen's time, not a past one.
    @Test func aTimerThatRanOutWhileResolvedIsTakenAtTheReopen() throws {
        let policy = EscalationPolicy(name: "cdn-performance", tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "console")], escalateAfter: .seconds(1800)),
        ])
        var w = World()
        _ = apply([routed("edge-01", running: policy)], to: &w, at: t0)
        _ = apply([routed("edge-01", .resolved, running: policy)], to: &w, at: t0 + .seconds(880))
        _ = apply([routed("edge-01", running: policy)], to: &w, at: t0 + .seconds(960))
        let reopened = try #require(w.incidents[1])
        #expect(reopened.nextEscalationAt == t0 + .seconds(960))
        #expect(EscalationPlanner.nextStep(reopened, policy: policy)?.at == t0 + .seconds(960))
        let d = EscalationPlanner.advance(reopened, policy: policy, now: t0 + .seconds(960))
        #expect(d.pages.map(\.tier) == [2])
        #expect(d.timeline.last { $0.kind == .escalated }?.detail == "tier 1 (technical-support) did not acknowledge in time: paging tier 2 (rnd)")
        #expect(d.incident.escalation.resumedAt == nil && d.incident.nextEscalationAt == t0 + .seconds(960 + 1800))
    }

    /// No `severity_policies`: a warning paging tier 2 turns critical. Tier 2 hears it
    /// (`RAISED`; its last page said warning), and its timer runs on: tier 3 is not put
    /// off. Acknowledged, the tier hears it too, and the acknowledgement stands. Paged in
    /// this very commit, nobody is paged again.
    @Test func aRiseWithinThePolicyPagesTheTierItIsAt() throws {
        let policy = EscalationPolicy(name: "cdn-performance", tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "rnd-chat")], escalateAfter: .seconds(900)),
            .init(name: "lead", notify: [.init(connector: "lead-chat")], escalateAfter: .seconds(900)),
        ])
        func alert(_ severity: Severity) -> RoutedAlert {
            var r = routed("edge-01", severity: severity)
            r.escalationPolicy = policy
            return r
        }
        var w = World()
        _ = apply([alert(.warning)], to: &w, at: t0)
        var paging = try #require(w.incidents[1])
        paging = EscalationPlanner.advance(paging, policy: policy, now: t0 + .seconds(900)).incident  // tier 2
        w.incidents[1] = paging
        let key = IngestPlanner.AlertKey(incidentID: 1, fingerprint: alert(.critical).alert.fingerprint)
        let plan = IngestPlanner.plan([alert(.critical)], current: [paging.dedupKey: paging], alertStatus: [key: .firing],
                                      now: t0 + .seconds(1000))
        #expect(plan.pages.map { "\($0.tier):\($0.reason.rawValue)" } == ["2:severity_raised"])
        #expect(plan.outcomes.first?.startedPaging == true)
        let raised = try #require(plan.incidents.first)
        #expect(raised.severity == .critical && raised.tier == 2)
        #expect(raised.escalation.tierPagedAt == t0 + .seconds(900), "tier 3 is due when it was")
        #expect(raised.nextEscalationAt == t0 + .seconds(1800))

        let acked = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: paging, now: t0 + .seconds(950)).0
        let heard = IngestPlanner.plan([alert(.critical)], current: [acked.dedupKey: acked], alertStatus: [key: .firing],
                                       now: t0 + .seconds(1000))
        #expect(heard.pages.map { "\($0.tier):\($0.reason.rawValue)" } == ["2:severity_raised"], "whoever took a warning hears it is critical")
        let stillAcked = try #require(heard.incidents.first)
        #expect(stillAcked.status == .acknowledged && stillAcked.acknowledgedBy == "alice" && stillAcked.severity == .critical)
        #expect(stillAcked.nextEscalationAt == nil, "no ack_timeout here: nothing is due")
        let oneCommit = IngestPlanner.plan([alert(.warning), alert(.critical)], current: [:], alertStatus: [:], now: t0)
        #expect(oneCommit.pages.map(\.tier) == [1], "one page, worded with the severity it has when sent")

        // Its escalation had ended (every tier paged, nobody answered): the rise starts it
        // again from this page, so the tier it is at has its time to answer before the
        // policy ends again (black-box round 35: it stayed ended, and the RAISED page read
        // "sent late … its escalation has ended").
        var ended = paging
        ended = EscalationPlanner.advance(ended, policy: policy, now: t0 + .seconds(1800)).incident  // tier 3
        ended = EscalationPlanner.advance(ended, policy: policy, now: t0 + .seconds(2700)).incident
        #expect(ended.escalation.ended && ended.tier == 3)
        let late = IngestPlanner.plan([alert(.critical)], current: [ended.dedupKey: ended], alertStatus: [key: .firing],
                                      now: t0 + .seconds(3000))
        #expect(late.pages.map { "\($0.tier):\($0.reason.rawValue)" } == ["3:severity_raised"])
        let restarted = try #require(late.incidents.first)
        #expect(!restarted.escalation.ended && restarted.nextEscalationAt == t0 + .seconds(3900))
    }

    @Test func refiringAfterTheReopenWindowOpensANewIncident() {
        var w = World()
        _ = apply([routed("edge-01")], to: &w, at: t0)
        _ = apply([routed("edge-01", .resolved)], to: &w, at: t0 + .seconds(60))
        let out = apply([routed("edge-01")], to: &w, at: t0 + .seconds(60 + 600))
        #expect(out.map(\.kind) == [.created])
        #expect(out[0].incidentID == 2)
        #expect(w.incidents[1]?.status == .resolved)
    }

    @Test func zeroReopenWindowNeverReopens() {
        var w = World()
        _ = apply([routed("edge-01", reopen: .zero)], to: &w, at: t0)
        _ = apply([routed("edge-01", .resolved, reopen: .zero)], to: &w, at: t0 + .seconds(1))
        #expect(apply([routed("edge-01", reopen: .zero)], to: &w, at: t0 + .seconds(1)).map(\.kind) == [.created])
    }

    @Test func resolvedAlertWithoutAnIncidentChangesNothing() {
        var w = World()
        let out = apply([routed("edge-01", .resolved)], to: &w, at: t0)
        #expect(out == [IngestOutcome(incidentID: nil, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", kind: .resolved)])
        #expect(w.incidents.isEmpty)
    }

    @Test func oneBatchCanCreateResolveAndCreateAgain() {
        var w = World()
        let out = apply([routed("e", reopen: .zero), routed("e", .resolved, reopen: .zero), routed("e", reopen: .zero)],
                        to: &w, at: t0)
        #expect(out.map(\.kind) == [.created, .resolved, .created])
        #expect(out.map(\.incidentID) == [1, 1, 2])
        #expect(w.incidents[1]?.status == .resolved)
        #expect(w.incidents[2]?.status == .triggered)
    }

    @Test func distinctKeysGetDistinctIncidents() {
        var w = World()
        let out = apply([routed("e", key: "A"), routed("e", key: "B"), routed("e", key: "A")], to: &w, at: t0)
        #expect(out.map(\.incidentID) == [1, 2, 1])
    }
}

/// Inhibition: a PoP-down incident suppresses the per-service alerts of that PoP.
@Suite struct InhibitionPlannerTests {
    let t0 = Timestamp(seconds: 1_795_457_100)
    let rules = RuleSet(rules: [
        Rule(name: "pop-down", matchers: [try! Matcher(parsing: "alertname = PopDown")],
             dedupKey: try! DedupKeyTemplate(parsing: "PopDown/{{pop}}"), policy: "pop-outage",
             inhibit: Rule.Inhibit(targets: [try! Matcher(parsing: "alertname =~ Edge.*")], equal: ["pop"])),
        Rule(name: "edge", matchers: [try! Matcher(parsing: "alertname =~ Edge.*")],
             dedupKey: try! DedupKeyTemplate(parsing: "{{alertname}}/{{pop}}"), policy: "cdn-performance"),
    ])

    func alert(_ name: String, pop: String) -> RoutedAlert {
        rules.route(Alert(source: "t", status: .firing, severity: .critical, summary: name,
                          labels: ["alertname": name, "pop": pop]))[0]
    }

    @Test func routingAttachesCandidatesOnlyToTargets() {
        #expect(alert("EdgeLatencyHigh", pop: "ICN1").inhibitors == [InhibitCandidate(sourceRule: "pop-down", equal: ["pop"])])
        #expect(alert("PopDown", pop: "ICN1").inhibitors.isEmpty)
    }

    /// A policy for the targets, so an inhibited incident has timers to hold.
    let policy = EscalationPolicy(name: "cdn-performance", tiers: [
        .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
    ], autoResolveAfter: .seconds(4 * 3600))

    func target(_ pop: String) -> RoutedAlert {
        var routed = alert("EdgeLatencyHigh", pop: pop)
        routed.escalationPolicy = policy
        return routed
    }

    func popDown(_ status: IncidentStatus = .triggered) -> Incident {
        Incident(id: 9, dedupKey: "PopDown/ICN1", status: status, title: "down", severity: .critical,
                 labels: ["alertname": "PopDown", "pop": "ICN1"], annotations: [:], rule: "pop-down",
                 policy: "pop-outage", alertCount: 1, firingCount: status.isOpen ? 1 : 0, createdAt: t0, lastAlertAt: t0)
    }

    /// One request (an Alertmanager group of a PoP) holds the source and its targets in any
    /// order: the source inhibits them wherever it stands, and the timeline names its real id.
    @Test(arguments: [false, true])
    func sourceInTheSameBatchSuppressesTargetsWithEqualLabelsInAnyOrder(_ sourceLast: Bool) throws {
        var batch = [alert("EdgeLatencyHigh", pop: "ICN1"), alert("EdgeLatencyHigh", pop: "NRT2")]
        batch.insert(alert("PopDown", pop: "ICN1"), at: sourceLast ? 2 : 0)
        let plan = IngestPlanner.plan(batch, current: [:], alertStatus: [:], now: t0)
        let source = sourceLast ? 2 : 0
        #expect(plan.outcomes.map(\.kind) == batch.indices.map { $0 == source ? .created : batch[$0].alert.labels["pop"] == "ICN1" ? .suppressed : .created })
        // Suppressed alerts are still recorded: the incident exists and says why it did not page.
        #expect(plan.incidents.count == 3)
        // The source is created first, so it gets the first id the store hands out.
        let stored = plan.assigningIDs([41, 42, 43])
        #expect(stored.outcomes[source].incidentID == 41)
        #expect(stored.timeline.contains { $0.detail == "suppressed: inhibited by incident 41 (PopDown/ICN1)" })
        #expect(!stored.timeline.contains { $0.detail?.contains("incident -") == true })
    }

    /// A recovery keeps its place: a source that resolves after its target fired in the
    /// same batch inhibited it (held a minute, then paged if it still fires); one that
    /// resolved before the target fired no longer inhibits it.
    @Test func aSourceRecoveryKeepsItsPlaceInTheBatch() {
        var recovered = alert("PopDown", pop: "ICN1")
        recovered.alert.status = .resolved
        let firing = IngestPlanner.AlertKey(incidentID: 9, fingerprint: recovered.alert.fingerprint)
        let after = IngestPlanner.plan([target("ICN1"), recovered], current: ["PopDown/ICN1": popDown()],
                                       alertStatus: [firing: .firing], inhibitSources: [popDown()], now: t0)
        #expect(after.outcomes.map(\.kind) == [.suppressed, .resolved])
        #expect(after.pages.isEmpty)
        let before = IngestPlanner.plan([recovered, target("ICN1")], current: ["PopDown/ICN1": popDown()],
                                        alertStatus: [firing: .firing], inhibitSources: [popDown()], now: t0)
        #expect(before.outcomes.map(\.kind) == [.resolved, .created])
        #expect(before.pages.count == 1)
    }

    /// A source that recovers and fires again in one commit ends up firing, and its target
    /// stays inhibited: only a firing copy ahead of any recovery of its key moves first.
    @Test func aSourceThatRecoversAndFiresAgainInOneCommitEndsUpFiring() {
        var recovered = alert("PopDown", pop: "ICN1")
        recovered.alert.status = .resolved
        let firing = IngestPlanner.AlertKey(incidentID: 9, fingerprint: recovered.alert.fingerprint)
        let plan = IngestPlanner.plan([recovered, alert("PopDown", pop: "ICN1"), target("ICN1")],
                                      current: ["PopDown/ICN1": popDown()], alertStatus: [firing: .firing],
                                      inhibitSources: [popDown()], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.resolved, .created, .suppressed])
        #expect(plan.incidents.contains { $0.dedupKey == "PopDown/ICN1" && $0.status == .triggered })
    }

    /// Two probes of one PoP share the key PopDown/ICN1: probe 1 recovers, its target
    /// fires, probe 2 still fires, all in one commit. Probe 2 moves ahead: the PoP-down
    /// incident stays open and holds the target (no page for it, no second page for the PoP).
    @Test func anotherProbeOfTheSameKeyStillMovesAhead() {
        func probe(_ name: String, _ status: AlertStatus) -> RoutedAlert {
            rules.route(Alert(source: "t", status: status, severity: .critical, summary: "PopDown",
                              labels: ["alertname": "PopDown", "pop": "ICN1", "probe": name]))[0]
        }
        var source = popDown()
        source.firingCount = 2
        let status = [IngestPlanner.AlertKey(incidentID: 9, fingerprint: probe("p1", .firing).alert.fingerprint): AlertStatus.firing,
                      IngestPlanner.AlertKey(incidentID: 9, fingerprint: probe("p2", .firing).alert.fingerprint): .firing]
        let plan = IngestPlanner.plan([probe("p1", .resolved), target("ICN1"), probe("p2", .firing)],
                                      current: ["PopDown/ICN1": source], alertStatus: status, inhibitSources: [source], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.merged, .suppressed, .merged])
        #expect(plan.pages.isEmpty)
    }

    /// With a policy, a target inhibited by a source of its own batch is held by that
    /// source's real id once the store allocated it.
    @Test func aHoldOnASourceOfTheSameBatchNamesItsRealID() throws {
        let plan = IngestPlanner.plan([target("ICN1"), alert("PopDown", pop: "ICN1")], current: [:], alertStatus: [:], now: t0)
            .assigningIDs([41, 42])
        #expect(plan.outcomes.map(\.kind) == [.suppressed, .created])
        let held = try #require(plan.incidents.first { $0.id == 42 })
        #expect(held.escalation.inhibitedBy == [41])
    }

    /// Two open incidents inhibit the target (a PoP down, and its region down): it stays
    /// held until neither is open.
    @Test func aTargetOfTwoSourcesIsHeldUntilBothResolve() throws {
        var region = popDown()
        region.id = 12
        region.dedupKey = "PopDown/ICN1/backup-probe"
        let held = try #require(IngestPlanner.plan([target("ICN1")], current: [:], alertStatus: [:],
                                                   inhibitSources: [popDown(), region], now: t0).assigningIDs([10]).incidents.first)
        #expect(Set(held.escalation.inhibitedBy) == [9, 12])
        var d = EscalationPlanner.advance(held, policy: policy, now: t0 + .seconds(60), inhibitors: [popDown(.resolved), region])
        #expect(d.pages.isEmpty)
        region.status = .resolved
        d = EscalationPlanner.advance(d.incident, policy: policy, now: t0 + .seconds(120), inhibitors: [popDown(.resolved), region])
        #expect(d.pages.count == 1)
        #expect(d.timeline.first?.detail?.hasPrefix("incident 9 (PopDown/ICN1) and incident 12 (PopDown/ICN1/backup-probe), which inhibited this one, are resolved") == true)
    }

    /// An inhibited incident is held, not forgotten: its policy's timers run (it
    /// auto-resolves), and once its inhibitor resolved while it still fires, it pages.
    @Test func anInhibitedIncidentIsHeldUntilItsInhibitorResolvesThenPages() throws {
        let plan = IngestPlanner.plan([target("ICN1")], current: [:], alertStatus: [:], inhibitSources: [popDown()], now: t0)
            .assigningIDs([10])
        #expect(plan.outcomes.map(\.kind) == [.suppressed])
        #expect(plan.pages.isEmpty)
        #expect(plan.policySnapshots[10] == policy)
        var held = try #require(plan.incidents.first)
        #expect(held.escalation.inhibitedBy == [9])
        #expect(held.nextEscalationAt == t0 + EscalationPlanner.inhibitionRecheck)

        // A minute on, PopDown is still open: still held, looked at again a minute later.
        var d = EscalationPlanner.advance(held, policy: policy, now: t0 + .seconds(60), inhibitors: [popDown()])
        #expect(d.pages.isEmpty && d.timeline.isEmpty)
        #expect(d.incident.nextEscalationAt == t0 + .seconds(120))
        held = d.incident

        // PopDown resolved, the edge alert still fires: tier 1 is paged, and says why.
        d = EscalationPlanner.advance(held, policy: policy, now: t0 + .seconds(120), inhibitors: [popDown(.resolved)])
        #expect(d.pages.map(\.tier) == [1])
        #expect(d.timeline.first?.detail
                == "incident 9 (PopDown/ICN1), which inhibited this one, is resolved, and this one is still open: paging")
        #expect(d.incident.escalation.inhibitedBy.isEmpty && d.incident.escalation.heldUntil == nil)
        #expect(d.incident.firstPagedAt == t0 + .seconds(120))
        #expect(d.incident.nextEscalationAt == t0 + .seconds(120 + 900))
    }

    @Test func anInhibitedIncidentAutoResolvesWhileItsInhibitorIsOpen() throws {
        let held = try #require(IngestPlanner.plan([target("ICN1")], current: [:], alertStatus: [:],
                                                   inhibitSources: [popDown()], now: t0).assigningIDs([10]).incidents.first)
        let d = EscalationPlanner.advance(held, policy: policy, now: t0 + .seconds(4 * 3600), inhibitors: [popDown()])
        #expect(d.incident.status == .resolved)
        #expect(d.pages.isEmpty)
    }

    @Test func storedOpenSourceSuppressesAndResolvedSourceDoesNot() {
        let source = Incident(id: 9, dedupKey: "PopDown/ICN1", status: .triggered, title: "down", severity: .critical,
                              labels: ["alertname": "PopDown", "pop": "ICN1"], annotations: [:], rule: "pop-down",
                              policy: "pop-outage", alertCount: 1, firingCount: 1, createdAt: t0, lastAlertAt: t0)
        let target = [alert("EdgeLatencyHigh", pop: "ICN1")]
        #expect(IngestPlanner.plan(target, current: [:], alertStatus: [:], inhibitSources: [source], now: t0)
            .outcomes.map(\.kind) == [.suppressed])
        var resolved = source
        resolved.status = .resolved
        #expect(IngestPlanner.plan(target, current: [:], alertStatus: [:], inhibitSources: [resolved], now: t0)
            .outcomes.map(\.kind) == [.created])
    }
}

/// Out-of-order delivery: a firing copy of an episode that already ended is stale.
@Suite struct StaleCopyPlannerTests {
    let t0 = Timestamp(seconds: 1_795_457_100)

    /// As the Alertmanager reader makes it (`dropsLateRecoveries`), or with `dropsLateCopies`
    /// as a heartbeat's miss; other senders' alerts are never dropped as late.
    func routed(_ instance: String, _ status: AlertStatus, startsAt: Timestamp, endsAt: Timestamp? = nil,
                dropsLateCopies: Bool = false, dropsLateRecoveries: Bool = true) -> RoutedAlert {
        var alert = Alert(source: "alertmanager", status: status, severity: .critical, summary: "latency",
                          labels: ["alertname": "EdgeLatencyHigh", "instance": instance], startsAt: startsAt, endsAt: endsAt)
        alert.dropsLateCopies = dropsLateCopies
        alert.dropsLateRecoveries = dropsLateRecoveries
        return RoutedAlert(alert: alert, rule: "edge", dedupKey: "K", policy: "p", reopenWithin: .seconds(600))
    }

    /// A script fires, resolves with `ends_at`, and fires again with the same `starts_at`
    /// (it sends the one it always sends): the problem is back, and pages. It answered
    /// "resolved" and dropped it, as if it were a late Alertmanager copy.
    @Test func aNativeAlertFiringAgainIsNeverDroppedAsLate() {
        let started = t0 - .seconds(300)
        let batch = [
            routed("e1", .firing, startsAt: started, dropsLateRecoveries: false),
            routed("e1", .resolved, startsAt: started, endsAt: t0 - .seconds(1), dropsLateRecoveries: false),
            routed("e1", .firing, startsAt: started, dropsLateRecoveries: false),
        ]
        let plan = IngestPlanner.plan(batch, current: [:], alertStatus: [:], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.created, .resolved, .reopened])
    }

    /// A recovery stamped in the future (a sender's clock years ahead) ended now: it must
    /// not turn every later firing copy of the alert into a "late" one.
    @Test func aRecoveryEndingInTheFutureEndedNow() {
        let started = t0 - .seconds(300)
        let first = IngestPlanner.plan([routed("e1", .firing, startsAt: started),
                                        routed("e1", .resolved, startsAt: started, endsAt: t0 + .seconds(86_400 * 365))],
                                       current: [:], alertStatus: [:], now: t0).assigningIDs([7])
        let stored = first.alerts.last
        #expect(stored?.alert.endsAt == t0)
        let resolved = try! #require(first.incidents.first)
        let key = IngestPlanner.AlertKey(incidentID: 7, fingerprint: routed("e1", .firing, startsAt: started).alert.fingerprint)
        let again = IngestPlanner.plan([routed("e1", .firing, startsAt: t0 + .seconds(60))], current: ["K": resolved],
                                       alertStatus: [key: .resolved], alertEnds: [key: stored?.alert.endsAt ?? t0],
                                       now: t0 + .seconds(61))
        #expect(again.outcomes.map(\.kind) == [.reopened])
    }

    /// A heartbeat's miss decided before the ping that recovered it, committed after: it
    /// changes nothing.
    @Test func aStaleFiringCopyAfterTheResolvedOneChangesNothing() {
        let started = t0 - .seconds(300)
        let batch = [
            routed("e1", .firing, startsAt: started, dropsLateCopies: true), routed("e2", .firing, startsAt: started),
            routed("e1", .resolved, startsAt: started, endsAt: t0 - .seconds(1)),
            routed("e1", .firing, startsAt: started, dropsLateCopies: true),  // delivered late
        ]
        let plan = IngestPlanner.plan(batch, current: [:], alertStatus: [:], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.created, .merged, .merged, .merged])
        #expect(plan.incidents.first?.firingCount == 1)
    }

    /// Alertmanager resolved its alert when `endsAt` passed without news from Prometheus,
    /// and fires it again from the same `startsAt` once Prometheus is back: the outage is
    /// back, and reopens its incident. It was dropped as a late copy, and so was every
    /// notification after (black-box round 27).
    @Test func anAlertmanagerAlertFiredAgainFromItsFirstStartReopens() {
        let started = t0 - .seconds(300)
        let first = IngestPlanner.plan([routed("e1", .firing, startsAt: started),
                                        routed("e1", .resolved, startsAt: started, endsAt: t0 - .seconds(60))],
                                       current: [:], alertStatus: [:], now: t0).assigningIDs([7])
        let resolved = try! #require(first.incidents.first)
        #expect(resolved.status == .resolved)
        let key = IngestPlanner.AlertKey(incidentID: 7, fingerprint: routed("e1", .firing, startsAt: started).alert.fingerprint)
        let again = IngestPlanner.plan([routed("e1", .firing, startsAt: started)], current: ["K": resolved],
                                       alertStatus: [key: .resolved], alertEnds: [key: t0 - .seconds(60)], now: t0 + .seconds(30))
        #expect(again.outcomes.map(\.kind) == [.reopened])
        #expect(again.incidents.first?.firingCount == 1)
    }

    /// Within one commit too: fired at T0, fired again from T2 (the recovery between was
    /// lost or is still on its way), then the recovery ending at T1 arrives.
    @Test func aLateRecoveryOfAnEarlierEpisodeDoesNotResolve() {
        let t1 = t0 - .seconds(200), t2 = t0 - .seconds(100)
        let batch = [
            routed("e1", .firing, startsAt: t0 - .seconds(300)),
            routed("e1", .firing, startsAt: t2),
            routed("e1", .resolved, startsAt: t0 - .seconds(300), endsAt: t1),
        ]
        let plan = IngestPlanner.plan(batch, current: [:], alertStatus: [:], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.created, .merged, .merged])
        #expect(plan.incidents.first?.status == .triggered)
        #expect(plan.alerts.map(\.alert.status) == [.firing])
        // The recovery of the current episode resolves it, also from a sender whose clock
        // runs ahead (its end is after its start, however far both are from ours).
        let ahead = [routed("e1", .firing, startsAt: t0 + .seconds(60)),
                     routed("e1", .resolved, startsAt: t0 + .seconds(60), endsAt: t0 + .seconds(90))]
        #expect(IngestPlanner.plan(ahead, current: [:], alertStatus: [:], now: t0).outcomes.map(\.kind) == [.created, .resolved])
    }

    /// Alertmanager cut the group (`truncatedAlerts`, the receiver's `max_alerts`): the
    /// recoveries it sent cannot say the alerts it left out recovered, so the incident
    /// stays open and says why; under `resolve: any` a recovery resolves it all the same.
    @Test func aRecoveryInACutWebhookDoesNotResolveTheIncident() {
        var recovery = routed("e1", .resolved, startsAt: t0 - .seconds(300), endsAt: t0 - .seconds(1))
        recovery.alert.groupLeftOut = 2
        let batch = [routed("e1", .firing, startsAt: t0 - .seconds(300)), recovery]
        let plan = IngestPlanner.plan(batch, current: [:], alertStatus: [:], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.created, .merged])
        #expect(plan.incidents.first?.status == .triggered)
        #expect(plan.incidents.first?.firingCount == 0)
        #expect(plan.timeline.contains { $0.kind == .note && $0.detail?.contains("Alertmanager left out 2 alerts of the notification") == true })
        var any = batch
        for i in any.indices { any[i].resolve = .any }
        #expect(IngestPlanner.plan(any, current: [:], alertStatus: [:], now: t0).outcomes.map(\.kind) == [.created, .resolved])
    }

    /// A `severity` label the reader could not read (`page`, `P1`) is said on the new
    /// incident's timeline, with the severity it got instead.
    @Test func anUnreadableSeverityLabelIsNoted() {
        var alert = routed("e1", .firing, startsAt: t0)
        alert.alert.labels["severity"] = "page"
        alert.alert.severity = .warning
        let plan = IngestPlanner.plan([alert], current: [:], alertStatus: [:], now: t0)
        #expect(plan.timeline.map(\.detail).contains(#"its severity label "page" is not critical, error, warning or info: the incident is warning"#))
        alert.alert.labels["severity"] = "Critical"
        #expect(!IngestPlanner.plan([alert], current: [:], alertStatus: [:], now: t0).timeline.contains { $0.kind == .note })
    }

    /// A heartbeat's stale miss (see ``Alert/dropsLateCopies``).
    @Test func aStaleFiringCopyDoesNotReopenButANewEpisodeDoes() {
        let started = t0 - .seconds(300)
        let ended = t0 - .seconds(1)
        let resolved = Incident(id: 7, dedupKey: "K", status: .resolved, title: "t", severity: .critical, labels: [:],
                                annotations: [:], rule: "edge", policy: "p", alertCount: 1, firingCount: 0,
                                createdAt: started, lastAlertAt: started, resolvedAt: t0)
        let key = IngestPlanner.AlertKey(incidentID: 7, fingerprint: Fingerprint.of(["alertname": "EdgeLatencyHigh", "instance": "e1"]))
        let stale = IngestPlanner.plan([routed("e1", .firing, startsAt: started, dropsLateCopies: true)], current: ["K": resolved],
                                       alertStatus: [key: .resolved], alertEnds: [key: ended], now: t0 + .seconds(5))
        #expect(stale.outcomes.map(\.kind) == [.resolved])
        #expect(stale.incidents.isEmpty)
        let fresh = IngestPlanner.plan([routed("e1", .firing, startsAt: t0 + .seconds(4), dropsLateCopies: true)], current: ["K": resolved],
                                       alertStatus: [key: .resolved], alertEnds: [key: ended], now: t0 + .seconds(5))
        #expect(fresh.outcomes.map(\.kind) == [.reopened])
    }
}

/// `severity_policies`: an incident whose severity rises runs the policy of its new severity.
@Suite struct SeverityPolicyPlannerTests {
    let t0 = Timestamp(seconds: 1_795_457_100)
    let performance = EscalationPolicy(name: "cdn-performance", tiers: [
        .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
    ], ackTimeout: .seconds(1800))
    let outage = EscalationPolicy(name: "pop-outage", tiers: [
        .init(name: "noc-phone", notify: [.init(connector: "console")], escalateAfter: .seconds(300)),
    ], ackTimeout: .seconds(600))

    /// As the Ingestor routes it for `severity_policies: {critical: pop-outage}`.
    func routed(_ severity: Severity, instance: String = "edge-01") -> RoutedAlert {
        let policy = severity == .critical ? outage : performance
        let alert = Alert(source: "cdn-monitor", status: .firing, severity: severity, summary: "5xx at SYD1",
                          labels: ["alertname": "EdgeErrorRateHigh", "pop": "SYD1", "instance": instance])
        return RoutedAlert(alert: alert, rule: "edge-errors", dedupKey: "EdgeErrorRateHigh/SYD1", policy: policy.name,
                           escalationPolicy: policy,
                           severityPolicies: [.critical: outage, .error: performance, .warning: performance, .info: performance])
    }

    func opened() throws -> Incident {
        try #require(IngestPlanner.plan([routed(.warning)], current: [:], alertStatus: [:], now: t0).assigningIDs([5]).incidents.first)
    }

    @Test func aPagingIncidentThatTurnsCriticalPagesTheCriticalPolicyAtOnce() throws {
        let incident = try opened()
        #expect(incident.policy == "cdn-performance")
        let key = IngestPlanner.AlertKey(incidentID: 5, fingerprint: routed(.critical).alert.fingerprint)
        let plan = IngestPlanner.plan([routed(.critical)], current: [incident.dedupKey: incident], alertStatus: [key: .firing],
                                      now: t0 + .seconds(120))
        #expect(plan.outcomes.map(\.kind) == [.merged])
        let now = try #require(plan.incidents.first)
        #expect(now.policy == "pop-outage" && now.severity == .critical)
        #expect(plan.policySnapshots[5] == outage)
        #expect(plan.pages.map { "\($0.tierName):\($0.reason.rawValue)" } == ["noc-phone:severity_raised"])
        #expect(now.nextEscalationAt == t0 + .seconds(120 + 300))
        #expect(plan.timeline.contains { $0.detail == "critical: escalating by policy pop-outage instead of cdn-performance (severity_policies)" })
    }

    /// The rule was edited since the incident opened (it names pop-outage now; or the
    /// policy was renamed): a rise pages the rule's policy from tier 1. It paged nobody:
    /// the rise pages within the incident's own policy, which the rule no longer names.
    @Test func aRiseAfterTheRuleNamesAnotherPolicyPagesThatPolicy() throws {
        let incident = try opened()
        var edited = routed(.critical)
        edited.severityPolicies = [:]
        #expect(edited.policy == "pop-outage" && edited.rule == incident.rule)
        let key = IngestPlanner.AlertKey(incidentID: 5, fingerprint: edited.alert.fingerprint)
        let plan = IngestPlanner.plan([edited], current: [incident.dedupKey: incident], alertStatus: [key: .firing],
                                      now: t0 + .seconds(120))
        #expect(plan.incidents.first?.policy == "pop-outage")
        #expect(plan.pages.map { "\($0.tierName):\($0.reason.rawValue)" } == ["noc-phone:severity_raised"])
        #expect(plan.timeline.contains { $0.detail == "critical: escalating by policy pop-outage instead of cdn-performance (rule edge-errors)" })
        // The same severity: the incident keeps the policy it runs.
        var same = routed(.warning)
        same.severityPolicies = [:]
        same.escalationPolicy = outage
        same.policy = "pop-outage"
        let kept = IngestPlanner.plan([same], current: [incident.dedupKey: incident], alertStatus: [key: .firing],
                                      now: t0 + .seconds(120))
        #expect(kept.incidents.first?.policy == "cdn-performance")
        #expect(kept.pages.isEmpty)
    }

    /// Paged as a warning (acknowledge within 30s), critical 20 s later (within 20s): the
    /// deadline is the earlier of the warning's (30 s) and the switch plus 20 s (40 s), so
    /// it is not breached the instant it turns critical; a switch after 25 s keeps 30 s, and
    /// a policy without a target before counts the new one from the switch.
    @Test func aStricterPolicyAfterASwitchIsNotAppliedToTheTimeBefore() throws {
        func sla(_ p: EscalationPolicy, _ within: Duration?) -> EscalationPolicy {
            var p = p
            p.sla.acknowledgeWithin = within
            return p
        }
        func switched(at seconds: Int64, warningWithin: Duration?) throws -> Incident {
            let (slow, strict) = (sla(performance, warningWithin), sla(outage, .seconds(20)))
            func alert(_ severity: Severity) -> RoutedAlert {
                var r = routed(severity)
                r.escalationPolicy = severity == .critical ? strict : slow
                r.severityPolicies = [.critical: strict, .error: slow, .warning: slow, .info: slow]
                return r
            }
            let opened = try #require(IngestPlanner.plan([alert(.warning)], current: [:], alertStatus: [:], now: t0)
                .assigningIDs([5]).incidents.first)
            let key = IngestPlanner.AlertKey(incidentID: 5, fingerprint: alert(.critical).alert.fingerprint)
            return try #require(IngestPlanner.plan([alert(.critical)], current: [opened.dedupKey: opened], alertStatus: [key: .firing],
                                                   now: t0 + .seconds(seconds)).incidents.first)
        }
        let at20 = try switched(at: 20, warningWithin: .seconds(30))
        #expect(at20.policy == "pop-outage")
        #expect(EscalationPlanner.nextDue(at20, policy: sla(outage, .seconds(20))).map { $0 <= t0 + .seconds(30) } == true)
        #expect(EscalationPlanner.advance(at20, policy: sla(outage, .seconds(20)), now: t0 + .seconds(21)).slaBreaches.isEmpty)
        #expect(EscalationPlanner.advance(at20, policy: sla(outage, .seconds(20)), now: t0 + .seconds(30)).slaBreaches == ["acknowledge"])
        #expect(try switched(at: 5, warningWithin: .seconds(30)).acknowledgeSLAFrom == t0 + .seconds(5), "5 + 20 is before 30")
        #expect(try switched(at: 20, warningWithin: nil).acknowledgeSLAFrom == t0 + .seconds(20))
    }

    /// R&D was paged by the warning policy when the incident turned critical: the new
    /// policy pages technical support, and the resolve notice reaches R&D too, so nobody
    /// works on for an hour on what is over. A target both policies page hears it once.
    @Test func thoseAnEarlierPolicyPagedHearTheNotices() throws {
        let warning = EscalationPolicy(name: "cdn-performance", tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console"),
                                                      .init(connector: "noc-email", to: ["noc@example.com", "lead@example.com"])],
                  escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "rnd-chat")], escalateAfter: .seconds(900)),
        ])
        let outage = EscalationPolicy(name: "pop-outage", tiers: [
            .init(name: "noc-phone", notify: [.init(connector: "console"), .init(connector: "noc-email", to: ["noc@example.com"])],
                  escalateAfter: .seconds(300)),
        ])
        let policies: [Severity: EscalationPolicy] = [.critical: outage, .error: warning, .warning: warning, .info: warning]
        func routed(_ severity: Severity) -> RoutedAlert {
            var r = self.routed(severity)
            r.escalationPolicy = severity == .critical ? outage : warning
            r.severityPolicies = policies
            return r
        }
        // Opened as a warning, escalated to R&D 15 minutes on, then critical.
        let opened = try #require(IngestPlanner.plan([routed(.warning)], current: [:], alertStatus: [:], now: t0).assigningIDs([5]).incidents.first)
        let escalated = EscalationPlanner.advance(opened, policy: warning, now: t0 + .seconds(900)).incident
        #expect(escalated.tier == 2)
        let plan = IngestPlanner.plan([routed(.critical)], current: [escalated.dedupKey: escalated], alertStatus: [:],
                                      now: t0 + .seconds(960))
        let now = try #require(plan.incidents.first)
        #expect(now.policy == "pop-outage" && now.tier == 1)
        #expect(now.escalation.earlierTiers.map(\.name) == ["technical-support", "rnd"])
        // noc@ and the console are told by the new policy's tier 1; lead@ and R&D only by the old one's tiers.
        let notices = EscalationPlanner.notices(for: now, policy: outage, event: .resolved)
        #expect(notices.flatMap { page in
            page.targets.enumerated().map { "\(page.tier).\(page.firstTarget + $0.offset) \(page.tierName) \($0.element.connector)\($0.element.to)" }
        } == ["1.0 noc-phone console[]", "1.1 noc-phone noc-email[\"noc@example.com\"]",
              "1.2 technical-support noc-email[\"lead@example.com\"]", "2.0 rnd rnd-chat[]"])
        // A new episode is paged by its own policy only: the earlier one's people are not told of it.
        #expect(now.escalation.reopened().earlierTiers.isEmpty)
    }

    /// Someone is on it: an acknowledged incident keeps its policy, so its ack timeout and
    /// its notices stay with the people who were paged; its tier hears of the rise under it.
    @Test func anAcknowledgedIncidentKeepsItsPolicy() throws {
        var incident = try opened()
        incident.status = .acknowledged
        incident.acknowledgedAt = t0 + .seconds(60)
        incident.acknowledgedBy = "alice"
        let plan = IngestPlanner.plan([routed(.critical)], current: [incident.dedupKey: incident], alertStatus: [:],
                                      now: t0 + .seconds(120))
        let now = try #require(plan.incidents.first)
        #expect(plan.pages.map { "\($0.tier) \($0.tierName) \($0.reason.rawValue)" } == ["1 technical-support severity_raised"])
        #expect(plan.policySnapshots.isEmpty)
        #expect(now.status == .acknowledged && now.severity == .critical && now.policy == "cdn-performance")
    }

    /// The rule names another policy since the incident opened (renamed in the config):
    /// its first page runs the rule's policy, and the timeline says why, not "severity".
    @Test func aLateFirstPageByARenamedPolicySaysTheRule() throws {
        var held = try opened()
        held.policy = "cdn-perf-old"
        held.escalation = EscalationState()
        held.escalation.heldUntil = t0 + .seconds(60)
        var plain = routed(.warning, instance: "edge-02")
        plain.severityPolicies = [:]
        let plan = IngestPlanner.plan([plain], current: [held.dedupKey: held], alertStatus: [:], now: t0 + .seconds(30))
        #expect(plan.pages.count == 1)
        #expect(plan.incidents.first?.policy == "cdn-performance")
        #expect(plan.timeline.map(\.detail).contains("warning: escalating by policy cdn-performance instead of cdn-perf-old (rule edge-errors)"))
    }

    /// Without `severity_policies` the rule has one policy: a key that another rule's alert
    /// also renders (a PagerDuty dedup_key shared by two integrations) switches nothing.
    @Test func withoutSeverityPoliciesNothingSwitches() throws {
        let incident = try opened()
        var other = routed(.critical)
        other.severityPolicies = [:]
        other.rule = "pagerduty-default"
        let plan = IngestPlanner.plan([other], current: [incident.dedupKey: incident], alertStatus: [:], now: t0 + .seconds(60))
        #expect(plan.pages.isEmpty && plan.policySnapshots.isEmpty)
        #expect(plan.incidents.first?.policy == "cdn-performance")
    }

    /// A flap: a critical episode resolved, and a warning re-fires within reopen_within.
    /// The new episode is a warning one and runs the warning policy.
    @Test func aReopenTakesTheSeverityOfWhatFiresNow() throws {
        var incident = try opened()
        incident.severity = .critical
        incident.policy = "pop-outage"
        incident.status = .resolved
        incident.resolvedAt = t0 + .seconds(300)
        incident.title = "SYD1 down"
        var again = routed(.warning)
        again.reopenWithin = .seconds(600)
        let plan = IngestPlanner.plan([again], current: [incident.dedupKey: incident], alertStatus: [:], now: t0 + .seconds(400))
        #expect(plan.outcomes.map(\.kind) == [.reopened])
        let now = try #require(plan.incidents.first)
        #expect(now.severity == .warning && now.policy == "cdn-performance")
        #expect(now.title == "5xx at SYD1", "titled by what fired again")
        #expect(plan.timeline.map(\.detail).contains("fired again 1m40s after it resolved, now warning (was critical)"))
        #expect(plan.timeline.map(\.detail).contains(
            "warning: escalating by policy cdn-performance instead of pop-outage (severity_policies)"))
        #expect(plan.pages.map(\.tierName) == ["technical-support"])
    }

    /// One Alertmanager webhook holds a warning and then a critical alert of one key (its
    /// alerts are in no severity order): the incident pages once, by the critical policy,
    /// not the warning tier 1 and then the critical one at the same instant.
    @Test func aWarningThenACriticalInOneCommitPageOnceByTheCriticalPolicy() throws {
        let plan = IngestPlanner.plan([routed(.warning), routed(.critical, instance: "edge-02")], current: [:],
                                      alertStatus: [:], now: t0)
        #expect(plan.outcomes.map(\.kind) == [.created, .merged])
        let incident = try #require(plan.incidents.first)
        #expect(incident.policy == "pop-outage" && incident.tier == 1 && incident.escalation.earlierTiers.isEmpty)
        #expect(plan.pages.map { "\($0.tierName):\($0.reason.rawValue)" } == ["noc-phone:triggered"])
        #expect(plan.timeline.filter { $0.kind == .paged }.map(\.detail) == ["tier 1 (noc-phone): console"])
        #expect(incident.nextEscalationAt == t0 + .seconds(300))
    }

    /// The same for a flap: the reopen and the rise in one commit are one page, `reopened`.
    @Test func aReopenAndARiseInOneCommitPageOnce() throws {
        var incident = try opened()
        incident.status = .resolved
        incident.resolvedAt = t0 + .seconds(300)
        var warning = routed(.warning)
        var critical = routed(.critical, instance: "edge-02")
        warning.reopenWithin = .seconds(600)
        critical.reopenWithin = .seconds(600)
        let plan = IngestPlanner.plan([warning, critical], current: [incident.dedupKey: incident], alertStatus: [:],
                                      now: t0 + .seconds(400))
        #expect(plan.outcomes.map(\.kind) == [.reopened, .merged])
        #expect(plan.pages.map { "\($0.tierName):\($0.reason.rawValue)" } == ["noc-phone:reopened"])
        #expect(plan.incidents.first?.policy == "pop-outage")
    }

    /// A page taken back keeps the timeline's other lines where they were: an inhibition
    /// line written after it still gets its source's real id.
    @Test func aTakenBackPageLeavesLaterTimelineLinesIntact() throws {
        let down = Alert(source: "cdn-monitor", status: .firing, severity: .critical, summary: "SYD1 down",
                         labels: ["alertname": "PopDown", "pop": "SYD1"])
        var source = RoutedAlert(alert: down, rule: "pop-down", dedupKey: "PopDown/SYD1", policy: outage.name,
                                 escalationPolicy: outage)
        source.inhibitsOthers = true
        let latency = Alert(source: "cdn-monitor", status: .firing, severity: .warning, summary: "slow at SYD1",
                            labels: ["alertname": "EdgeLatencyHigh", "pop": "SYD1"])
        let target = RoutedAlert(alert: latency, rule: "edge", dedupKey: "EdgeLatencyHigh/SYD1", policy: performance.name,
                                 inhibitors: [InhibitCandidate(sourceRule: "pop-down", equal: ["pop"])],
                                 escalationPolicy: performance)
        let plan = IngestPlanner.plan([source, routed(.warning), target, routed(.critical, instance: "edge-02")],
                                      current: [:], alertStatus: [:], now: t0).assigningIDs([41, 42, 43])
        #expect(plan.outcomes.map(\.kind) == [.created, .created, .suppressed, .merged])
        #expect(plan.timeline.contains { $0.incidentID == 43 && $0.detail == "suppressed: inhibited by incident 41 (PopDown/SYD1)" })
        #expect(plan.pages.map { "\($0.incidentID) \($0.tierName)" } == ["41 noc-phone", "42 noc-phone"])
    }

    @Test func aRepeatedCriticalAlertPagesOnce() throws {
        let incident = try opened()
        let key = IngestPlanner.AlertKey(incidentID: 5, fingerprint: routed(.critical).alert.fingerprint)
        let plan = IngestPlanner.plan([routed(.critical), routed(.critical)], current: [incident.dedupKey: incident],
                                      alertStatus: [key: .firing], now: t0 + .seconds(120))
        #expect(plan.pages.count == 1)
        #expect(plan.outcomes.map(\.startedPaging) == [true, false])  // the first wakes the dispatcher
    }

    /// A silenced critical alert still switches a paging incident: a running escalation
    /// goes on, by the new policy from its tier 1 (no tier number of the old one is left).
    @Test func aMutedRiseSwitchesAPagingIncidentFromTierOne() throws {
        var incident = try opened()
        incident.tier = 3  // say the warning policy had three tiers and reached the last
        let silence = Silence(id: 1, matchers: [try Matcher(parsing: "instance = edge-02")], startsAt: t0,
                              endsAt: t0 + .seconds(7200), createdBy: "alice", comment: "edge-02 rebuild", createdAt: t0)
        let plan = IngestPlanner.plan([routed(.critical, instance: "edge-02")], current: [incident.dedupKey: incident],
                                      alertStatus: [:], silences: [silence], now: t0 + .seconds(120))
        #expect(plan.outcomes.map(\.kind) == [.merged], "it pages: not held, so not `suppressed`")
        let now = try #require(plan.incidents.first)
        #expect(now.policy == "pop-outage" && now.tier == 1)
        #expect(plan.pages.map(\.tierName) == ["noc-phone"])
    }

    /// An incident that went critical while a silence held it, and starts paging on a
    /// warning alert no silence holds: it pages by the critical policy, its severity's.
    @Test func lateFirstPagesRunTheIncidentsSeverityPolicy() throws {
        let silence = Silence(id: 1, matchers: [try Matcher(parsing: "instance = edge-01")], startsAt: t0,
                              endsAt: t0 + .seconds(7200), createdBy: "alice", comment: "edge-01 rebuild", createdAt: t0)
        let held = try #require(IngestPlanner.plan([routed(.critical)], current: [:], alertStatus: [:], silences: [silence], now: t0)
            .assigningIDs([5]).incidents.first)
        #expect(held.policy == "pop-outage")
        let plan = IngestPlanner.plan([routed(.warning, instance: "edge-02")], current: [held.dedupKey: held], alertStatus: [:],
                                      silences: [silence], now: t0 + .seconds(60))
        #expect(plan.outcomes.map(\.startedPaging) == [true])
        #expect(plan.pages.map(\.tierName) == ["noc-phone"])
        #expect(plan.incidents.first?.policy == "pop-outage")
        #expect(plan.policySnapshots[5] == outage)
    }

    @Test func theSamePolicyOrAnUnchangedSeverityChangesNothing() throws {
        let incident = try opened()
        var sameSeverity = routed(.warning)
        sameSeverity.alert.labels["instance"] = "edge-02"
        let plan = IngestPlanner.plan([sameSeverity], current: [incident.dedupKey: incident], alertStatus: [:], now: t0 + .seconds(60))
        #expect(plan.pages.isEmpty && plan.policySnapshots.isEmpty)
        #expect(plan.incidents.first?.policy == "cdn-performance")
    }
}
