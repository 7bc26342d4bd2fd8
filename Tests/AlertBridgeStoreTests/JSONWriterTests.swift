@testable import AlertBridgeStore
import AlertBridgeCore
import Foundation
import Testing

/// The hand-written row documents must be valid JSON that reads back exactly.
@Suite struct JSONWriterTests {
    let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} 서울 🚨 slash /"

    @Test func incidentsRoundTripThroughAJSONParser() throws {
        var incident = Incident(id: 42, dedupKey: tricky, status: .acknowledged, title: tricky, severity: .critical,
                                labels: ["pop": "ICN1", "weird": tricky], annotations: [:], rule: "r", policy: "p",
                                alertCount: 3, firingCount: 2, createdAt: Timestamp(milliseconds: 1_795_457_100_123),
                                lastAlertAt: Timestamp(milliseconds: 1_795_457_200_000), acknowledgedBy: nil)
        incident.escalation.step = 2
        incident.escalation.tierPagedAt = Timestamp(milliseconds: 1_795_457_100_000)
        incident.escalation.heldUntil = Timestamp(milliseconds: 1_795_464_300_000)
        incident.escalation.inhibitedBy = [16, 12]
        incident.escalation.earlierTiers = [
            .init(tier: 1, name: tricky, notify: [.init(connector: "noc-email", to: [tricky, "b@example.com"]), .init(connector: "console")]),
            .init(tier: 2, name: "rnd", notify: []),
        ]
        incident.escalation.resolution = .autoResolve
        incident.escalation.acknowledgedThrough = 2
        incident.escalation.recovery = .init(at: Timestamp(milliseconds: 1_795_457_300_000), by: tricky,
                                             resolvesAt: Timestamp(milliseconds: 1_795_457_360_000))
        let text = JSONWriter.incidents([incident, incident])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed[0]["title"] as? String == tricky)
        #expect((parsed[0]["labels"] as? [String: String])?["weird"] == tricky)
        #expect(parsed[0]["acknowledged_by"] is NSNull)
        #expect(parsed[0]["created_at"] as? Int64 == 1_795_457_100_123)
        // The nested escalation state must read back with its own Codable form.
        let escalation = try JSONSerialization.data(withJSONObject: parsed[0]["escalation"]!)
        let state = try JSONDecoder().decode(EscalationState.self, from: escalation)
        #expect(state == incident.escalation)
    }

    /// The first builds that held inhibited incidents wrote one id, not a list.
    @Test func aSingleInhibitorIDReadsAsAList() throws {
        let state = try JSONDecoder().decode(EscalationState.self, from: Data(#"{"step": 0, "inhibitedBy": 9}"#.utf8))
        #expect(state.inhibitedBy == [9])
    }

    @Test func alertsAndTimelineRoundTrip() throws {
        let alert = Alert(source: tricky, status: .firing, severity: .warning, summary: tricky, labels: ["a": tricky],
                          value: .infinity, threshold: 0.8)
        let change = IngestPlanner.AlertChange(incidentID: 1, alert: alert, received: 2,
                                               firstSeenAt: Timestamp(seconds: 1), lastSeenAt: Timestamp(seconds: 2))
        let alerts = try #require(try JSONSerialization.jsonObject(with: Data(JSONWriter.alerts([change]).utf8)) as? [[String: Any]])
        #expect(alerts[0]["summary"] as? String == tricky)
        #expect(alerts[0]["value"] is NSNull)
        #expect(alerts[0]["threshold"] as? Double == 0.8)
        let entry = TimelineEntry(incidentID: 1, at: Timestamp(seconds: 5), kind: .note, by: nil, detail: tricky)
        let timeline = try #require(try JSONSerialization.jsonObject(with: Data(JSONWriter.timeline([entry]).utf8)) as? [[String: Any]])
        #expect(timeline[0]["detail"] as? String == tricky)
        #expect(timeline[0]["by"] is NSNull)
        #expect(JSONWriter.timeline([]) == "[]")
    }

    /// Escapes at the start, the end and next to each other: the writer copies the runs
    /// between them whole, so their edges are where it could go wrong.
    @Test func escapesAtEveryPositionOfAString() throws {
        for text in ["\"", "\"a", "a\"", "\"\\\n", "a\"\"b", "\u{1}x\u{1f}", "", "plain", "서울\"🚨"] {
            let labels = [text: text, "k": text]
            let json = JSONWriter.text { $0.value(labels) }
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
            #expect(parsed == labels, "\(json)")
        }
    }

    @Test func labelMapsAreWrittenWithSortedKeys() {
        #expect(JSONWriter.text { $0.value(["pop": "ICN1", "alertname": "X", "region": "apac", "b": ""]) }
            == #"{"alertname":"X","b":"","pop":"ICN1","region":"apac"}"#)
    }
}
