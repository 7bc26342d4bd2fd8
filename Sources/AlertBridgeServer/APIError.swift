import AlertBridgeStore
import Foundation
import Hummingbird
import NIOHTTP1

/// Every error the API answers: JSON `{"error": ..., "field": ...}` with its status.
///
/// Bad input names the field that is wrong, so a sender can fix its payload without
/// reading our logs.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var field: String?
    public var retryAfterSeconds: Int?
    /// The methods the path takes, for a `405`.
    public var allow: [HTTPRequest.Method]

    public init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil, retryAfterSeconds: Int? = nil,
                allow: [HTTPRequest.Method] = []) {
        self.status = status
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
        self.allow = allow
    }

    public static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, message, field: field)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if !allow.isEmpty { headers[.allow] = allow.map(\.rawValue).joined(separator: ", ") }
        // RFC 6750 §3: a 401 names the scheme it wants.
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="alertbridge""# }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body())))
    }

    func body() -> Data {
        JSONResponse.encode(ErrorBody(error: message, field: field))
    }

    private struct ErrorBody: Encodable {
        var error: String
        var field: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(error, forKey: .error)
            try c.encode(field, forKey: .field)
        }

        enum CodingKeys: CodingKey { case error, field }
    }
}

/// Turns Hummingbird's own errors (no route, body too large) into the same JSON shape,
/// and anything unexpected into a JSON 500 that never echoes internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Tells a wrong method on a known path (405) from an unknown path (404).
    let allowed: AllowedMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch var error as APIError {
            // `curl -d 'labels=…'` sends a form, not JSON: say so beside where it broke
            // (black-box round 23: "unexpected 'l' at line 1, column 1" alone).
            if error.message.hasPrefix("malformed JSON"), let type = request.headers[.contentType],
               type.hasPrefix("application/x-www-form-urlencoded") || type.hasPrefix("multipart/form-data") {
                let name = type.prefix { $0 != ";" }
                error.message += " (the request says Content-Type: \(name); send JSON with Content-Type: application/json)"
            }
            throw error
        } catch let error as HTTPError where error.status == .notFound {
            let methods = allowed.methods(for: request.uri.path)
            guard methods.isEmpty else {
                let names = methods.map(\.rawValue)
                let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " or " + names.last!
                throw APIError(.methodNotAllowed, "\(request.uri.path) takes \(list), not \(request.method)", allow: methods)
            }
            throw APIError(.notFound, "no route for \(request.method) \(request.uri.path)")
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body is too large")
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, error.status.reasonPhrase)
        } catch StoreError.unavailable(let why) {
            // The database is down or unreachable: a retryable condition, not a bug.
            throw APIError(.serviceUnavailable, "the store is unavailable (\(why)); retry", retryAfterSeconds: 1)
        } catch let error as HTTPParserError {
            // The client's framing (a Transfer-Encoding other than chunked): its mistake, not
            // ours. It was a 500 and an error line in the log, which anyone could flood
            // (black-box round 28).
            throw APIError(.badRequest, "the request's body could not be read as HTTP/1.1 frames it (\(error)); "
                           + "send it with Content-Length or Transfer-Encoding: chunked")
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "internal error")
        }
    }
}
