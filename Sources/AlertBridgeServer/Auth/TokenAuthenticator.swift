import AlertBridgeConfig

/// Finds the configured token a request presents, without leaking through timing
/// which token (or how much of one) matched: every secret is compared in full.
public struct TokenAuthenticator: Sendable {
    struct Entry: Sendable {
        var token: TokenConfig
        var secret: [UInt8]
    }

    let entries: [Entry]
    let limiter: RateLimiter

    public init(tokens: [TokenConfig], limiter: RateLimiter) {
        entries = tokens.map { Entry(token: $0, secret: Array($0.secret.utf8)) }
        self.limiter = limiter
    }

    /// No token configured: protected mode, where the server only listens on loopback.
    public var isOpen: Bool { entries.isEmpty }

    public func token(presenting secret: Substring) -> TokenConfig? {
        let presented = Array(secret.utf8)
        var found: TokenConfig?
        for entry in entries where Self.constantTimeEqual(entry.secret, presented) {
            found = found ?? entry.token
        }
        return found
    }

    /// Checks scope and rate limit; throws the API error a client should see.
    func authorize(_ token: TokenConfig, for scope: Scope) throws(APIError) {
        guard token.scopes.contains(scope) else {
            throw APIError(.forbidden, "token \"\(token.name)\" does not have the \(scope.rawValue) scope")
        }
        if let rate = token.rateLimit, let wait = limiter.acquire(token.name, rate: rate, burst: rate * 2) {
            throw APIError(.tooManyRequests, "token \"\(token.name)\" is over its rate limit of \(Int(rate)) requests per second",
                           retryAfterSeconds: wait)
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}

