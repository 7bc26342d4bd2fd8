import AlertBridgeCore
import Testing

@Suite struct RuleSetTests {
    func alert(_ labels: Labels, severity: Severity = .warning, dedupKey: String? = nil) -> Alert {
        Alert(source: "test", status: .firing, severity: severity, summary: "s", labels: labels, dedupKey: dedupKey)
    }

    let rules = RuleSet(rules: [
        Rule(name: "pop-down", matchers: [try! Matcher(parsing: "alertname = PopDown")],
             dedupKey: try! DedupKeyTemplate(parsing: "PopDown/{{pop}}"), severity: .critical, policy: "pop-outage"),
        Rule(name: "latency", matchers: [try! Matcher(parsing: "alertname = EdgeLatencyHigh")],
             dedupKey: try! DedupKeyTemplate(parsing: "{{alertname}}/{{pop}}/{{service}}"),
             policy: "cdn-performance", policyBySeverity: [.critical: "pop-outage"]),
        Rule(name: "audit", matchers: [try! Matcher(parsing: "team = audit")], policy: "audit", continue: true),
        Rule(name: "default", policy: "cdn-performance"),
    ])

    @Test func firstMatchWinsAndAppliesTemplateAndSeverity() {
        let routed = rules.route(alert(["alertname": "PopDown", "pop": "ICN1"]))
        #expect(routed.count == 1)
        #expect(routed[0].rule == "pop-down")
        #expect(routed[0].dedupKey == "PopDown/ICN1")
        #expect(routed[0].alert.severity == .critical)
        #expect(routed[0].policy == "pop-outage")
    }

    @Test func severityChoosesPolicy() {
        let labels: Labels = ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge"]
        #expect(rules.route(alert(labels, severity: .warning))[0].policy == "cdn-performance")
        #expect(rules.route(alert(labels, severity: .critical))[0].policy == "pop-outage")
    }

    @Test func continueAlsoRoutesToTheNextMatchingRule() {
        let routed = rules.route(alert(["team": "audit"]))
        #expect(routed.map(\.rule) == ["audit", "default"])
        #expect(routed.map(\.policy) == ["audit", "cdn-performance"])
        // Each rule's own incident: the same key would only merge the second into the first.
        let key = Fingerprint.of(["team": "audit"])
        #expect(routed.map(\.dedupKey) == [key, "default/\(key)"])
        #expect(rules.route(alert(["team": "audit"], dedupKey: "pd-key")).map(\.dedupKey) == ["pd-key", "default/pd-key"])
    }

    /// An alert that matches an inhibit rule's source is not inhibited by a source that is
    /// a target too (Alertmanager's two-sided match): a critical PopDown that `continue:
    /// true` also routes to the exec desk is not muted by its own PopDown incident. Any
    /// other source still inhibits it.
    @Test func anAlertIsNeverInhibitedByARuleItIsASourceOf() {
        let set = RuleSet(rules: [
            Rule(name: "pop-down", matchers: [try! Matcher(parsing: "alertname = PopDown")], policy: "pop-outage",
                 inhibit: Rule.Inhibit(targets: [try! Matcher(parsing: "severity = critical")], equal: ["pop"]), continue: true),
            Rule(name: "exec", matchers: [try! Matcher(parsing: "severity = critical")], policy: "exec"),
        ])
        let labels: Labels = ["alertname": "PopDown", "pop": "ICN1", "severity": "critical"]
        let routed = set.route(alert(labels))
        #expect(routed.map(\.rule) == ["pop-down", "exec"])
        let candidate = try! #require(routed[1].inhibitors.first)
        #expect(!candidate.isInhibited(labels, by: labels), "its own PopDown incident")
        #expect(candidate.isInhibited(labels, by: ["alertname": "PopDown", "pop": "ICN1", "severity": "warning"]))
        // A critical alert that is only a target is inhibited by the critical PopDown.
        let edge = set.route(alert(["alertname": "EdgeDown", "pop": "ICN1", "severity": "critical"]))
        #expect(edge[0].inhibitors.first?.isInhibited(["alertname": "EdgeDown", "pop": "ICN1"], by: labels) == true)
    }

    /// DESIGN §4: the rule's template, else the sender's key, else the label fingerprint.
    @Test func keyFallsBackToSenderKeyThenFingerprint() {
        #expect(rules.route(alert(["x": "1"], dedupKey: "sender-key"))[0].dedupKey == "sender-key")
        let edge: Labels = ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge"]
        #expect(rules.route(alert(edge, dedupKey: "sender-key"))[0].dedupKey == "EdgeLatencyHigh/ICN1/cdn-edge")
        let labels: Labels = ["x": "1"]
        #expect(rules.route(alert(labels))[0].dedupKey == Fingerprint.of(labels))
    }

    @Test func noRulesStillRoutesEverything() {
        let routed = RuleSet(rules: []).route(alert(["x": "1"]))
        #expect(routed.count == 1)
        #expect(routed[0].policy == RuleSet.fallbackPolicy)
    }
}
