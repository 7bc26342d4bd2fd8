import Hummingbird

extension Request {
    /// The body, refused before it is read where its headers already say it cannot be
    /// taken: a `Content-Length` over `limit` answers 413 at once (the server waited for
    /// 16 MiB to arrive first, black-box round 28), and a compressed body 415 (it read as
    /// "malformed JSON: unexpected byte 0x1F").
    /// - Parameter tooLarge: the refusal of a body over `limit`, in the route's own shape.
    func body(upTo limit: Int, tooLarge: () -> any Error) async throws -> ByteBuffer {
        if let encoding = headers[.contentEncoding], encoding.lowercased() != "identity" {
            throw APIError(.unsupportedMediaType, "Content-Encoding \(encoding) is not taken: send the JSON uncompressed")
        }
        if let declared = headers[.contentLength].flatMap({ Int($0) }), declared > limit { throw tooLarge() }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge()
        }
    }
}
