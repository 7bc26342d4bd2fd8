import AlertBridgeConfig
import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// An application on a temporary SQLite file with a manual clock and CDN rules.
struct TestApp {
    static let t0 = Timestamp(seconds: 1_795_457_100)

    static let rules = RuleSet(rules: [
        Rule(name: "pop-down", matchers: [try! Matcher(parsing: "alertname = PopDown")],
             dedupKey: try! DedupKeyTemplate(parsing: "PopDown/{{pop}}"), severity: .critical, policy: "pop-outage",
             reopenWithin: .seconds(600)),
        Rule(name: "edge", matchers: [try! Matcher(parsing: "alertname =~ Edge.*")],
             dedupKey: try! DedupKeyTemplate(parsing: "{{alertname}}/{{pop}}/{{service}}"), policy: "cdn-performance",
             reopenWithin: .seconds(900)),
        Rule(name: "default", policy: "cdn-performance"),
    ])

    static let policies: [String: EscalationPolicy] = Dictionary(uniqueKeysWithValues: ["cdn-performance", "pop-outage"].map {
        ($0, EscalationPolicy(name: $0, tiers: [
            .init(name: "technical-support", notify: [.init(connector: "console")], escalateAfter: .seconds(900)),
            .init(name: "rnd", notify: [.init(connector: "console")], escalateAfter: .seconds(1800)),
        ], ackTimeout: .seconds(1800), sla: .init(acknowledgeWithin: .seconds(600))))
    })

    static let inhibitingRules = RuleSet(rules: [
        Rule(name: "pop-down", matchers: [try! Matcher(parsing: "alertname = PopDown")],
             dedupKey: try! DedupKeyTemplate(parsing: "PopDown/{{pop}}"), policy: "pop-outage",
             inhibit: Rule.Inhibit(targets: [try! Matcher(parsing: "alertname =~ Edge.*")], equal: ["pop"])),
    ] + rules.rules)

    static func run(maxBodyBytes: Int = 1 << 20, rules: RuleSet = TestApp.rules, _ body: @escaping @Sendable (any TestClientProtocol, any IncidentStore, ManualClock) async throws -> Void) async throws {
        try await withApp(maxBodyBytes: maxBodyBytes, rules: rules) { client, app, clock in
            try await body(client, app.store, clock)
        }
    }

    /// Like ``run(maxBodyBytes:rules:_:)`` but hands out the whole application, so a test can
    /// drive the escalation engine and the dispatcher with their `tick()`.
    static func withApp(
        maxBodyBytes: Int = 1 << 20, rules: RuleSet = TestApp.rules, policies: [String: EscalationPolicy] = TestApp.policies,
        connectors: [String: any Connector] = ["console": ConsoleConnector(write: { _ in })],
        tokens: [TokenConfig] = [], limits: IngestLimits = IngestLimits(), heartbeats: [Heartbeat] = [],
        timeZone: TimeZone = PageText.utc, retention: Duration? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, AlertBridgeApplication, ManualClock) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        let clock = ManualClock(t0)
        let app = AlertBridgeApplication(store: store, rules: rules, policies: policies, connectors: connectors,
                                         tokens: tokens, clock: clock, limits: limits, maxBodyBytes: maxBodyBytes,
                                         heartbeats: heartbeats, timeZone: timeZone, retention: retention)
        let application = Application(router: app.router())
        do {
            try await application.test(.router) { client in try await body(client, app, clock) }
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }
}

extension TestClientProtocol {
    @discardableResult
    func post(_ uri: String, _ json: String) async throws -> (HTTPResponse.Status, [String: Any], HTTPFields) {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"],
                          body: ByteBuffer(string: json)) { response in
            (response.status, response.jsonObject, response.headers)
        }
    }

    func postArray(_ uri: String, _ json: String) async throws -> (HTTPResponse.Status, [[String: Any]]) {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"],
                          body: ByteBuffer(string: json)) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [[String: Any]] ?? [])
        }
    }

    func get(_ uri: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await execute(uri: uri, method: .get) { response in (response.status, response.jsonObject) }
    }
}

extension TestResponse {
    var jsonObject: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }
}

/// A native alert as a monitoring system would post it.
func nativeAlert(pop: String = "ICN1", alertname: String = "EdgeLatencyHigh", status: String = "firing",
                 severity: String = "critical", instance: String = "icn1-edge-01") -> String {
    """
    {"source": "cdn-monitor", "status": "\(status)", "severity": "\(severity)",
     "summary": "p95 latency 1.4s at \(pop) (threshold 800ms)",
     "labels": {"alertname": "\(alertname)", "pop": "\(pop)", "region": "apac", "service": "cdn-edge", "instance": "\(instance)"},
     "annotations": {"runbook": "https://wiki.example.com/runbooks/edge-latency"},
     "dedup_key": null, "starts_at": "2026-11-23T18:05:00Z", "value": 1.4, "threshold": 0.8}
    """
}
