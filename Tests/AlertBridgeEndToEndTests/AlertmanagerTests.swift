import AlertBridgeConfig
import Foundation
import TestProcesses
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real Prometheus Alertmanager routes alerts to a live alertbridge through its webhook.
@Suite("Real Prometheus Alertmanager")
struct AlertmanagerTests {
    static let binary = Paths.onPath("prometheus-alertmanager")
    /// `.ci/run` sets this so that a missing Alertmanager fails the run instead of skipping.
    static let requireAll = ProcessInfo.processInfo.environment["ALERTBRIDGE_REQUIRE_ALL"] == "1"

    /// A live alertbridge and an Alertmanager whose webhook posts to it, `settings` (such
    /// as `send_resolved: true`) added to the webhook; Alertmanager stops when `body` returns.
    static func withWebhook(_ settings: [String], _ body: (LiveServer, Alertmanager) async throws -> Void) async throws {
        let binary = try #require(Self.binary, "prometheus-alertmanager is not on PATH, and ALERTBRIDGE_REQUIRE_ALL=1 requires it")
        try await LiveServer.with { server in
            let alertmanager = try await Alertmanager.start(binary: binary, receiver: """
                webhook_configs:
                  - url: "\(server.baseURL)/api/v1/alertmanager"
                """ + settings.map { "\n    \($0)" }.joined())
            defer { alertmanager.stop() }
            try await body(server, alertmanager)
        }
    }

    /// As the README configures it: a webhook receiver with an ingest token as its bearer
    /// credentials, read from a file.
    @Test("two ICN1 edge hosts make one incident, which resolves only when both recover",
          .enabled(if: binary != nil || requireAll,
                   "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
          .timeLimit(.minutes(3)))
    func twoHostsOneIncident() async throws {
        let binary = try #require(Self.binary, "prometheus-alertmanager is not on PATH, and ALERTBRIDGE_REQUIRE_ALL=1 requires it")
        let tokens = [TokenConfig(name: "alertmanager", scopes: [.ingest], secret: "am-ingest-secret"),
                      TokenConfig(name: "noc", scopes: [.operate], secret: "noc-operate-secret")]
        let secrets = try TemporaryDirectory("alertbridge-e2e-token")
        defer { secrets.remove() }
        try "am-ingest-secret\n".write(toFile: secrets.path("alertbridge-token"), atomically: false, encoding: .utf8)
        try await LiveServer.with(tokens: tokens) { server in
            let alertmanager = try await Alertmanager.start(binary: binary, receiver: """
                webhook_configs:
                  - url: "\(server.baseURL)/api/v1/alertmanager"
                    send_resolved: true
                    http_config:
                      authorization: {credentials_file: "\(secrets.path("alertbridge-token"))"}
                """)
            defer { alertmanager.stop() }
            let api = server.api
            let key = "EdgeLatencyHigh/ICN1/cdn-edge"
            let startsAt = Date().addingTimeInterval(-300)

            // Both hosts fire: one incident holding two firing alerts.
            try await alertmanager.post([
                Alertmanager.edgeAlert(instance: "icn1-edge-01:9113", startsAt: startsAt),
                Alertmanager.edgeAlert(instance: "icn1-edge-02:9113", startsAt: startsAt),
            ])
            let firing = try await eventually("an ICN1 incident with 2 firing alerts") { observed in
                let all = try await api.incidents(status: "all")
                observed = "\(all.map { "#\($0.id) \($0.dedupKey) \($0.status) firing=\($0.firingAlerts)" })"
                return all.first { $0.dedupKey == key && $0.firingAlerts == 2 }
            }
            #expect(try await api.incidents(status: "all").count == 1, "exactly one incident for the two hosts")
            let id = firing.id
            let opened = try await api.incident(id)
            #expect(opened.status == "triggered")
            #expect(opened.severity == "critical")
            #expect(opened.alerts?.count == 2)
            #expect(Set(opened.alerts?.compactMap { $0.labels["instance"] } ?? []) == ["icn1-edge-01:9113", "icn1-edge-02:9113"])
            // Alertmanager's generatorURL is kept, for the pages' `Source:` line.
            #expect(opened.alerts?.allSatisfy {
                $0.annotations?["generator_url"] == "http://prometheus.example.com/graph?g0.expr=edge_latency_p95"
            } == true, "\(opened.alerts?.map { $0.annotations ?? [:] } ?? [])")

            // icn1-edge-01 recovers: still open, and the timeline says so.
            try await alertmanager.post([
                Alertmanager.edgeAlert(instance: "icn1-edge-01:9113", startsAt: startsAt, endsAt: Date().addingTimeInterval(-1)),
            ])
            let partly = try await eventually("the timeline to record that icn1-edge-01 recovered") { observed in
                let incident = try await api.incident(id)
                observed = "\(incident.status), timeline \(incident.timeline ?? [])"
                let recovered = incident.timeline?.contains {
                    ($0.detail ?? "").contains("icn1-edge-01") && ($0.detail ?? "").contains("recovered")
                } ?? false
                return recovered ? incident : nil
            }
            #expect(partly.status == "triggered", "icn1-edge-02 still fires: \(partly.timeline ?? [])")
            #expect(partly.firingAlerts == 1)

            // icn1-edge-02 recovers too: resolved.
            try await alertmanager.post([
                Alertmanager.edgeAlert(instance: "icn1-edge-02:9113", startsAt: startsAt, endsAt: Date().addingTimeInterval(-1)),
            ])
            let resolved = try await eventually("the incident to resolve") { observed in
                let incident = try await api.incident(id)
                observed = "\(incident.status), timeline \(incident.timeline ?? [])"
                return incident.status == "resolved" ? incident : nil
            }
            #expect(resolved.firingAlerts == 0)
            #expect(resolved.timeline?.contains { ($0.detail ?? "").contains("icn1-edge-02") && ($0.detail ?? "").contains("recovered") } == true,
                    "timeline: \(resolved.timeline ?? [])")
            #expect(try await api.incidents(status: "all").count == 1, "still one incident")
        }
    }

    /// Prometheus could not reach Alertmanager past the alert's `endsAt`: Alertmanager
    /// resolved it, then fired it again from its first `startsAt` when Prometheus was back.
    /// The outage is back and its incident reopens; alertbridge dropped that notification,
    /// and every one after, as a late copy (black-box round 27).
    @Test("an alert Alertmanager resolved on its own and fires again from its first start reopens its incident",
          .enabled(if: binary != nil || requireAll,
                   "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
          .timeLimit(.minutes(3)))
    func anAlertFiredAgainFromItsFirstStartReopens() async throws {
        try await Self.withWebhook(["send_resolved: true"]) { server, alertmanager in
            let api = server.api
            let startsAt = Date().addingTimeInterval(-300)
            // Prometheus's last word: firing, good for 15 more seconds. None comes after it.
            // (Longer than Alertmanager's 10 s notification timeout: should it give up on its
            // first notification, it sends it again while the alert still fires, and with
            // it the recovery; see `delivered(_:to:)`.)
            try await alertmanager.post([Alertmanager.edgeAlert(instance: "icn1-edge-01:9113", startsAt: startsAt,
                                                                endsAt: Date().addingTimeInterval(15))])
            let resolved = try await eventually("the incident to open, then resolve when Alertmanager times the alert out") { observed in
                let all = try await api.incidents(status: "all")
                observed = "\(all.map { "#\($0.id) \($0.status)" })"
                return all.first { $0.status == "resolved" }
            }
            // Prometheus is back: the alert still fires, from the start it always had.
            try await alertmanager.post([Alertmanager.edgeAlert(instance: "icn1-edge-01:9113", startsAt: startsAt,
                                                                endsAt: Date().addingTimeInterval(3600))])
            let reopened = try await eventually("the incident to reopen") { observed in
                let incident = try await api.incident(resolved.id)
                observed = "\(incident.status), timeline \(incident.timeline ?? [])\n\(alertmanager.log)"
                return incident.status == "triggered" ? incident : nil
            }
            #expect(reopened.firingAlerts == 1)
            #expect(reopened.timeline?.contains { $0.kind == "reopened" } == true, "\(reopened.timeline ?? [])")
            #expect(try await api.incidents(status: "all").count == 1)
        }
    }

    /// A PoP storm is one Alertmanager group of thousands of alerts, and Alertmanager does
    /// not retry a 413: with the default `max_body_bytes` the 4,000-alert webhook (about
    /// 2 MB) makes one incident. With 1 MiB, the old default, the group was lost whole
    /// (black-box round 23).
    @Test("a 4,000-alert group, over 1 MiB, makes one incident with the default body limit",
          .enabled(if: binary != nil || requireAll,
                   "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
          .timeLimit(.minutes(3)))
    func aPoPStormGroupIsTakenWhole() async throws {
        try await Self.withWebhook([]) { server, alertmanager in
            let startsAt = Date().addingTimeInterval(-60)
            try await alertmanager.post((1...4000).map { Alertmanager.edgeAlert(instance: "icn1-edge-\($0):9113", startsAt: startsAt) })
            let storm = try await eventually("one incident holding the 4,000 alerts") { observed in
                let all = try await server.api.incidents(status: "all")
                observed = "\(all.map { "#\($0.id) firing=\($0.firingAlerts)" }); Alertmanager's log:\n\(alertmanager.log)"
                return all.first { $0.firingAlerts == 4000 }
            }
            #expect(try await server.api.incidents(status: "all").map(\.id) == [storm.id])
        }
    }

    /// One alert of the group carries more labels than `max_labels` (64): the group makes
    /// its incident, with that alert's first 64 labels. The 400 lost the group, every
    /// notification of it, since Alertmanager does not retry one (black-box round 27).
    @Test("a group holding an alert over max_labels makes its incident",
          .enabled(if: binary != nil || requireAll,
                   "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
          .timeLimit(.minutes(3)))
    func anAlertOverTheLabelLimitDoesNotLoseItsGroup() async throws {
        try await Self.withWebhook([]) { server, alertmanager in
            let startsAt = Date().addingTimeInterval(-60)
            var crowded = Alertmanager.edgeAlert(instance: "icn1-edge-03:9113", startsAt: startsAt)
            var labels = crowded["labels"] as! [String: String]
            for n in 0..<60 { labels["k8s_label_\(n)"] = "v\(n)" }
            crowded["labels"] = labels
            try await alertmanager.post([Alertmanager.edgeAlert(instance: "icn1-edge-01:9113", startsAt: startsAt),
                                         Alertmanager.edgeAlert(instance: "icn1-edge-02:9113", startsAt: startsAt), crowded])
            let incident = try await eventually("one incident holding the 3 alerts") { observed in
                let all = try await server.api.incidents(status: "all")
                observed = "\(all.map { "#\($0.id) firing=\($0.firingAlerts)" }); Alertmanager's log:\n\(alertmanager.log)"
                return all.first { $0.firingAlerts == 3 }
            }
            let alerts = try await server.api.incident(incident.id).alerts ?? []
            #expect(alerts.map(\.labels.count).max() == 64)
            #expect(alerts.contains { $0.labels["instance"] == "icn1-edge-03:9113" })
        }
    }

    /// A receiver's `max_alerts` cuts the group: the webhook cannot say whether the alerts
    /// it left out recovered, so its recoveries do not resolve the incident, and the
    /// timeline says why. They resolved it while the alert left out still fired.
    @Test("a webhook cut by max_alerts does not resolve the incident",
          .enabled(if: binary != nil || requireAll,
                   "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
          .timeLimit(.minutes(3)))
    func aCutWebhookDoesNotResolve() async throws {
        try await Self.withWebhook(["max_alerts: 2"]) { server, alertmanager in
            let api = server.api
            let startsAt = Date().addingTimeInterval(-60)
            let hosts = ["icn1-edge-01:9113", "icn1-edge-02:9113", "icn1-edge-03:9113"]
            try await alertmanager.post(hosts.map { Alertmanager.edgeAlert(instance: $0, startsAt: startsAt) })
            let opened = try await eventually("an incident of the two alerts the webhook carried") { observed in
                let all = try await api.incidents(status: "all")
                observed = "\(all.map { "#\($0.id) firing=\($0.firingAlerts)" })"
                return all.first { $0.firingAlerts == 2 }
            }
            try await alertmanager.delivered(to: "webhook")
            let ended = Date().addingTimeInterval(-1)
            try await alertmanager.post(hosts.map { Alertmanager.edgeAlert(instance: $0, startsAt: startsAt, endsAt: ended) })
            let held = try await eventually("the note that the cut webhook does not resolve it") { observed in
                let incident = try await api.incident(opened.id)
                observed = "\(incident.status), timeline \(incident.timeline ?? []); Alertmanager's log:\n\(alertmanager.log)"
                let noted = incident.timeline?.contains { ($0.detail ?? "").contains("Alertmanager left out 1 alert of the notification") }
                return noted == true ? incident : nil
            }
            #expect(held.status == "triggered")
            #expect(held.firingAlerts == 0)
        }
    }

    /// Alertmanager's own PagerDuty integration, pointed at `/v2/enqueue`: its trigger opens
    /// an incident, also with a summary PagerDuty allows (1,024 characters) that is more
    /// than 1,024 bytes, and its resolve of the same group resolves it.
    @Test("Alertmanager's pagerduty_configs page through /v2/enqueue, trigger and resolve",
          .enabled(if: binary != nil || requireAll,
                   "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
          .timeLimit(.minutes(3)))
    func pagerDutyIntegration() async throws {
        let binary = try #require(Self.binary, "prometheus-alertmanager is not on PATH, and ALERTBRIDGE_REQUIRE_ALL=1 requires it")
        try await LiveServer.with { server in
            let alertmanager = try await Alertmanager.start(binary: binary, receiver: """
                pagerduty_configs:
                  - routing_key: "alertmanager"
                    url: "\(server.baseURL)/v2/enqueue"
                    description: '{{ .CommonAnnotations.summary }}'
                    severity: critical
                    send_resolved: true
                """)
            defer { alertmanager.stop() }
            let api = server.api
            let summary = String(repeating: "서울 PoP 지연 ", count: 80)  // 800 characters, 1,440 bytes
            var alert = Alertmanager.edgeAlert(instance: "icn1-edge-01:9113", startsAt: Date().addingTimeInterval(-60))
            alert["annotations"] = ["summary": summary]
            try await alertmanager.post([alert])
            let opened = try await eventually("an incident from Alertmanager's PagerDuty event") { observed in
                let all = try await api.incidents(status: "all")
                observed = "\(all.map { "#\($0.id) \($0.dedupKey) \($0.status)" }); Alertmanager's log:\n\(alertmanager.log)"
                return all.first
            }
            #expect(opened.title.hasSuffix("…") && summary.hasPrefix(opened.title.dropLast()), "cut, not refused: \(opened.title)")
            #expect(opened.severity == "critical")

            try await alertmanager.delivered(to: "pagerduty")
            alert["endsAt"] = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-1))
            try await alertmanager.post([alert])
            let resolved = try await eventually("Alertmanager's resolve event to resolve it") { observed in
                let incident = try await api.incident(opened.id)
                observed = "\(incident.status), timeline \(incident.timeline ?? []); Alertmanager's log:\n\(alertmanager.log)"
                return incident.status == "resolved" ? incident : nil
            }
            #expect(try await api.incidents(status: "all").count == 1, "one incident: \(resolved.timeline ?? [])")
        }
    }
}

/// A `prometheus-alertmanager` child process with its own config and storage, no clustering.
final class Alertmanager {
    let process: ChildProcess
    let baseURL: String
    let directory: TemporaryDirectory

    private init(process: ChildProcess, baseURL: String, directory: TemporaryDirectory) {
        self.process = process
        self.baseURL = baseURL
        self.directory = directory
    }

    /// Starts Alertmanager on a free port, routing everything to one receiver (its YAML
    /// after `- name: bridge`), and waits until `/-/ready` answers. Retries on another port
    /// if the one picked was taken meanwhile.
    static func start(binary: String, receiver: String) async throws -> Alertmanager {
        let receiver = receiver.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        var failures: [String] = []
        for _ in 1...3 {
            let directory = try TemporaryDirectory("alertbridge-e2e-alertmanager")
            let port = try freeLocalPort()
            let config = directory.path("alertmanager.yml")
            try """
                route:
                  receiver: bridge
                  group_by: [alertname, pop]
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: bridge
                \(receiver)
                """.write(toFile: config, atomically: false, encoding: .utf8)
            let logPath = directory.path("alertmanager.log")
            let process = try ChildProcess.start(binary, [
                "--config.file=\(config)",
                "--storage.path=\(directory.path("data"))",
                "--web.listen-address=127.0.0.1:\(port)",
                "--cluster.listen-address=",
            ], output: logPath, errors: logPath)
            ParentWatch.kill(process.pid, removing: directory.url.path)
            let alertmanager = Alertmanager(process: process, baseURL: "http://127.0.0.1:\(port)", directory: directory)

            do {
                try await eventually("Alertmanager to be ready at \(alertmanager.baseURL)", timeout: .seconds(60),
                                     every: .milliseconds(100)) { observed -> Bool? in
                    guard process.isRunning else { throw StopPolling("Alertmanager exited") }
                    let response = try await HTTP.send("GET", alertmanager.baseURL + "/-/ready")
                    observed = "HTTP \(response.status)"
                    return response.status == 200 ? true : nil
                }
                return alertmanager
            } catch {
                let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                alertmanager.stop()
                failures.append("\(error)\n\(output)")
                // Only a port taken between picking and binding is worth another try.
                guard output.contains("address already in use") else { break }
            }
        }
        throw E2EError("Alertmanager did not start:\n\(failures.joined(separator: "\n---\n"))")
    }

    /// What Alertmanager logged so far (its notification errors, for a failing test).
    var log: String { (try? String(contentsOfFile: directory.path("alertmanager.log"), encoding: .utf8)) ?? "" }

    /// Waits until Alertmanager counts `count` notifications to `integration` (`webhook`,
    /// `pagerduty`) as delivered: the requests it sent less those that failed, from its
    /// `/metrics`.
    ///
    /// A test waits for this before it resolves a whole group. Alertmanager sends a group's
    /// recovery only when a notification of it succeeded in its own view, and a first
    /// notification it gave up on after its 10 s timeout (though alertbridge took it, slow
    /// on a loaded CI machine) leaves nothing to resolve: the recovery is dropped for good.
    func delivered(_ count: Int = 1, to integration: String) async throws {
        try await eventually("Alertmanager to deliver \(count) \(integration) notification(s)") { observed -> Bool? in
            let metrics = try await HTTP.send("GET", baseURL + "/metrics").text
            func counter(_ name: String) -> Int {
                let prefix = "\(name){integration=\"\(integration)\"} "
                let line = metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }
                return line.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
            }
            let sent = counter("alertmanager_notification_requests_total")
            let failed = counter("alertmanager_notification_requests_failed_total")
            observed = "\(sent) sent, \(failed) failed; Alertmanager's log:\n\(log)"
            return sent - failed >= count ? true : nil
        }
    }

    /// Posts alerts to `/api/v2/alerts`.
    func post(_ alerts: [[String: Any]]) async throws {
        let body = try JSONSerialization.data(withJSONObject: alerts)
        try await HTTP.send("POST", baseURL + "/api/v2/alerts", body: body).expect(200, "POST /api/v2/alerts to Alertmanager")
    }

    /// Stops Alertmanager (SIGTERM, then SIGKILL after 5 s) and removes its files.
    func stop() {
        process.stop()
        directory.remove()
    }

    /// An EdgeLatencyHigh alert for PoP ICN1, as the fixtures have it; resolved when `endsAt` is past.
    static func edgeAlert(instance: String, startsAt: Date, endsAt: Date? = nil) -> [String: Any] {
        let format = ISO8601DateFormatter()
        var alert: [String: Any] = [
            "labels": [
                "alertname": "EdgeLatencyHigh", "instance": instance, "pop": "ICN1", "region": "apac",
                "service": "cdn-edge", "severity": "critical",
            ],
            "annotations": [
                "summary": "p95 latency 1.4s at ICN1 (threshold 800ms)",
                "runbook_url": "https://wiki.example.com/runbooks/EdgeLatencyHigh",
            ],
            "startsAt": format.string(from: startsAt),
            "generatorURL": "http://prometheus.example.com/graph?g0.expr=edge_latency_p95",
        ]
        if let endsAt { alert["endsAt"] = format.string(from: endsAt) }
        return alert
    }
}
