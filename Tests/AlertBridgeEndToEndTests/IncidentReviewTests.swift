@testable import alertbridge
import AlertBridgeCore
import Testing

/// What `serve` says at start of open incidents the configuration no longer reaches as it
/// did (black-box round 39: a changed `dedup_key` and a renamed heartbeat were silent).
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

    @Test func incidentsOfAChangedDedupKeyAreNamedOncePerRule() throws {
        let open = [
            incident(3, key: "Other", rule: "default", labels: ["alertname": "Other"]),
            incident(1, key: "PopDown/FRA1", rule: "pop-down", labels: ["alertname": "PopDown", "pop": "FRA1", "region": "emea"]),
            incident(2, key: "PopDown/AMS1", rule: "pop-down", labels: ["alertname": "PopDown", "pop": "AMS1", "region": "emea"]),
        ].reversed() as [Incident]
        #expect(IncidentReview.findings(open, rules: try rules(popDownKey: "PopDown/{{pop}}"), heartbeats: []).isEmpty,
                "nothing changed")
        #expect(IncidentReview.findings(open, rules: try rules(popDownKey: "PopDown/{{region}}/{{pop}}"), heartbeats: []) == [
            "open incidents 1, 2 were keyed by rule pop-down's earlier dedup_key (PopDown/FRA1 is PopDown/emea/FRA1 now): a recovery "
                + "of their alerts still reaches them, but one that fires again opens a new incident and pages; resolve them by hand "
                + "(alertbridge resolve) once nothing of them fires",
        ])
    }

    @Test func anIncidentOfAHeartbeatNoLongerDefinedIsNamed() throws {
        let missed = incident(4, key: "HeartbeatMissed/hb1", rule: "default",
                              labels: ["alertname": "HeartbeatMissed", "heartbeat": "hb1"])
        let rules = try rules(popDownKey: "PopDown/{{pop}}")
        #expect(IncidentReview.findings([missed], rules: rules, heartbeats: ["hb1"]).isEmpty)
        #expect(IncidentReview.findings([missed], rules: rules, heartbeats: ["hb1x"]) == [
            "open incident 4 is of heartbeat \"hb1\", which alertbridge.yaml does not define: no ping resolves it now; "
                + "resolve it by hand (alertbridge resolve 4)",
        ])
    }
}
