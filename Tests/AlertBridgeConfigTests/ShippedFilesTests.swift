import AlertBridgeCore
@testable import AlertBridgeConfig
import Foundation
import Testing

/// The files shipped at the repository root are what a first run uses, so they must
/// load as they are: without alertbridge.yaml and without any environment variable.
@Suite struct ShippedFilesTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func shippedRulesAndPoliciesLoadWithDefaults() throws {
        let loaded = try ConfigLoader.load(configFile: nil, environment: [:],
                                           currentDirectory: Self.repositoryRoot)
        #expect(loaded.rules.rules.map(\.name) == [
            "pop-down", "edge-latency", "edge-error-rate", "cache-hit-ratio", "origin-unreachable", "heartbeat", "default",
        ])
        #expect(loaded.server == ServerConfig())
        #expect(loaded.summary == "ok: no alertbridge.yaml, defaults, 7 rules in 1 file, 2 policies, 1 connector")

        let popDown = try #require(loaded.rules.rules.first)
        #expect(popDown.matchers == [try Matcher(parsing: "alertname = PopDown")])
        #expect(popDown.dedupKey?.description == "PopDown/{{pop}}")
        #expect(popDown.severity == .critical)
        #expect(popDown.policy == "pop-outage")
        #expect(popDown.reopenWithin == .seconds(600))
        #expect(popDown.inhibit?.equal == ["pop"])
        #expect(popDown.inhibit?.wait == .seconds(10))
        #expect(popDown.inhibit?.targets.first?.matches(["alertname": "OriginUnreachable"]) == true)
        #expect(popDown.inhibit?.targets.first?.matches(["alertname": "PopDown"]) == false)

        let latency = loaded.rules.rules[1]
        #expect(latency.policyBySeverity == [.critical: "pop-outage"])
        #expect(latency.reopenWithin == .seconds(900))
        // The flapping symptoms: one episode per flap, not a RESOLVED and a REOPENED at each.
        #expect(loaded.rules.rules.map(\.keepOpenFor) == [.zero, .seconds(120), .seconds(120), .seconds(120), .zero, .zero, .zero])
        #expect(loaded.rules.rules.last?.matchers == [])
        #expect(loaded.rules.rules.last?.policy == "cdn-performance")
    }

    @Test func shippedPoliciesHaveTheirTimers() throws {
        let loaded = try ConfigLoader.load(configFile: nil, environment: [:],
                                           currentDirectory: Self.repositoryRoot)
        let performance = try #require(loaded.policies["cdn-performance"])
        #expect(performance.tiers.map(\.name) == ["technical-support", "rnd"])
        #expect(performance.tiers.map(\.escalateAfter) == [.seconds(900), .seconds(1800)])
        #expect(performance.tiers.allSatisfy { $0.notify == [.init(connector: "console")] })
        #expect(performance.repeat == 1)
        #expect(performance.ackTimeout == .seconds(1800))
        #expect(performance.autoResolveAfter == .seconds(12 * 3600))
        #expect(performance.windows == [
            .init(name: "peak", startMinute: 18 * 60, endMinute: 23 * 60, timeZone: "Asia/Seoul",
                  escalateAfter: .seconds(600)),
        ])
        #expect(performance.sla == .init(acknowledgeWithin: .seconds(600), resolveWithin: .seconds(4 * 3600)))

        let outage = try #require(loaded.policies["pop-outage"])
        #expect(outage.tiers.map(\.escalateAfter) == [.seconds(300), .seconds(600)])
        #expect(outage.repeat == 2)
        #expect(outage.sla == .init(acknowledgeWithin: .seconds(300), resolveWithin: .seconds(3600)))
    }

    /// Alertmanager re-sends an unchanged firing group only every `repeat_interval` (4h by
    /// default), at a `group_interval` tick (5m by default): a shipped policy that resolved
    /// sooner would resolve a still-firing outage and page it again at the next re-send;
    /// twice that, so one re-send lost on the way does not do it either.
    @Test func shippedPoliciesOutlastAlertmanagersDefaultResend() throws {
        let loaded = try ConfigLoader.load(configFile: nil, environment: [:], currentDirectory: Self.repositoryRoot)
        let resend = Duration.seconds(4 * 3600 + 5 * 60)
        for policy in loaded.policies.values {
            let after = try #require(policy.autoResolveAfter, "\(policy.name)")
            #expect(after >= resend * 2, "\(policy.name): auto_resolve_after \(after) is not twice \(resend)")
        }
    }

    @Test func shippedRulesRouteCDNAlerts() throws {
        let rules = try ConfigLoader.load(configFile: nil, environment: [:],
                                          currentDirectory: Self.repositoryRoot).rules
        func route(_ labels: Labels, _ severity: Severity = .warning) -> RoutedAlert? {
            rules.route(Alert(source: "test", status: .firing, severity: severity, summary: "", labels: labels)).first
        }
        let latency = route(["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge"], .critical)
        #expect(latency?.dedupKey == "EdgeLatencyHigh/ICN1/cdn-edge")
        #expect(latency?.policy == "pop-outage")
        #expect(route(["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge"])?.policy
                == "cdn-performance")
        #expect(route(["alertname": "DiskFull"])?.rule == "default")
        let heartbeat = route(Heartbeat(name: "prometheus-apac", timeout: .seconds(300)).missed(expiredAt: Timestamp(seconds: 0)).labels)
        #expect(heartbeat?.dedupKey == "HeartbeatMissed/prometheus-apac")
        #expect(heartbeat?.policy == "pop-outage")
    }

    /// The example server file loads with the shipped rules and policies once its
    /// variables are set, and names each one that is not.
    @Test func exampleServerFileLoadsWithItsEnvironment() throws {
        let environment = [
            "ALERTBRIDGE_INGEST_TOKEN": "ingest-secret", "ALERTBRIDGE_OPERATOR_TOKEN": "operate-secret",
            "SLACK_NOC_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
            "TEAMS_RND_WEBHOOK_URL": "https://example.webhook.office.com/x",
            "SMTP_USER": "alertbridge", "SMTP_PASSWORD": "pa$$word", "HOOK_SECRET": "hook-secret",
        ]
        let loaded = try ConfigLoader.load(configFile: "alertbridge.example.yaml", environment: environment,
                                           currentDirectory: Self.repositoryRoot)
        #expect(loaded.server.tokens == [
            TokenConfig(name: "monitoring", scopes: [.ingest], secret: "ingest-secret", rateLimit: 500),
            TokenConfig(name: "noc", scopes: [.operate], secret: "operate-secret", rateLimit: 1000),
        ])
        #expect(loaded.server.limits.maxLabels == 64)
        #expect(loaded.server.limits.maxSummaryLength == 1024)
        #expect(loaded.server.connectors.keys.sorted() == ["console", "noc-chat", "noc-email", "ops-hook", "rnd-chat"])
        #expect(loaded.server.connectors["noc-email"]?.settings["password"] == "pa$$word")
        #expect(loaded.server.rulesDirectory == "rules")
        #expect(loaded.rules.rules.count == 7)
        #expect(loaded.server.heartbeats.map(\.name) == ["prometheus-apac", "blackbox-exporter"])
        #expect(loaded.server.heartbeats.map(\.timeout) == [.seconds(300), .seconds(120)])

        do throws(ConfigError) {
            _ = try ConfigLoader.load(configFile: "alertbridge.example.yaml", environment: [:],
                                      currentDirectory: Self.repositoryRoot)
            Issue.record("expected unset variables to be reported")
        } catch {
            let unset = error.problems.filter { $0.message.hasPrefix("environment variable") }
            #expect(unset.count == environment.count, "\(error)")
            #expect(error.problems.count == environment.count, "\(error)")
            #expect(error.problems.allSatisfy { $0.file == "alertbridge.example.yaml" })
        }
    }
}
