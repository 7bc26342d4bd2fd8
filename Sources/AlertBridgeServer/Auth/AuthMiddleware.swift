import AlertBridgeConfig
import Hummingbird

/// Bearer-token authentication and authorization for every route but the public ones.
///
/// Senders need `ingest` to post alerts; people and the CLI need `operate` to read and
/// act on incidents. Health, readiness, metrics and the OpenAPI document need nothing;
/// `/v2/enqueue` authenticates by its `routing_key`, as PagerDuty does.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: TokenAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let scope = Self.requiredScope(request), !authenticator.isOpen else {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "this endpoint needs a bearer token (Authorization: Bearer TOKEN)")
        }
        guard let token = authenticator.token(presenting: header.dropFirst("Bearer ".count)) else {
            throw APIError(.unauthorized, "the bearer token is not valid")
        }
        try authenticator.authorize(token, for: scope)
        var context = context
        context.tokenName = token.name
        return try await next(request, context)
    }

    /// `nil` for public routes.
    static func requiredScope(_ request: Request) -> Scope? {
        let path = request.uri.path
        switch path {
        case "/healthz", "/readyz", "/metrics", "/openapi.yaml", "/v2/enqueue":
            return nil
        case "/api/v1/alerts", "/api/v1/alertmanager":
            return .ingest
        default:
            return path.hasPrefix("/api/v1/heartbeats/") ? .ingest : .operate
        }
    }
}
