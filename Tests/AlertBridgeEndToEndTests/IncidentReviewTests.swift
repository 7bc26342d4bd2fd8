@testable import alertbridge
import AlertBridgeCore
import AlertBridgeStore
import Testing

/// What `serve` does and says at start of open incidents the configuration no longer
/// reaches as it did (black-box rounds 39 and 40: a changed `dedup_key` and a renamed
/// heartbeat were silent, and the old key's incident held its PoP's symptoms for good).
@Suite struct IncidentReviewTests {
    func incident(_ id: Int64, key: String, rule: String, labels: Labels) -> Incident {
        Incident(id: id, dedupKey: key, status: .triggered, title: key, severity: .critical, labels: labels, annotations: [:],
                 rule: rule, policy: "pop-outage", alertCount: 1, firingCount: 1, createdAt: Timestamp(seconds: 1_795_457_100),
                 lastAlertAt: Timestamp(seconds: 1_795_457_100))
    }

    func rules(popDownKey: String) throws -> RuleSet {
        RuleSet(rules: [
            Rule(name: "pop-down", matchers: [try Matcher(parsing: "alertname = PopDown")],
                 dedupKey: try DedupKeyTemplate(parsing: popDownKey), policy: "pop-outage"),
            Rule(name: "default", policy: "pop-outage"),
        ])
    }

    @Test func incidentsOfAChangedDedupKeyTakeTheNewKeyAndAreNamedOncePerRule() throws {
        let open = [
            incident(3, key: "Other", rule: "default", labels: ["alertname": "Other"]),
            incident(2, key: "PopDown/AMS1", rule: "pop-down", labels: ["alertname": "PopDown", "pop": "AMS1", "region": "emea"]),
            incident(1, key: "PopDown/FRA1", rule: "pop-down", labels: ["alertname": "PopDown", "pop": "FRA1", "region": "emea"]),
        ]
        #expect(IncidentReview.rekeys(open, rules: try rules(popDownKey: "PopDown/{{pop}}")).isEmpty, "nothing changed")
        let rekeys = IncidentReview.rekeys(open, rules: try rules(popDownKey: "PopDown/{{region}}/{{pop}}"))
        #expect(rekeys == [IncidentReview.Rekey(id: 1, rule: "pop-down", old: "PopDown/FRA1", key: "PopDown/emea/FRA1"),
                           IncidentReview.Rekey(id: 2, rule: "pop-down", old: "PopDown/AMS1", key: "PopDown/emea/AMS1")])
        #expect(rekeys[0].why == "keyed PopDown/emea/FRA1 now (was PopDown/FRA1): rule pop-down's dedup_key changed, "
                + "and its alerts merge into this incident under the new key")
        let said = IncidentReview.findings(rekeyed: rekeys, refused: [])
        #expect(said.map(\.isWarning) == [false])
        #expect(said.first?.text == "open incidents 1, 2 were keyed by rule pop-down's earlier dedup_key and take the key it renders "
                + "now (PopDown/FRA1 is PopDown/emea/FRA1): their alerts merge into them as before")
        let refused = IncidentReview.findings(rekeyed: [rekeys[0]], refused: [rekeys[1]])
        #expect(refused.map(\.isWarning) == [false, true])
        #expect(refused.last?.text == "open incident 2 was keyed by rule pop-down's earlier dedup_key (PopDown/AMS1 is "
                + "PopDown/emea/AMS1 now), a key another incident has already: its alerts go to that one now; resolve it by hand "
                + "(alertbridge resolve)")
    }

    @Test func anIncidentOfAHeartbeatNoLongerDefinedIsNamed() throws {
        let missed = incident(4, key: "HeartbeatMissed/hb1", rule: "default",
                              labels: ["alertname": "HeartbeatMissed", "heartbeat": "hb1"])
        #expect(IncidentReview.orphanedHeartbeats([missed], heartbeats: ["hb1"]).isEmpty)
        #expect(IncidentReview.orphanedHeartbeats([missed], heartbeats: ["hb1x"]) == [
            "open incident 4 is of heartbeat \"hb1\", which alertbridge.yaml does not define: no ping resolves it now; "
                + "resolve it by hand (alertbridge resolve 4)",
        ])
    }

    /// Acknowledged before anyone was paged, its policy's `ack_timeout` shortened: its next
    /// look moves to the loaded policy's time (black-box round 41: it paged at the copy's, 2m
    /// "late"). Not one already paging (it keeps its copy), nor one whose policy is as it was.
    @Test func anUnpagedIncidentTakesItsTimersFromThePolicyAsLoaded() throws {
        let copy = EscalationPolicy(name: "pop-outage", tiers: [.init(name: "noc", notify: [.init(connector: "console")],
                                                                        escalateAfter: .seconds(300))], ackTimeout: .seconds(180))
        var shorter = copy
        shorter.ackTimeout = .seconds(60)
        let t0 = Timestamp(seconds: 1_795_457_100)
        var acked = incident(4, key: "PopDown/FRA1", rule: "default", labels: ["alertname": "PopDown", "pop": "FRA1"])
        (acked.status, acked.acknowledgedAt, acked.nextEscalationAt) = (.acknowledged, t0, t0 + .seconds(180))
        var paging = acked
        (paging.id, paging.escalation.step) = (5, 1)
        paging.escalation.firstPagedAt = t0
        #expect(paging.escalation.hasPaged)
        let details = [IncidentDetail(incident: acked, alerts: [], timeline: [], policy: copy),
                       IncidentDetail(incident: paging, alerts: [], timeline: [], policy: copy)]
        let rules = try rules(popDownKey: "PopDown/{{pop}}")
        let moved = IncidentReview.retimes(details, context: EscalationContext(rules: rules, policies: ["pop-outage": shorter]))
        #expect(moved == [IncidentReview.Retime(id: 4, old: t0 + .seconds(180), new: t0 + .seconds(60))])
        #expect(IncidentReview.retimes(details, context: EscalationContext(rules: rules, policies: ["pop-outage": copy])).isEmpty)
        #expect(IncidentReview.retimed(moved) == "open incident 4, nobody paged for it yet, takes its timers from the policy as "
                + "loaded now (edited since it opened), as its first page will")
    }
}
