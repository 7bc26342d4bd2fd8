import Hummingbird

/// `POST /api/v1/alerts` and `POST /api/v1/alertmanager`.
struct IngestRoutes {
    let ingestor: Ingestor
    let maxBodyBytes: Int

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.post("/api/v1/alerts") { request, _ in
            try await ingestor.native(try await body(of: request))
        }
        router.post("/api/v1/alertmanager") { request, _ in
            try await ingestor.alertmanager(try await body(of: request))
        }
    }

    private func body(of request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body is larger than the limit of \(maxBodyBytes) bytes (max_body_bytes)")
        }
    }
}
