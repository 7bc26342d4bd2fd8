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
        try await request.body(upTo: maxBodyBytes) {
            APIError(.contentTooLarge, "request body is larger than the limit of \(maxBodyBytes) bytes (max_body_bytes)")
        }
    }
}
