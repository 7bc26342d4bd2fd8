import AlertBridgeConfig
import AlertBridgeCore
import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `POST /v2/enqueue` answers as PagerDuty's Events API v2 does.
@Suite struct PagerDutyAPITests {
    func trigger(key: String? = "icn1-edge-latency", severity: String = "critical", routingKey: String = "any") -> String {
        let dedup = key.map { #", "dedup_key": "\#($0)""# } ?? ""
        return #"""
        {"routing_key": "\#(routingKey)", "event_action": "trigger"\#(dedup),
         "payload": {"summary": "p95 latency 1.4s at ICN1", "source": "grafana", "severity": "\#(severity)",
                     "component": "cdn-edge", "group": "ICN1", "class": "latency",
                     "custom_details": {"p95_ms": 1400, "threshold_ms": 800, "pop": "ICN1"}},
         "client": "Grafana", "client_url": "https://grafana.example.com/d/edge"}
        """#
    }

    @Test func triggerDuplicateAcknowledgeResolve() async throws {
        try await TestApp.withApp { client, app, _ in
            let (status, body, _) = try await client.post("/v2/enqueue", trigger())
            #expect(status == .accepted)
            #expect(body["status"] as? String == "success")
            #expect(body["message"] as? String == "Event processed")
            #expect(body["dedup_key"] as? String == "icn1-edge-latency")
            let incident = try #require(try await app.store.openIncident(dedupKey: "icn1-edge-latency"))
            #expect(incident.title == "p95 latency 1.4s at ICN1")
            #expect(incident.severity == .critical)
            #expect(incident.labels["component"] == "cdn-edge")
            #expect(incident.annotations["p95_ms"] == "1400")
            #expect(incident.annotations["client_url"] == "https://grafana.example.com/d/edge")

            _ = try await client.post("/v2/enqueue", trigger())
            #expect(try await app.store.openIncident(dedupKey: "icn1-edge-latency")?.alertCount == 2)
            #expect(try await app.store.incidents(.init(status: .all)).count == 1)

            let ack = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "acknowledge", "dedup_key": "icn1-edge-latency"}"#)
            #expect(ack.0 == .accepted)
            #expect(try await app.store.incident(id: incident.id)?.incident.status == .acknowledged)
            // Acknowledging again is still "processed", as in PagerDuty.
            #expect(try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "acknowledge", "dedup_key": "icn1-edge-latency"}"#).0 == .accepted)

            let resolve = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "icn1-edge-latency"}"#)
            #expect(resolve.0 == .accepted)
            #expect(try await app.store.incident(id: incident.id)?.incident.status == .resolved)
            #expect(try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "never-seen"}"#).0 == .accepted)
        }
    }

    @Test func triggerWithoutDedupKeyGetsOneGenerated() async throws {
        try await TestApp.run { client, store, _ in
            let (status, body, _) = try await client.post("/v2/enqueue", trigger(key: nil))
            #expect(status == .accepted)
            let key = try #require(body["dedup_key"] as? String)
            #expect(key.count == 32)
            #expect(try await store.openIncident(dedupKey: key) != nil)
            let other = try await client.post("/v2/enqueue", trigger(key: nil)).1["dedup_key"] as? String
            #expect(other != key)
        }
    }

    @Test(arguments: [
        (#"{"routing_key": "k", "event_action": "trigger"}"#, "'payload' is missing"),
        (#"{"routing_key": "k", "event_action": "explode", "dedup_key": "x"}"#, "'event_action' must be one of"),
        (#"{"event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": "info"}}"#, "'routing_key' is missing"),
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "", "source": "x", "severity": "info"}}"#, "'payload.summary' is missing or blank"),
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": "sev1"}}"#, "'payload.severity' must be one of"),
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "severity": "info"}}"#, "'payload.source' is missing"),
        (#"{"routing_key": "k", "event_action": "resolve"}"#, "'dedup_key' is required to resolve"),
        (#"{"routing_key": "k", "event_action": "resolve", "dedup_key": "\#(String(repeating: "키", count: 256))"}"#, "'dedup_key' must be 1 to 255 characters"),
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": 3, "source": "x", "severity": "info"}}"#, "'payload.summary' expected a string"),
        // Where it breaks, as the ingest endpoints say it (JSONDecoder said "not valid JSON").
        (#"{"routing_key": "#, "malformed JSON: unexpected end of the body, expected a value at line 1, column 17 (byte 16)"),
        // JSONDecoder takes a trailing comma; JSON does not.
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": "info",}}"#,
         "malformed JSON: unexpected '}', expected a member name at line 1, column 111 (byte 110)"),
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": "info", "timestamp": "2026-02-30T10:00:00Z"}}"#,
         #"'payload.timestamp' is not an ISO 8601 time: "2026-02-30T10:00:00Z" (February 2026 has 28 days)"#),
        // The same limit as a native alert's labels.
        (#"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "source": "\#(String(repeating: "x", count: 1025))", "severity": "info"}}"#, "'payload.source' is longer than 1024 bytes"),
    ])
    func invalidEventsAre400InPagerDutyShape(json: String, error: String) async throws {
        try await TestApp.run { client, store, _ in
            let (status, body, _) = try await client.post("/v2/enqueue", json)
            #expect(status == .badRequest)
            #expect(body["status"] as? String == "invalid event")
            #expect(body["message"] as? String == "Event object is invalid")
            let errors = body["errors"] as? [String] ?? []
            #expect(errors.contains { $0.contains(error) }, "\(errors)")
            #expect(try await store.incidents(.init(status: .all)).isEmpty)
        }
    }

    /// Grafana puts a whole alert group in one `custom_details` field and does not retry a
    /// 400: details over the annotation limits are cut and capped, and the page goes out.
    @Test func customDetailsOverTheLimitsAreCutNotRefused() async throws {
        try await TestApp.run { client, store, _ in
            let many = (0..<70).map { #""k\#(String(format: "%02d", $0))": 1"# }.joined(separator: ",")
            let event = #"""
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "big",
             "payload": {"summary": "s", "source": "grafana", "severity": "error",
                         "custom_details": {"firing": "\#(String(repeating: "x", count: 20_000))", \#(many)}},
             "client_url": "https://grafana.example.com/\#(String(repeating: "y", count: 9000))"}
            """#
            #expect(try await client.post("/v2/enqueue", event).0 == .accepted)
            let incident = try #require(try await store.openIncident(dedupKey: "big"))
            #expect(incident.annotations.count == 64)
            #expect(incident.annotations.values.allSatisfy { $0.utf8.count <= 8192 })
            #expect(incident.annotations["firing"]?.hasSuffix("…") == true)
            #expect(incident.annotations["client_url"]?.hasPrefix("https://grafana.example.com/yyy") == true)
            #expect(incident.annotations["k00"] == "1")
        }
    }

    /// PagerDuty's own examples write the offset without a colon; a NUL (which PostgreSQL
    /// cannot store) arrives as U+FFFD instead of failing the commit.
    @Test func triggerWithPagerDutysTimestampFormatAndANul() async throws {
        try await TestApp.run { client, store, _ in
            let event = #"""
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "nul",
             "payload": {"summary": "disk\u0000full", "source": "db1", "severity": "error",
                         "timestamp": "2015-07-17T08:42:58.315+0000"}}
            """#
            #expect(try await client.post("/v2/enqueue", event).0 == .accepted)
            let incident = try #require(try await store.openIncident(dedupKey: "nul"))
            #expect(incident.title == "disk\u{FFFD}full")
            let alert = try #require(try await store.incident(id: incident.id)?.alerts.first)
            #expect(alert.startsAt == RFC3339.parse("2015-07-17T08:42:58.315Z"))
            // Without an offset (a Python script's utcnow().isoformat()): UTC, not a 400 that
            // loses the event.
            let naive = #"""
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "naive",
             "payload": {"summary": "disk full", "source": "db1", "severity": "error", "timestamp": "2026-11-30T22:00:00.123456"}}
            """#
            #expect(try await client.post("/v2/enqueue", naive).0 == .accepted)
            let naiveIncident = try #require(try await store.openIncident(dedupKey: "naive"))
            #expect(try await store.incident(id: naiveIncident.id)?.alerts.first?.startsAt == RFC3339.parse("2026-11-30T22:00:00.123Z"))
        }
    }

    /// A `continue: true` rule opens a second incident for the event; PagerDuty's resolve
    /// names only the dedup_key and must close both, or the second pages on and on.
    @Test func acknowledgeAndResolveReachTheIncidentsOfContinuedRules() async throws {
        let rules = RuleSet(rules: [
            Rule(name: "desk", matchers: [try Matcher(parsing: "source = grafana")], policy: "pop-outage", continue: true),
            Rule(name: "default", policy: "cdn-performance"),
        ])
        try await TestApp.run(rules: rules) { client, store, _ in
            #expect(try await client.post("/v2/enqueue", trigger(key: "k1")).0 == .accepted)
            #expect(try await store.incidents(.init(status: .open)).map(\.dedupKey).sorted() == ["default/k1", "k1"])
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "acknowledge", "dedup_key": "k1"}"#)
            #expect(try await store.incidents(.init(status: .all)).map(\.status) == [.acknowledged, .acknowledged])
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "k1"}"#)
            #expect(try await store.incidents(.init(status: .open)).isEmpty)
        }
    }

    /// DESIGN §4: a rule's `dedup_key` template names the incident, also for PagerDuty
    /// events: a script sending one key per event still makes one incident per PoP. Each
    /// resolve recovers its own event's alert, and the incident resolves with the last.
    @Test func aRuleTemplateGroupsEventsAndEachResolveRecoversItsAlert() async throws {
        let rules = RuleSet(rules: [
            Rule(name: "latency", matchers: [try Matcher(parsing: "class = latency")],
                 dedupKey: try DedupKeyTemplate(parsing: "{{class}}/{{group}}"), policy: "cdn-performance"),
            Rule(name: "default", policy: "cdn-performance"),
        ])
        try await TestApp.run(rules: rules) { client, store, _ in
            #expect(try await client.post("/v2/enqueue", trigger(key: "zabbix-event-1")).1["dedup_key"] as? String == "zabbix-event-1")
            #expect(try await client.post("/v2/enqueue", trigger(key: "zabbix-event-2")).0 == .accepted)
            let incident = try #require(try await store.openIncident(dedupKey: "latency/ICN1"))
            #expect(try await store.incidents(.init(status: .all)).count == 1)
            #expect(incident.alertCount == 2 && incident.firingCount == 2)

            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "zabbix-event-1"}"#)
            let half = try #require(try await store.incident(id: incident.id))
            #expect(half.incident.status == .triggered && half.incident.firingCount == 1, "the other event still fires")
            #expect(half.alerts.map { "\($0.fingerprint):\($0.status.rawValue)" }
                    == ["pagerduty/zabbix-event-1:resolved", "pagerduty/zabbix-event-2:firing"], "the sender's key, in protected mode")
            // A late acknowledge of the key that recovered stops no paging; the firing one's does.
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "acknowledge", "dedup_key": "zabbix-event-1"}"#)
            #expect(try await store.incident(id: incident.id)?.incident.status == .triggered)
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "acknowledge", "dedup_key": "zabbix-event-2"}"#)
            let acked = try #require(try await store.incident(id: incident.id))
            #expect(acked.incident.status == .acknowledged)
            #expect(acked.timeline.last?.detail == "acknowledged through the Events API (dedup_key zabbix-event-2)")
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "zabbix-event-2"}"#)
            let done = try #require(try await store.incident(id: incident.id)?.incident)
            #expect(done.status == .resolved && done.resolvedBy == "grafana")

            // An incident a build before templates applied to events keyed by the event's
            // own key: its resolve still reaches it.
            let old = Alert(source: "grafana", status: .firing, severity: .critical, summary: "p95 latency 1.4s at ICN1",
                            labels: ["source": "grafana", "severity": "critical", "class": "latency", "group": "ICN1"],
                            dedupKey: "zabbix-event-0", fingerprint: "zabbix-event-0")
            let legacy = try #require(try await store.ingest([RoutedAlert(alert: old, rule: "latency", dedupKey: "zabbix-event-0",
                                                                           policy: "cdn-performance")], now: TestApp.t0)[0].incidentID)
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "zabbix-event-0"}"#)
            #expect(try await store.incident(id: legacy)?.incident.status == .resolved)
        }
    }

    /// An incident an earlier build opened from an event (its alert the bare key), which a
    /// trigger since joined (as `pagerduty/KEY`): the sender's resolve recovers both.
    @Test func anIncidentFromBeforeResolvesAlsoAfterANewTriggerJoinedIt() async throws {
        let rules = RuleSet(rules: [Rule(name: "default", policy: "cdn-performance")])
        try await TestApp.run(rules: rules) { client, store, _ in
            let old = Alert(source: "grafana", status: .firing, severity: .critical, summary: "p95 latency 1.4s at ICN1",
                            labels: ["source": "grafana", "severity": "critical", "class": "latency", "group": "ICN1"],
                            dedupKey: "k1", fingerprint: "k1")
            let id = try #require(try await store.ingest([RoutedAlert(alert: old, rule: "default", dedupKey: "k1",
                                                                       policy: "cdn-performance")], now: TestApp.t0)[0].incidentID)
            #expect(try await client.post("/v2/enqueue", trigger(key: "k1")).0 == .accepted)
            #expect(try await store.incident(id: id)?.alerts.map(\.fingerprint).sorted() == ["k1", "pagerduty/k1"])
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "any", "event_action": "resolve", "dedup_key": "k1"}"#)
            #expect(try await store.incident(id: id)?.incident.status == .resolved)
        }
    }

    /// An ingest token names the key of a trigger it sent, not an incident nor an alert of
    /// another integration: neither the incident key nor the label fingerprint of a
    /// native alert (the same value when no template names it) reaches it.
    @Test func aResolveNeverClosesAnIncidentItHasNoAlertIn() async throws {
        try await TestApp.run { client, store, _ in
            for native in [#"{"summary": "ICN1 down", "severity": "critical", "labels": {"alertname": "PopDown", "pop": "ICN1"}}"#,
                           #"{"summary": "disk full", "severity": "critical", "labels": {"alertname": "DiskFull", "host": "db1"}}"#] {
                #expect(try await client.post("/api/v1/alerts", native).0 == .accepted)
            }
            for incident in try await store.incidents(.init(status: .open)) {
                let fingerprints = try #require(try await store.incident(id: incident.id)).alerts.map(\.fingerprint)
                for key in Set([incident.dedupKey] + fingerprints) {
                    for action in ["resolve", "acknowledge"] {
                        let event = #"{"routing_key": "any", "event_action": "\#(action)", "dedup_key": "\#(key)"}"#
                        #expect(try await client.post("/v2/enqueue", event).0 == .accepted, "processed, as PagerDuty does")
                    }
                }
            }
            #expect(try await store.incidents(.init(status: .open)).map(\.status) == [.triggered, .triggered])
        }
    }

    /// A PagerDuty key belongs to one service: another token's acknowledge and resolve of
    /// the same key reach nothing, and its trigger of that key is another alert.
    @Test func aKeyBelongsToTheTokenThatSentIt() async throws {
        let tokens = [TokenConfig(name: "team-a", scopes: [.ingest], secret: "key-a"),
                      TokenConfig(name: "team-b", scopes: [.ingest], secret: "key-b")]
        try await TestApp.withApp(tokens: tokens) { client, app, _ in
            #expect(try await client.post("/v2/enqueue", trigger(key: "backup", routingKey: "key-b")).0 == .accepted)
            let incident = try #require(try await app.store.openIncident(dedupKey: "backup"))
            for action in ["acknowledge", "resolve"] {
                _ = try await client.post("/v2/enqueue", #"{"routing_key": "key-a", "event_action": "\#(action)", "dedup_key": "backup"}"#)
            }
            #expect(try await app.store.incident(id: incident.id)?.incident.status == .triggered)
            // Team A's own trigger of the key is its own alert in the incident; its resolve
            // recovers that one, and team B's still fires.
            _ = try await client.post("/v2/enqueue", trigger(key: "backup", routingKey: "key-a"))
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "key-a", "event_action": "resolve", "dedup_key": "backup"}"#)
            let detail = try #require(try await app.store.incident(id: incident.id))
            #expect(detail.incident.status == .triggered)
            #expect(detail.alerts.map { "\($0.fingerprint):\($0.status.rawValue)" }.sorted() == ["team-a/backup:resolved", "team-b/backup:firing"])
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "key-b", "event_action": "resolve", "dedup_key": "backup"}"#)
            #expect(try await app.store.incident(id: incident.id)?.incident.status == .resolved)
        }
    }

    /// After a resolve, a trigger is the problem back, as in PagerDuty, also when its
    /// `timestamp` is older than the resolve (a sender stamping the problem's start).
    @Test func aTriggerAfterAResolveFiresAgainWhateverItsTimestamp() async throws {
        let rules = RuleSet(rules: [Rule(name: "default", policy: "cdn-performance", reopenWithin: .seconds(600))])
        try await TestApp.run(rules: rules) { client, store, clock in
            let event = #"""
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "ts-1",
             "payload": {"summary": "origin 5xx", "source": "zabbix", "severity": "error", "timestamp": "2026-11-20T06:00:00Z"}}
            """#
            #expect(try await client.post("/v2/enqueue", event).0 == .accepted)
            let id = try #require(try await store.openIncident(dedupKey: "ts-1")?.id)
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "k", "event_action": "resolve", "dedup_key": "ts-1"}"#)
            #expect(try await store.incident(id: id)?.incident.status == .resolved)
            clock.advance(by: .seconds(60))
            #expect(try await client.post("/v2/enqueue", event).0 == .accepted)
            #expect(try await store.incident(id: id)?.incident.status == .triggered, "reopened")
        }
    }

    /// One key in two incidents (a template putting its events apart): a resolve recovers
    /// each incident's own alert as that incident holds it.
    @Test func aKeyInTwoIncidentsRecoversEachAsItsIncidentHoldsIt() async throws {
        let rules = RuleSet(rules: [
            Rule(name: "by-pop", dedupKey: try DedupKeyTemplate(parsing: "{{group}}"), policy: "cdn-performance"),
        ])
        try await TestApp.run(rules: rules) { client, store, _ in
            for pop in ["PAR1", "PAR2"] {
                let event = #"""
                {"routing_key": "k", "event_action": "trigger", "dedup_key": "m-1",
                 "payload": {"summary": "m-1 at \#(pop)", "source": "probe-\#(pop)", "severity": "error", "group": "\#(pop)"}}
                """#
                #expect(try await client.post("/v2/enqueue", event).0 == .accepted)
            }
            _ = try await client.post("/v2/enqueue", #"{"routing_key": "k", "event_action": "resolve", "dedup_key": "m-1"}"#)
            for pop in ["PAR1", "PAR2"] {
                let incident = try #require(try await store.incidents(.init(status: .all)).first { $0.dedupKey == pop })
                let detail = try #require(try await store.incident(id: incident.id))
                #expect(detail.incident.status == .resolved && detail.incident.resolvedBy == "probe-\(pop)")
                #expect(detail.alerts.map { "\($0.summary) \($0.source) \($0.status.rawValue)" } == ["m-1 at \(pop) probe-\(pop) resolved"])
            }
        }
    }

    /// PagerDuty allows 1,024 characters, and Alertmanager and Grafana trim to that and do
    /// not retry a 400: a longer summary (in Hangul, three bytes a character) is cut to
    /// `max_summary_bytes`, the whole text kept in the `summary` annotation, and pages.
    @Test func aLongSummaryIsCutNotRefused() async throws {
        try await TestApp.run { client, store, _ in
            let long = String(repeating: "서울 PoP 지연 ", count: 80)  // 800 characters, 1,440 bytes
            let key = String(repeating: "키", count: 255)
            // A `custom_details` field of the same name does not replace the event's own words.
            let event = #"""
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "\#(key)",
             "payload": {"summary": "\#(long)", "source": "alertmanager", "severity": "critical",
                         "custom_details": {"summary": "all good, ignore"}}}
            """#
            let (status, body, _) = try await client.post("/v2/enqueue", event)
            #expect(status == .accepted, "\(body)")
            let incident = try #require(try await store.openIncident(dedupKey: key))
            #expect(incident.title.utf8.count <= 1024 && incident.title.hasSuffix("…") && long.hasPrefix(incident.title.dropLast()))
            #expect(incident.annotations["summary"] == long)
        }
    }

    @Test func routingKeyMustBeAnIngestTokenWhenTokensAreConfigured() async throws {
        let tokens = [TokenConfig(name: "grafana", scopes: [.ingest], secret: "grafana-key", rateLimit: 1),
                      TokenConfig(name: "noc", scopes: [.operate], secret: "noc-key")]
        try await TestApp.withApp(tokens: tokens) { client, app, _ in
            let wrong = try await client.post("/v2/enqueue", trigger(routingKey: "nope"))
            #expect(wrong.0 == .badRequest)
            #expect((wrong.1["errors"] as? [String])?.first == "'routing_key' is not a valid ingest token")
            #expect(try await client.post("/v2/enqueue", trigger(routingKey: "noc-key")).0 == .badRequest)
            #expect(try await client.post("/v2/enqueue", trigger(routingKey: "grafana-key")).0 == .accepted)
            #expect(try await client.post("/v2/enqueue", trigger(routingKey: "grafana-key")).0 == .accepted)
            let limited = try await client.post("/v2/enqueue", trigger(routingKey: "grafana-key"))
            #expect(limited.0 == .tooManyRequests)
            #expect(limited.2[.retryAfter] == "1")
            // In PagerDuty's shape, as its 400 is: a sender logs `status` and `message`.
            #expect(limited.1["status"] as? String == "throttle exceeded", "\(limited.1)")
            #expect(limited.1["message"] as? String == "Requests for this routing key are arriving too quickly. Please retry later.")
            #expect(limited.1["errors"] as? [String] == [#"token "grafana" is over its rate limit of 1 requests per second"#])
            #expect(limited.1["field"] == nil && limited.1["error"] == nil, "not alertbridge's own error shape: \(limited.1)")
            #expect(try await app.store.openIncident(dedupKey: "icn1-edge-latency")?.alertCount == 2)
        }
    }

    @Test func aBodyOverTheLimitIs413InPagerDutyShape() async throws {
        try await TestApp.run(maxBodyBytes: 256) { client, store, _ in
            let (status, body, _) = try await client.post("/v2/enqueue", trigger())
            #expect(status == .contentTooLarge)
            #expect(body["status"] as? String == "invalid event", "\(body)")
            #expect(body["message"] as? String == "Event object is invalid")
            #expect(body["errors"] as? [String] == ["the request body is larger than the limit of 256 bytes (an event's, as PagerDuty's; or max_body_bytes if lower)"])
            #expect(body["field"] == nil, "\(body)")
            #expect(try await store.incidents(.init(status: .all)).isEmpty)
        }
    }

    /// Read before any token is checked (the routing key is in the body), so held to
    /// PagerDuty's own 512 KiB whatever `max_body_bytes` says: 100 connections of 16 MiB
    /// from anyone held 1.8 GB (black-box round 28).
    @Test func anEventOverPagerDutysLimitIs413WhateverMaxBodyBytesSays() async throws {
        try await TestApp.run(maxBodyBytes: 16 << 20) { client, store, _ in
            let padding = String(repeating: "x", count: 600 * 1024)
            let big = trigger().replacingOccurrences(of: #""payload": {"#, with: #""payload": {"custom_details": {"padding": "\#(padding)"}, "#)
            #expect(big.utf8.count > 600 * 1024)
            let (status, body, _) = try await client.post("/v2/enqueue", big)
            #expect(status == .contentTooLarge, "\(body)")
            #expect((body["errors"] as? [String])?.first?.contains("524288 bytes") == true, "\(body)")
            #expect(try await store.incidents(.init(status: .all)).isEmpty)
            #expect(try await client.post("/v2/enqueue", trigger()).0 == .accepted)
        }
    }

    /// The store cannot commit: 503 with `Retry-After`, which PagerDuty's clients retry.
    @Test func aStoreThatCannotCommitIs503InPagerDutyShape() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        try await store.close()
        let app = AlertBridgeApplication(store: store, rules: TestApp.rules, policies: TestApp.policies,
                                         clock: ManualClock(TestApp.t0))
        try await Application(router: app.router()).test(.router) { client in
            let (status, body, headers) = try await client.post("/v2/enqueue", trigger())
            #expect(status == .serviceUnavailable, "\(body)")
            #expect(headers[.retryAfter] == "1")
            #expect(body["status"] as? String == "unavailable", "\(body)")
            #expect(body["message"] as? String == "The event was not stored. Please retry later.")
            #expect(body["errors"] as? [String] == ["the store could not commit the alerts (the store is closed); retry"], "\(body)")
        }
    }
}

@Suite struct OpenAPIDocumentTests {
    @Test func documentsExactlyTheRoutesTheServerHas() async throws {
        try await TestApp.withApp { client, app, _ in
            let text = try await client.execute(uri: "/openapi.yaml", method: .get) { String(buffer: $0.body) }
            #expect(text.hasPrefix("openapi: 3.1.0"))
            // "  /api/v1/incidents/{id}/ack:" then "    post:" — collect (method, path) pairs.
            var documented: Set<String> = []
            var path: String?
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("  /"), line.hasSuffix(":") {
                    path = String(line.dropFirst(2).dropLast())
                } else if let p = path, line.hasPrefix("    "), !line.hasPrefix("     "),
                          let method = ["get:", "post:", "delete:", "put:"].first(where: { line.dropFirst(4).hasPrefix($0) }) {
                    documented.insert("\(method.dropLast().uppercased()) \(p)")
                } else if !line.hasPrefix(" ") {
                    path = line == "paths:" ? nil : path
                }
            }
            let served = Set(app.router().routes.map { route in
                "\(route.method) " + "\(route.path)".split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                    .reduce("") { $0 + "/" + $1 }
            })
            #expect(documented == served)
        }
    }
}

extension IncidentStore {
    /// The open incident of a key, as an operator finds it in `incidents`.
    func openIncident(dedupKey: String) async throws -> Incident? {
        try await incidents(.init(status: .open)).first { $0.dedupKey == dedupKey }
    }
}
