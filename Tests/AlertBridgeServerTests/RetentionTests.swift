import AlertBridgeCore
import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Logging
import Testing

/// `retention:` through the API, the dispatcher and the service, on a manual clock.
@Suite struct RetentionTests {
    let logger = Logger(label: "test")

    /// Resolved 30 days and a second ago, its pages delivered: gone, counted on `/metrics`.
    /// The open one stays, and so do a silence still running and the incident whose
    /// resolve notice is the newest page (a webhook receiver knows that page's id).
    @Test func aResolvedIncidentIsDeletedOnceOlderThanTheRetention() async throws {
        try await TestApp.withApp(retention: .seconds(30 * 86_400)) { client, app, clock in
            let old = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1["incident_id"] as? Int)
            let newer = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT2")).1["incident_id"] as? Int)
            let open = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "LHR6")).1["incident_id"] as? Int)
            for id in [old, newer] {
                #expect(try await client.post("/api/v1/incidents/\(id)/resolve", #"{"by": "alice"}"#).0 == .ok)
            }
            _ = try await client.post("/api/v1/silences", #"{"matchers": ["pop = FRA1"], "duration": "60d", "by": "alice", "comment": "decommissioned"}"#)
            try await app.dispatcher(logger: logger).tick()
            let service = try #require(app.retentionService(logger: logger))

            clock.advance(by: .seconds(30 * 86_400))
            #expect(try await service.tick() == RetentionReport(), "resolved exactly 30 days ago: kept")
            clock.advance(by: .seconds(1))
            #expect(try await service.tick() == RetentionReport(incidents: 1, silences: 0))
            let (status, gone) = try await client.get("/api/v1/incidents/\(old)")
            #expect(status == .notFound && gone["error"] as? String
                    == "incident \(old) not found (retention 30d deletes incidents resolved before \(RFC3339.format(clock.now() - .seconds(30 * 86_400))))")
            #expect(try await client.get("/api/v1/incidents/999").1["error"] as? String == "incident 999 not found", "never was")
            #expect(try await client.get("/api/v1/incidents/\(newer)").0 == .ok)
            #expect(try await client.get("/api/v1/incidents/\(open)").0 == .ok)
            let silences = try await client.get("/api/v1/silences?status=all").1["silences"] as? [[String: Any]]
            #expect(silences?.count == 1)
            // The listing says how far back resolved incidents are kept, for a report to say so.
            #expect(try await client.get("/api/v1/incidents?status=all").1["retention_cutoff"] as? String
                    == RFC3339.format(clock.now() - .seconds(30 * 86_400)))
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"alertbridge_retention_deleted_total{kind="incidents"} 1"#), "\(metrics)")
        }
    }
}
