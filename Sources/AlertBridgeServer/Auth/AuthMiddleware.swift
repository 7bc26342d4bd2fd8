import AlertBridgeConfig
import Hummingbird

/// Bearer-token authentication and authorization for one group of routes.
///
/// Senders need `ingest` to post alerts; people and the CLI need `operate` to read and
/// act on incidents. The scope belongs to the routes it guards (a route group), not to
/// the request's path: the router matches `/api/v1/alerts/` and `//api/v1/alerts` to the
/// ingest route too, and the scope must follow the route that runs. Health, readiness,
/// metrics and the OpenAPI document need nothing; `/v2/enqueue` authenticates by its
/// `routing_key`, as PagerDuty does.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let scope: Scope
    let authenticator: TokenAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !authenticator.isOpen else { return try await next(request, context) }
        guard let secret = request.headers[.authorization].flatMap(Self.bearerToken) else {
            throw APIError(.unauthorized, "this endpoint needs a bearer token (Authorization: Bearer TOKEN)")
        }
        guard let token = authenticator.token(presenting: secret) else {
            throw APIError(.unauthorized, "the bearer token is not valid")
        }
        try authenticator.authorize(token, for: scope)
        var context = context
        context.tokenName = token.name
        return try await next(request, context)
    }

    /// The token of a `Bearer` credential; the scheme is case-insensitive (RFC 9110 §11.1).
    static func bearerToken(_ header: String) -> Substring? {
        guard let space = header.firstIndex(of: " "), header[..<space].lowercased() == "bearer" else { return nil }
        return header[header.index(after: space)...].drop(while: { $0 == " " })
    }
}
