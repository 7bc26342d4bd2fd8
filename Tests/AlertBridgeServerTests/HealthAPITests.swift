import Foundation
import HummingbirdTesting
import Testing

@Suite struct HealthAPITests {
    @Test func healthReadinessAndMetrics() async throws {
        try await TestApp.run { client, _, _ in
            #expect(try await client.get("/healthz").0 == .ok)
            #expect(try await client.get("/readyz").1["status"] as? String == "ready")
            _ = try await client.post("/api/v1/alerts", nativeAlert())
            _ = try await client.post("/api/v1/alerts", nativeAlert())
            _ = try await client.post("/api/v1/alerts", "{}")
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(text.contains(#"alertbridge_alerts_received_total{format="native"} 2"#))
            #expect(text.contains(#"alertbridge_alert_outcomes_total{outcome="created"} 1"#))
            #expect(text.contains(#"alertbridge_alert_outcomes_total{outcome="merged"} 1"#))
            #expect(text.contains("alertbridge_ingest_rejected_total 1"))
        }
    }
}
