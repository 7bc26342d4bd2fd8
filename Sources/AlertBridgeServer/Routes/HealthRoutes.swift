import AlertBridgeStore
import Hummingbird

/// Liveness, readiness, metrics and the API description: no token needed.
struct HealthRoutes {
    let store: any IncidentStore
    let metrics: ServerMetrics

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.get("/healthz") { _, _ in
            try JSONResponse.make(["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            do {
                try await store.ping()
                return try JSONResponse.make(["status": "ready"])
            } catch {
                throw APIError(.serviceUnavailable, "store unreachable: \(Self.reason(error))", retryAfterSeconds: 1)
            }
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }

    /// Why the store did not answer, said once: an unavailable store's own text starts
    /// "store unavailable", which after "store unreachable" says the same thing twice.
    static func reason(_ error: any Error) -> String {
        StoreError.unavailableReason(error) ?? "\(error)"
    }
}
