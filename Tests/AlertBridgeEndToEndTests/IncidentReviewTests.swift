@testable import alertbridge
import AlertBridgeCore
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
}
