import Foundation
import Testing

/// Replays the webhook requests real Alertmanager 0.25 sent (`shared/fixtures/alertmanager`)
/// against a live server and checks what their README says a correct bridge does.
@Suite("Alertmanager fixtures against a live server")
struct FixtureReplayTests {
    static let directory = Paths.fixtures.appendingPathComponent("alertmanager")

    /// The `body` of a fixture file, re-encoded as sent.
    static func body(_ name: String) throws -> Data {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        guard let file = try JSONSerialization.jsonObject(with: data) as? [String: Any], let body = file["body"] else {
            throw E2EError("\(name) has no \"body\"")
        }
        return try JSONSerialization.data(withJSONObject: body)
    }

    @Test("01 opens NRT2, 02 opens one ICN1 incident with two alerts, 03 keeps it open and records the recovery")
    func replay() async throws {
        try await LiveServer.with { server in
            let api = server.api

            try await api.ingest("/api/v1/alertmanager", try Self.body("01-nrt2-firing.json"))
            let afterFirst = try await api.incidents(status: "open")
            #expect(afterFirst.count == 1)
            let nrt2 = try #require(afterFirst.first)
            #expect(nrt2.dedupKey == "EdgeLatencyHigh/NRT2/cdn-edge")
            #expect(nrt2.status == "triggered")
            #expect(nrt2.severity == "warning")

            try await api.ingest("/api/v1/alertmanager", try Self.body("02-icn1-two-instances-firing.json"))
            let icn1Incidents = try await api.incidents(status: "all").filter { $0.dedupKey == "EdgeLatencyHigh/ICN1/cdn-edge" }
            #expect(icn1Incidents.count == 1, "one ICN1 incident, not one per edge host")
            let icn1ID = try #require(icn1Incidents.first).id
            let icn1 = try await api.incident(icn1ID)
            #expect(icn1.status == "triggered")
            #expect(icn1.severity == "critical")
            #expect(icn1.firingAlerts == 2)
            #expect(icn1.alerts?.count == 2)
            #expect(Set(icn1.alerts?.map(\.fingerprint) ?? []) == ["4121b34bb0a6af8e", "86e4623dad657b77"])
            #expect(try await api.incident(nrt2.id).status == "triggered", "ICN1 alerts do not touch NRT2")

            try await api.ingest("/api/v1/alertmanager", try Self.body("03-icn1-one-resolved-one-firing.json"))
            let after = try await api.incident(icn1ID)
            #expect(after.status == "triggered", "icn1-edge-02 still fires, so the incident stays open")
            #expect(after.firingAlerts == 1)
            let timeline = after.timeline ?? []
            #expect(timeline.contains { ($0.detail ?? "").contains("icn1-edge-01") && ($0.detail ?? "").contains("recovered") },
                    "timeline: \(timeline)")
            #expect(!timeline.contains { $0.kind == "resolved" }, "timeline: \(timeline)")
            let edge01 = after.alerts?.first { $0.fingerprint == "4121b34bb0a6af8e" }
            let edge02 = after.alerts?.first { $0.fingerprint == "86e4623dad657b77" }
            #expect(edge01?.status == "resolved")
            #expect(edge02?.status == "firing")
            #expect(try await api.incidents(status: "all").count == 2, "still exactly the NRT2 and the ICN1 incident")
        }
    }
}
