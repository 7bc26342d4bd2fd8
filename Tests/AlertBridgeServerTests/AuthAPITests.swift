import AlertBridgeConfig
import AlertBridgeCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import AlertBridgeServer

/// Every endpoint × no token / wrong token / ingest token / operate token.
@Suite struct AuthAPITests {
    static let tokens = [
        TokenConfig(name: "monitoring", scopes: [.ingest], secret: "ingest-secret-123"),
        TokenConfig(name: "noc", scopes: [.operate], secret: "operate-secret-456"),
        TokenConfig(name: "both", scopes: [.ingest, .operate], secret: "both-secret-789", rateLimit: 2),
    ]

    enum Credential: String, CaseIterable { case none, wrong, ingest, operate }

    func headers(_ credential: Credential) -> HTTPFields {
        var h: HTTPFields = [.contentType: "application/json"]
        switch credential {
        case .none: break
        case .wrong: h[.authorization] = "Bearer not-a-token"
        case .ingest: h[.authorization] = "Bearer ingest-secret-123"
        case .operate: h[.authorization] = "Bearer operate-secret-456"
        }
        return h
    }

    struct Endpoint: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var body: String
        /// The scope it needs; nil for public endpoints.
        var scope: Scope?
    }

    static let endpoints: [Endpoint] = [
        .init(method: .post, path: "/api/v1/alerts", body: nativeAlert(), scope: .ingest),
        .init(method: .post, path: "/api/v1/alertmanager", body: #"{"version": "4", "alerts": []}"#, scope: .ingest),
        .init(method: .get, path: "/api/v1/incidents", body: "", scope: .operate),
        .init(method: .get, path: "/api/v1/incidents/1", body: "", scope: .operate),
        .init(method: .post, path: "/api/v1/incidents/1/ack", body: #"{"by": "alice"}"#, scope: .operate),
        .init(method: .post, path: "/api/v1/incidents/1/notes", body: #"{"by": "alice", "note": "n"}"#, scope: .operate),
        .init(method: .post, path: "/api/v1/incidents/1/escalate", body: #"{"by": "alice"}"#, scope: .operate),
        .init(method: .post, path: "/api/v1/incidents/1/resolve", body: #"{"by": "alice"}"#, scope: .operate),
        .init(method: .post, path: "/api/v1/heartbeats/prometheus-apac", body: "", scope: .ingest),
        .init(method: .get, path: "/api/v1/heartbeats", body: "", scope: .operate),
        .init(method: .get, path: "/api/v1/silences", body: "", scope: .operate),
        .init(method: .post, path: "/api/v1/silences",
              body: #"{"matchers": ["pop = ICN1"], "duration": "1h", "by": "alice", "comment": "maintenance"}"#, scope: .operate),
        .init(method: .delete, path: "/api/v1/silences/1?by=alice", body: "", scope: .operate),
        .init(method: .get, path: "/healthz", body: "", scope: nil),
        .init(method: .get, path: "/readyz", body: "", scope: nil),
        .init(method: .get, path: "/metrics", body: "", scope: nil),
        .init(method: .get, path: "/openapi.yaml", body: "", scope: nil),
        // The router matches these to the routes above: the scope must follow the route.
        .init(method: .post, path: "/api/v1/alerts/", body: nativeAlert(), scope: .ingest),
        .init(method: .post, path: "//api/v1/alertmanager", body: #"{"version": "4", "alerts": []}"#, scope: .ingest),
        .init(method: .get, path: "/api/v1//incidents/", body: "", scope: .operate),
    ]

    @Test func matrix() async throws {
        try await TestApp.withApp(tokens: Self.tokens) { client, app, _ in
            // One incident so that /incidents/1 exists.
            _ = try await client.execute(uri: "/api/v1/alerts", method: .post, headers: headers(.ingest),
                                         body: ByteBuffer(string: nativeAlert())) { _ in }
            for endpoint in Self.endpoints {
                for credential in Credential.allCases {
                    let status = try await client.execute(uri: endpoint.path, method: endpoint.method,
                                                          headers: headers(credential),
                                                          body: ByteBuffer(string: endpoint.body)) { $0.status }
                    let expected: String
                    switch (endpoint.scope, credential) {
                    case (nil, _): expected = "allowed"
                    case (_, .none), (_, .wrong): expected = "401"
                    case (.ingest?, .ingest), (.operate?, .operate): expected = "allowed"
                    default: expected = "403"
                    }
                    let got = status == .unauthorized ? "401" : status == .forbidden ? "403" : "allowed"
                    #expect(got == expected, "\(endpoint.method) \(endpoint.path) with \(credential): \(status)")
                    if got == "allowed" { #expect(status.code < 500, "\(endpoint.path): \(status)") }
                }
            }
        }
    }

    @Test func unauthorizedAnswersSayWhyAndNeverEchoTheSecret() async throws {
        try await TestApp.withApp(tokens: Self.tokens) { client, _, _ in
            let (status, body, answerHeaders) = try await client.execute(uri: "/api/v1/incidents", method: .get) {
                ($0.status, $0.jsonObject, $0.headers)
            }
            #expect(status == .unauthorized)
            #expect(answerHeaders[.wwwAuthenticate] == #"Bearer realm="alertbridge""#, "RFC 6750: the scheme it wants")
            #expect((body["error"] as? String)?.contains("bearer token") == true)
            let forbidden = try await client.execute(uri: "/api/v1/incidents", method: .get, headers: headers(.ingest)) {
                String(buffer: $0.body)
            }
            #expect(forbidden.contains("does not have the operate scope"))
            #expect(!forbidden.contains("ingest-secret-123"))
        }
    }

    @Test func perTokenRateLimitAnswers429WithRetryAfter() async throws {
        try await TestApp.withApp(tokens: Self.tokens) { client, _, clock in
            var h = headers(.none)
            h[.authorization] = "Bearer both-secret-789"
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: String?
            for _ in 0..<5 {
                try await client.execute(uri: "/api/v1/incidents", method: .get, headers: h) { response in
                    statuses.append(response.status)
                    if response.status == .tooManyRequests { retryAfter = response.headers[.retryAfter] }
                }
            }
            // rate_limit 2/s allows a burst of 4.
            #expect(statuses == [.ok, .ok, .ok, .ok, .tooManyRequests])
            #expect(retryAfter == "1")
            // Other tokens are not affected.
            #expect(try await client.execute(uri: "/api/v1/incidents", method: .get, headers: headers(.operate)) { $0.status } == .ok)
            clock.advance(by: .seconds(1))
            #expect(try await client.execute(uri: "/api/v1/incidents", method: .get, headers: h) { $0.status } == .ok)
        }
    }

    @Test func theBearerSchemeIsCaseInsensitive() async throws {
        try await TestApp.withApp(tokens: Self.tokens) { client, _, _ in
            for header in ["bearer operate-secret-456", "BEARER operate-secret-456", "Bearer  operate-secret-456"] {
                let status = try await client.execute(uri: "/api/v1/incidents", method: .get,
                                                      headers: [.authorization: header]) { $0.status }
                #expect(status == .ok, "\(header)")
            }
            for header in ["Basic operate-secret-456", "Bearer", "operate-secret-456"] {
                let status = try await client.execute(uri: "/api/v1/incidents", method: .get,
                                                      headers: [.authorization: header]) { $0.status }
                #expect(status == .unauthorized, "\(header)")
            }
        }
    }

    /// Protected mode answers only these `Host`s (DNS rebinding, black-box round 28).
    @Test func loopbackHostsAreThoseOfLoopbackOnly() {
        for host in ["localhost", "LocalHost:8080", "localhost.", "127.0.0.1", "127.0.0.1:8080", "127.255.0.1.", "[::1]", "[::1]:8080"] {
            #expect(BrowserGuard<AppRequestContext>.isLoopback(host: host), "\(host)")
        }
        for host in ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example", "128.0.0.1",
                     "127.0.0", "127.0.0.256", "127.0.0.1234", "0127.0.0.1", "[::2]", "[::1", "", ":8080", "127..0.1"] {
            #expect(!BrowserGuard<AppRequestContext>.isLoopback(host: host), "\(host)")
        }
    }

    @Test func constantTimeComparisonStillCompares() {
        #expect(TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!TokenAuthenticator.constantTimeEqual([], Array("a".utf8)))
    }
}

@Suite struct LimitsAPITests {
    @Test func configuredLimitsAreEnforcedAndNamed() async throws {
        var limits = IngestLimits()
        limits.maxLabels = 3
        limits.maxSummaryLength = 10
        limits.maxAlertsPerRequest = 2
        try await TestApp.withApp(limits: limits) { client, app, _ in
            let many = try await client.post("/api/v1/alerts", #"{"labels": {"a": "1", "b": "2", "c": "3", "d": "4"}}"#)
            #expect(many.0 == .badRequest)
            #expect(many.1["field"] as? String == "labels")
            #expect((many.1["error"] as? String)?.contains("limit of 3") == true)
            let long = try await client.post("/api/v1/alerts", #"{"labels": {"a": "1"}, "summary": "much too long"}"#)
            #expect(long.1["field"] as? String == "summary")
            let batch = try await client.post("/api/v1/alerts", #"[{"labels": {"a": "1"}}, {"labels": {"a": "2"}}, {"labels": {"a": "3"}}]"#)
            #expect(batch.0 == .badRequest)
            #expect((batch.1["error"] as? String)?.contains("limit of 2") == true)
            #expect(try await app.store.incidents(.init(status: .all)).isEmpty)
        }
    }
}
