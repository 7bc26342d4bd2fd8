import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeServer
import Foundation
import Logging
import Testing

/// An inhibit rule's `wait`: a new target incident waits before its first page for an
/// incident that inhibits it to open. A probe sends a PoP's edge alerts a moment before
/// its PoP-down, and each would page tier 1 for a symptom (black-box round 29). The
/// engine, the dispatcher and the API against the SQLite store, on a manual clock.
@Suite struct InhibitWaitTests {
    let logger = Logger(label: "test")

    /// The pop-down rule of ``TestApp/inhibitingRules`` with `wait: 10s`.
    static let rules: RuleSet = {
        var rules = TestApp.inhibitingRules.rules
        rules[0].inhibit?.wait = .seconds(10)
        return RuleSet(rules: rules)
    }()

    /// ICN1's latency lands 3 s before its PoP-down: only the PoP-down is paged, and the
    /// latency incident is held by it from the wait's end, as if it had come after it.
    @Test func anEdgeAlertThatLandsBeforeItsPopDownPagesNobody() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(rules: Self.rules, connectors: ["console": chat]) { client, app, clock in
            let edge = try await client.post("/api/v1/alerts", nativeAlert()).1
            #expect(edge["outcome"] as? String == "created")
            let id = try #require(edge["incident_id"] as? Int)
            let next = try #require(try await client.get("/api/v1/incidents/\(id)").1["next_step"] as? [String: Any])
            #expect(next["action"] as? String == "inhibit_wait" && next["tier"] as? Int == 1)
            #expect(next["text"] as? String == "tier 1 (technical-support) is paged at 2026-11-23T18:05:10Z unless an incident "
                + "that inhibits this one opens first, or someone acknowledges (inhibit wait 10s)", "\(next)")

            clock.advance(by: .seconds(3))
            let down = try #require(try await client.post("/api/v1/alerts", nativeAlert(alertname: "PopDown")).1["incident_id"] as? Int)
            // `show` before the wait's end says what will happen, not "paged unless …, but …".
            let waiting = try #require(try await client.get("/api/v1/incidents/\(id)").1["next_step"] as? [String: Any])
            #expect(waiting["text"] as? String == "nobody is paged: incident \(down), which inhibits this one, opened during its inhibit wait "
                + "(10s), so from 2026-11-23T18:05:10Z, when the wait ends, it is held while incident \(down) is open", "\(waiting)")
            clock.advance(by: .seconds(7))
            #expect(try await app.engine(logger: logger).tick().pages == 0)
            try await app.dispatcher(logger: logger).tick()
            #expect(chat.delivered.map(\.incident.incident.id) == [Int64(down)], "\(chat.summary)")
            let held = try await client.get("/api/v1/incidents/\(id)").1
            #expect(held["inhibited_by"] as? [Int] == [down] && held["paged"] as? Bool == false)
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"alertbridge_inhibit_waits_total{outcome="held"} 1"#), "\(metrics)")
        }
    }

    /// A copy of the latency sent after the PoP-down opened is inhibited (`suppressed`), and
    /// the incident goes on waiting; at the wait's end, every alert of it inhibited, it is
    /// held as one whose PoP-down opened in the wait. (It was held at once, and so was an
    /// origin's incident that an up PoP's alert shared: black-box round 37.)
    @Test func aCopyAfterItsPopDownOpenedIsHeldAtTheWaitsEnd() async throws {
        try await TestApp.withApp(rules: Self.rules) { client, app, clock in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            clock.advance(by: .seconds(3))
            let down = try #require(try await client.post("/api/v1/alerts", nativeAlert(alertname: "PopDown")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(1))
            #expect(try await client.post("/api/v1/alerts", nativeAlert(instance: "icn1-edge-02")).1["outcome"] as? String == "suppressed")
            let waiting = try #require(try await app.store.incident(id: Int64(id)))
            #expect(waiting.incident.escalation.inhibitedBy.isEmpty && waiting.incident.escalation.inhibitWaitFrom != nil)
            clock.advance(by: .seconds(6))
            #expect(try await app.engine(logger: logger).tick().pages == 0)
            let held = try #require(try await app.store.incident(id: Int64(id)))
            #expect(held.incident.escalation.inhibitedBy == [Int64(down)] && held.incident.escalation.inhibitWaitFrom == nil)
            #expect(held.timeline.contains { $0.detail?.hasPrefix("incident \(down) (PopDown/ICN1), which inhibits this one, opened in the 10s "
                                                                  + "it waited") == true }, "\(held.timeline.map(\.detail))")
        }
    }

    /// Nothing inhibits NRT1: tier 1 is paged at the wait's end, not before, however many
    /// copies come meanwhile, and the page says why it comes 10 s after the incident opened.
    @Test func withNoInhibitorTierOneIsPagedAtTheWaitsEnd() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(rules: Self.rules, connectors: ["console": chat]) { client, app, clock in
            let engine = app.engine(logger: logger)
            _ = try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT1"))
            clock.advance(by: .seconds(5))
            #expect(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT1", instance: "nrt1-edge-02")).1["outcome"] as? String == "merged")
            #expect(try await engine.tick().pages == 0)
            try await app.dispatcher(logger: logger).tick()
            #expect(chat.delivered.isEmpty)
            clock.advance(by: .seconds(5))
            #expect(try await engine.tick().pages == 1)
            try await app.dispatcher(logger: logger).tick()
            #expect(chat.summary == ["triggered:1"])
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"alertbridge_inhibit_waits_total{outcome="paged"} 1"#), "\(metrics)")
            let page = try #require(chat.delivered.first)
            #expect(PageText.lead(page) == "Incident #\(page.incident.incident.id) needs tier 1 (technical-support): new incident "
                + "(paged after waiting 10s for an incident that would inhibit every alert of it: none opened).")
        }
    }

    /// A silence added during the wait holds it from the wait's end, and pages tier 1 when
    /// it ends; the timeline says why nobody was paged at the wait's end.
    @Test func aSilenceAddedDuringTheWaitHoldsIt() async throws {
        try await TestApp.withApp(rules: Self.rules) { client, app, clock in
            let engine = app.engine(logger: logger)
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT1")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(2))
            #expect(try await client.post("/api/v1/silences", #"{"matchers": ["pop = NRT1"], "duration": "1h", "by": "alice", "comment": "NRT1 work"}"#).0 == .created)
            // `show` says so before the wait's end (black-box round 31: it promised a page).
            let next = try #require(try await client.get("/api/v1/incidents/\(id)").1["next_step"] as? [String: Any])
            #expect((next["text"] as? String)?.hasSuffix("; but a silence holds every alert of it until 2026-11-23T19:05:02Z, "
                + "and nobody is paged before then") == true, "\(next)")
            clock.advance(by: .seconds(8))
            #expect(try await engine.tick().pages == 0)
            let detail = try #require(try await app.store.incident(id: Int64(id)))
            #expect(detail.timeline.map(\.detail).contains(
                "no incident that inhibits every alert of it opened in the 10s it waited (inhibit wait), but a silence holds it: nobody is paged while it does"))
            #expect(detail.incident.nextEscalationAt == TestApp.t0 + .seconds(3602))
            clock.advance(by: .seconds(3592))
            #expect(try await engine.tick().pages == 1)
        }
    }

    /// A symptom that blinked within its wait and fires again a moment before its PoP-down
    /// reopens an incident that paged nobody: it waits again, and its PoP-down holds it
    /// (black-box round 30: it paged `REOPENED` at once).
    @Test func aReopenOfAnIncidentThatPagedNobodyWaitsToo() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(rules: Self.rules, connectors: ["console": chat]) { client, app, clock in
            let engine = app.engine(logger: logger)
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            clock.advance(by: .seconds(3))
            _ = try await client.post("/api/v1/alerts", nativeAlert(status: "resolved"))
            clock.advance(by: .seconds(3))
            #expect(try await client.post("/api/v1/alerts", nativeAlert()).1["outcome"] as? String == "reopened")
            #expect((try await client.get("/api/v1/incidents/\(id)").1["next_step"] as? [String: Any])?["action"] as? String == "inhibit_wait")
            clock.advance(by: .seconds(1))
            let down = try #require(try await client.post("/api/v1/alerts", nativeAlert(alertname: "PopDown")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(9))
            #expect(try await engine.tick().pages == 0)
            try await app.dispatcher(logger: logger).tick()
            #expect(chat.delivered.map(\.incident.incident.id) == [Int64(down)], "\(chat.summary)")
        }
    }

    /// Someone took it during the wait: it is theirs, and the wait's end pages nobody.
    @Test func anAcknowledgementDuringTheWaitEndsIt() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(rules: Self.rules, connectors: ["console": chat]) { client, app, clock in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT1")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(2))
            #expect(try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "alice"}"#).0 == .ok)
            clock.advance(by: .seconds(8))
            #expect(try await app.engine(logger: logger).tick().pages == 0)
            try await app.dispatcher(logger: logger).tick()
            #expect(chat.delivered.isEmpty)
            let detail = try await client.get("/api/v1/incidents/\(id)").1
            #expect(detail["status"] as? String == "acknowledged")
            #expect(detail["paged"] as? Bool == false, "the TIER column's `none`")
            let next = try #require(detail["next_step"] as? [String: Any])
            #expect(next["action"] as? String == "ack_timeout")
            // Nobody was paged: not "paged again" (black-box round 30).
            #expect((next["text"] as? String)?.hasPrefix("tier 1 (technical-support) is paged at ") == true, "\(next)")
        }
    }
}
