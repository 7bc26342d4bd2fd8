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
        if let origin = request.headers.firstValue(.origin) {
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

    /// `localhost`, an address in 127.0.0.0/8 or `[::1]`, with or without a port. Read
    /// byte by byte, without allocating: it runs on every request in protected mode, and
    /// reading it by `Character` cost a single-alert request about 2% of its instructions
    /// (callgrind, bench/README.md).
    static func isLoopback(host authority: String) -> Bool {
        var host = authority.utf8[...]
        if host.first == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")) else { return false }
            return host[host.index(after: host.startIndex)..<close].elementsEqual("::1".utf8)
        }
        if let colon = host.lastIndex(of: UInt8(ascii: ":")) { host = host[..<colon] }
        if host.last == UInt8(ascii: ".") { host = host.dropLast() }
        if host.count == 9, host.elementsEqual("localhost".utf8, by: { $0 | 0x20 == $1 }) { return true }
        // Four decimal octets, the first 127.
        var octets = 0, value = 0, digits = 0, first = -1
        for byte in host {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, value <= 255 else { return false }
            case UInt8(ascii: "."):
                guard digits > 0 else { return false }
                if first < 0 { first = value }
                octets += 1
                value = 0
                digits = 0
            default:
                return false
            }
        }
        return digits > 0 && octets == 3 && first == 127
    }
}
