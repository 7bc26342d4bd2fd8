import Hummingbird

extension Request {
    /// The body, refused before it is read where its headers already say it cannot be
    /// taken: a `Content-Length` over `limit` answers 413 at once (the server waited for
    /// 16 MiB to arrive first, black-box round 28), and a compressed body 415 (it read as
    /// "malformed JSON: unexpected byte 0x1F"). A transfer coding other than chunked is
    /// the client's 400, said in these words: `gzip, chunked` was read as chunked and the
    /// compressed bytes as broken JSON, and `gzip` alone failed in the HTTP parser, which
    /// said `unknown (http_parser error)`.
    /// - Parameter tooLarge: the refusal of a body over `limit`, in the route's own shape.
    func body(upTo limit: Int, tooLarge: () -> any Error) async throws -> ByteBuffer {
        if let encoding = headers.firstValue(.contentEncoding), encoding.lowercased() != "identity" {
            throw APIError(.unsupportedMediaType, "Content-Encoding \(encoding) is not taken: send the JSON uncompressed")
        }
        if headers.contains(.transferEncoding), let coding = headers[values: .transferEncoding].flatMap({ $0.split(separator: ",") })
            .map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { $0.lowercased() != "chunked" }) {
            throw APIError(.badRequest, "Transfer-Encoding \(coding) is not taken: send the JSON uncompressed, "
                           + "with Content-Length or Transfer-Encoding: chunked")
        }
        if let declared = headers.firstValue(.contentLength).flatMap({ Int($0) }), declared > limit { throw tooLarge() }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge()
        }
    }
}
