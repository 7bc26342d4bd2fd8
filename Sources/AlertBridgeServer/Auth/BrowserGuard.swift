import Hummingbird

/// alertbridge has no browser interface, so a web page must never act through it.
///
/// A page in the operator's browser can POST to `127.0.0.1` without asking (a `text/plain`
/// body needs no CORS preflight, and the API reads JSON whatever the type says), and one
/// whose own name it re-resolves to `127.0.0.1` (DNS rebinding) can read the answers too.
/// With tokens that gives it nothing (it has none); in protected mode it resolved
/// incidents and added a year-long silence of everything (black-box round 28). So a
/// request a browser marks as sent for a web page (`Origin`) is refused, and without
/// tokens only a request addressed to a loopback name (`Host`) is answered.
struct BrowserGuard<Context: RequestContext>: RouterMiddleware {
    /// Protected mode: no token is configured.
    let loopbackHostsOnly: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let origin = request.headers[.origin] {
            throw APIError(.forbidden, "a request sent for a web page (Origin: \(origin)) is refused: alertbridge has no browser "
                           + "interface, and a page must not act on incidents (cross-site request forgery)")
        }
        if loopbackHostsOnly, let host = request.head.authority, !Self.isLoopback(host: host) {
            throw APIError(.forbidden, "without tokens (protected mode) alertbridge answers only requests addressed to localhost, "
                           + "127.0.0.1 or [::1], not to \(host): a web page that re-resolves its own name to 127.0.0.1 "
                           + "(DNS rebinding) must not read or change incidents")
        }
        return try await next(request, context)
    }

    /// `localhost`, an address in 127.0.0.0/8 or `[::1]`, with or without a port.
    static func isLoopback(host authority: String) -> Bool {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
