import AlertBridgeConfig
@testable import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Hummingbird
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

    /// `alertbridge_ingest_rejected_total` counts each ingest request refused for what it
    /// sent, 400 or 413, on every ingest endpoint (a 413 and every `/v2/enqueue` refusal
    /// went uncounted), once each; a request refused for its token is not counted.
    @Test func everyRefusedIngestRequestIsCounted() async throws {
        let secret = "ingest-secret-123"
        try await TestApp.withApp(maxBodyBytes: 1024, tokens: [TokenConfig(name: "monitoring", scopes: [.ingest], secret: secret)]) {
            client, _, _ in
            func post(_ path: String, _ body: String, token: String? = secret) async throws -> HTTPResponse.Status {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let token { headers[.authorization] = "Bearer \(token)" }
                return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0.status }
            }
            let tooLarge = #"{"padding": ""# + String(repeating: "x", count: 2000) + #""}"#
            func event(_ routingKey: String) -> String {
                #"{"routing_key": "\#(routingKey)", "event_action": "trigger", "payload": {"summary": "s", "source": "grafana", "severity": "info"}}"#
            }
            let refused: [(String, String, HTTPResponse.Status)] = [
                ("/api/v1/alerts", "{}", .badRequest),
                ("/api/v1/alerts", tooLarge, .contentTooLarge),
                ("/api/v1/alertmanager", #"{"version": "4"}"#, .badRequest),
                ("/api/v1/alertmanager", tooLarge, .contentTooLarge),
                ("/v2/enqueue", #"{"routing_key": "\#(secret)", "event_action": "trigger"}"#, .badRequest),
                ("/v2/enqueue", event("not-a-token"), .badRequest),
                ("/v2/enqueue", tooLarge, .contentTooLarge),
            ]
            for (path, body, status) in refused {
                #expect(try await post(path, body) == status, "\(path) \(body.prefix(60))")
            }
            #expect(try await post("/api/v1/alerts", "{}", token: nil) == .unauthorized)
            #expect(try await post("/api/v1/alerts", nativeAlert()) == .accepted)
            #expect(try await post("/v2/enqueue", event(secret)) == .accepted)

            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(text.split(separator: "\n").contains("alertbridge_ingest_rejected_total 7"), "\(text)")
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
