@testable import AlertBridgeServer
import AlertBridgeStore
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

    /// `/readyz` says why the store did not answer once, in the store's words (the
    /// PostgreSQL store's text for a full pool is pinned in PostgresStoreTests).
    @Test func notReadySaysWhyOnce() {
        #expect(HealthRoutes.reason(StoreError.unavailable("no database connection within 3s"))
                == "no database connection within 3s")
        #expect(HealthRoutes.reason(StoreError.newerSchema(found: 9, known: 8)).hasPrefix("the store is at schema 9"))
    }
}
