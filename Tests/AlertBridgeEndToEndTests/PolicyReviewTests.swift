@testable import alertbridge
import AlertBridgeCore
import AlertBridgeStore
import Testing

/// What `serve` says at start of the policies open incidents run (black-box round 27: a
/// renamed connector's pages were retried for an hour and given up, and nothing said so).
@Suite struct PolicyReviewTests {
    let policy = EscalationPolicy(name: "fast", tiers: [
        .init(name: "technical-support", notify: [.init(connector: "mail", to: ["noc@example.com"])], escalateAfter: .seconds(20)),
        .init(name: "rnd", notify: [.init(connector: "hook")], escalateAfter: .seconds(20)),
    ])

    func findings(_ inUse: [PolicyInUse], policies: [String: EscalationPolicy], connectors: Set<String>) -> [PolicyReview.Finding] {
        PolicyReview.findings(inUse, policies: policies, connectors: connectors, maxAge: .seconds(3600))
    }

    @Test func aConnectorTheFileNoLongerDefinesIsAWarningNamingTheIncidents() {
        var renamed = policy
        renamed.tiers[0].notify[0].connector = "email"
        let found = findings([PolicyInUse(policy: policy, incidents: [3, 7])], policies: ["fast": renamed],
                             connectors: ["email", "hook", "console"])
        #expect(found == [PolicyReview.Finding(isWarning: true, text:
            "open incidents 3, 7 run policy \"fast\" as it was when they started, which pages connector \"mail\": alertbridge.yaml "
            + "defines no such connector now, so those pages are retried for max_age (1h) and then given up; define it again, "
            + "or escalate or resolve them")])
    }

    @Test func anEditedOrRemovedPolicyIsANotice() {
        var edited = policy
        edited.tiers[1].escalateAfter = .seconds(60)
        let connectors: Set<String> = ["mail", "hook", "console"]
        #expect(findings([PolicyInUse(policy: policy, incidents: [5])], policies: ["fast": edited], connectors: connectors)
            == [PolicyReview.Finding(isWarning: false, text:
                "open incident 5 runs policy \"fast\" as it was when it started; the policy was edited since, and the edit applies to new incidents only")])
        #expect(findings([PolicyInUse(policy: policy, incidents: [5])], policies: [:], connectors: connectors).map(\.text)
            == ["open incident 5 runs policy \"fast\" as it was when it started; the policy files no longer have it, and it goes on with its copy"])
        // Unchanged: nothing to say.
        #expect(findings([PolicyInUse(policy: policy, incidents: [5])], policies: ["fast": policy], connectors: connectors).isEmpty)
        #expect(PolicyReview.named(Array(1...12)) == "incidents 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more")
    }
}
