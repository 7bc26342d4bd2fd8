import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct IngestAPITests {
    @Test func nativeAlertCreatesThenMerges() async throws {
        try await TestApp.run { client, store, _ in
            let (status, body, _) = try await client.post("/api/v1/alerts", nativeAlert())
            #expect(status == .accepted)
            #expect(body["outcome"] as? String == "created")
            #expect(body["dedup_key"] as? String == "EdgeLatencyHigh/ICN1/cdn-edge")
            let id = try #require(body["incident_id"] as? Int)
            let (again, results) = try await client.postArray("/api/v1/alerts", "[\(nativeAlert()), \(nativeAlert(instance: "icn1-edge-02"))]")
            #expect(again == .accepted)
            #expect(results.map { $0["outcome"] as? String } == ["merged", "merged"])
            #expect(results.map { $0["incident_id"] as? Int } == [id, id])
            let detail = try #require(try await store.incident(id: Int64(id)))
            #expect(detail.incident.alertCount == 3)
            #expect(detail.incident.firingCount == 2)
            // A listing says 2 alerts, not 3 copies.
            let listed = try #require(try await client.get("/api/v1/incidents").1["incidents"] as? [[String: Any]])
            #expect(listed.first?["distinct_alerts"] as? Int == 2 && listed.first?["alert_count"] as? Int == 3)
        }
    }

    /// `continue: true`: the alert also opens the next matching rule's incident, which runs
    /// that rule's policy; the answer is the first rule's.
    @Test func aContinuedRuleOpensItsOwnIncidentOnItsOwnPolicy() async throws {
        let rules = RuleSet(rules: [
            Rule(name: "outage-desk", matchers: [try Matcher(parsing: "alertname = PopDown")], policy: "pop-outage", continue: true),
            Rule(name: "default", policy: "cdn-performance"),
        ])
        try await TestApp.run(rules: rules) { client, store, _ in
            let (status, body, _) = try await client.post("/api/v1/alerts", nativeAlert(alertname: "PopDown"))
            #expect(status == .accepted)
            let key = try #require(body["dedup_key"] as? String)
            let incidents = try await store.incidents(.init(status: .all)).sorted { $0.id < $1.id }
            #expect(incidents.map(\.rule) == ["outage-desk", "default"])
            #expect(incidents.map(\.policy) == ["pop-outage", "cdn-performance"])
            #expect(incidents.map(\.dedupKey) == [key, "default/\(key)"])
            #expect(incidents.map(\.alertCount) == [1, 1])
            #expect(incidents.allSatisfy { $0.escalation.hasPaged })
        }
    }

    @Test func resolvedAlertResolvesAndRefireReopens() async throws {
        try await TestApp.run { client, _, clock in
            let id = try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int
            clock.advance(by: .seconds(60))
            let resolved = try await client.post("/api/v1/alerts", nativeAlert(status: "resolved")).1
            #expect(resolved["outcome"] as? String == "resolved")
            clock.advance(by: .seconds(300))
            let reopened = try await client.post("/api/v1/alerts", nativeAlert()).1
            #expect(reopened["outcome"] as? String == "reopened")
            #expect(reopened["incident_id"] as? Int == id)
            clock.advance(by: .seconds(60))
            _ = try await client.post("/api/v1/alerts", nativeAlert(status: "resolved"))
            clock.advance(by: .seconds(901))
            let fresh = try await client.post("/api/v1/alerts", nativeAlert()).1
            #expect(fresh["outcome"] as? String == "created")
            #expect(fresh["incident_id"] as? Int != id)
        }
    }

    @Test func alertmanagerFixturesOpenOneIncidentPerPopAndResolveOnlyWhenAllResolve() async throws {
        try await TestApp.run { client, store, _ in
            let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/fixtures/alertmanager")
            func body(_ name: String) throws -> String {
                let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
                let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
                return String(decoding: try JSONSerialization.data(withJSONObject: object["body"]!), as: UTF8.self)
            }
            let (s1, r1) = try await client.postArray("/api/v1/alertmanager", try body("01-nrt2-firing.json"))
            #expect(s1 == .accepted)
            #expect(r1.map { $0["outcome"] as? String } == ["created"])
            let (_, r2) = try await client.postArray("/api/v1/alertmanager", try body("02-icn1-two-instances-firing.json"))
            #expect(r2.map { $0["outcome"] as? String } == ["created", "merged"])
            let icn1 = try #require(r2[0]["incident_id"] as? Int)
            let (_, r3) = try await client.postArray("/api/v1/alertmanager", try body("03-icn1-one-resolved-one-firing.json"))
            #expect(r3.map { $0["incident_id"] as? Int } == [icn1, icn1])
            let detail = try #require(try await store.incident(id: Int64(icn1)))
            #expect(detail.incident.status == .triggered)
            #expect(detail.alerts.count == 2)
            #expect(detail.alerts.first { $0.fingerprint == "4121b34bb0a6af8e" }?.status == .resolved)
            #expect(detail.alerts.first { $0.fingerprint == "86e4623dad657b77" }?.status == .firing)
            #expect(detail.alerts.first { $0.fingerprint == "4121b34bb0a6af8e" }?.endsAt == RFC3339.parse("2026-11-23T17:45:59Z"))
            #expect(detail.timeline.contains { $0.detail == "icn1-edge-01:9113 recovered" })
            #expect(try await store.incidents(IncidentQuery(status: .open)).count == 2)
        }
    }

    @Test(arguments: [
        ("{\"labels\": ", nil as String?, "malformed JSON"),
        ("{\"summary\": \"x\"}", "labels", "is required"),
        ("{\"labels\": {}}", "labels", "needs at least one label"),
        ("{\"labels\": {\"pop\": 3}}", "labels.pop", "expected a string"),
        ("{\"labels\": {\"pop\": \"ICN1\"}, \"status\": \"exploded\"}", "status", "unknown status \"exploded\""),
        ("{\"labels\": {\"pop\": \"ICN1\"}, \"severity\": \"sev1\"}", "severity", "unknown severity \"sev1\""),
        ("{\"labels\": {\"pop\": \"ICN1\"}, \"value\": \"high\"}", "value", "expected a number"),
        ("{\"labels\": {\"pop\": \"ICN1\"}, \"starts_at\": \"yesterday\"}", "starts_at", "not an RFC 3339 time"),
        ("{\"labels\": {\"bad-name\": \"x\"}}", "labels.bad-name", "not a valid label name"),
        ("[{\"labels\": {\"a\": \"b\"}}, {\"labels\": {\"a\": \"b\"}, \"severity\": 1}]", "[1].severity", "expected a string"),
        ("[]", nil, "holds no alert"),
        ("\"just a string\"", nil, "expected an object or an array of objects, found a string"),
        ("42", nil, "expected an object or an array of objects, found a number"),
        ("null", nil, "expected an object or an array of objects, found null"),
    ])
    func badNativeInputIsA400NamingTheField(json: String, field: String?, message: String) async throws {
        try await TestApp.run { client, store, _ in
            let (status, body, _) = try await client.post("/api/v1/alerts", json)
            #expect(status == .badRequest)
            // No field is `null`, never "" or absent.
            #expect(field.map { body["field"] as? String == $0 } ?? (body["field"] is NSNull), "\(body)")
            #expect((body["error"] as? String)?.contains(message) == true, "\(body)")
            #expect(try await store.incidents(IncidentQuery(status: .all)).isEmpty)
        }
    }

    @Test func overLongValuesAreRefusedWithTheLimit() async throws {
        try await TestApp.run { client, _, _ in
            let long = String(repeating: "x", count: 2000)
            let (status, body, _) = try await client.post("/api/v1/alerts", #"{"labels": {"pop": "\#(long)"}}"#)
            #expect(status == .badRequest)
            #expect(body["field"] as? String == "labels.pop")
            #expect((body["error"] as? String)?.contains("1024") == true)
            let summary = try await client.post("/api/v1/alerts", #"{"labels": {"pop": "a"}, "summary": "\#(long)"}"#)
            #expect(summary.1["field"] as? String == "summary")
        }
    }

    @Test func aBadAlertInABatchWritesNothing() async throws {
        try await TestApp.run { client, store, _ in
            let (status, _) = try await client.postArray("/api/v1/alerts", "[\(nativeAlert()), {\"labels\": {\"a\": \"b\"}, \"status\": \"nope\"}]")
            #expect(status == .badRequest)
            #expect(try await store.incidents(IncidentQuery(status: .all)).isEmpty)
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await TestApp.run(maxBodyBytes: 1024) { client, store, _ in
            let big = "[" + Array(repeating: nativeAlert(), count: 10).joined(separator: ",") + "]"
            let (status, body, _) = try await client.post("/api/v1/alerts", big)
            #expect(status == .contentTooLarge)
            #expect((body["error"] as? String)?.contains("1024") == true)
            #expect(try await store.incidents(IncidentQuery(status: .all)).isEmpty)
        }
    }

    /// A compressed body is refused for what it is (it read as "malformed JSON: unexpected
    /// byte 0x1F", black-box round 28), and nothing is written.
    @Test func aCompressedBodyIs415() async throws {
        try await TestApp.run { client, store, _ in
            let answer = try await client.execute(uri: "/api/v1/alerts", method: .post,
                                                  headers: [.contentType: "application/json", .contentEncoding: "gzip"],
                                                  body: ByteBuffer(bytes: [0x1F, 0x8B, 0x08, 0x00])) { $0 }
            #expect(answer.status == .unsupportedMediaType)
            #expect(String(buffer: answer.body).contains("Content-Encoding gzip is not taken"), "\(String(buffer: answer.body))")
            #expect(try await store.incidents(IncidentQuery(status: .all)).isEmpty)
        }
    }

    @Test func alertmanagerBadInput() async throws {
        try await TestApp.run { client, _, _ in
            let wrongVersion = try await client.post("/api/v1/alertmanager", #"{"version": "3", "alerts": []}"#)
            #expect(wrongVersion.0 == .badRequest)
            #expect(wrongVersion.1["field"] as? String == "version")
            let badStatus = try await client.post("/api/v1/alertmanager",
                #"{"version": "4", "alerts": [{"status": "weird", "labels": {"a": "b"}}]}"#)
            #expect(badStatus.1["field"] as? String == "alerts[0].status")
            let badTime = try await client.post("/api/v1/alertmanager",
                #"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "noon"}]}"#)
            #expect(badTime.1["field"] as? String == "alerts[0].startsAt")
            let missing = try await client.post("/api/v1/alertmanager", #"{"version": "4"}"#)
            #expect(missing.1["field"] as? String == "alerts")
            let array = try await client.post("/api/v1/alertmanager", "[]")
            #expect(array.0 == .badRequest)
            #expect(array.1["error"] as? String == "expected an object, found an array")
            #expect(array.1["field"] is NSNull)
            let null = try await client.post("/api/v1/alertmanager", "null")
            #expect(null.1["field"] is NSNull, "\(null.1)")
        }
    }

    /// Alertmanager does not retry a 400, so one odd alert must not lose its whole group:
    /// a Prometheus 3 UTF-8 label name is taken, and over-long values are cut, not refused.
    @Test func oneOddAlertDoesNotLoseAnAlertmanagerGroup() async throws {
        try await TestApp.run { client, store, _ in
            let long = String(repeating: "가", count: 3000)  // 9000 bytes
            let body = #"""
                {"version": "4", "status": "firing", "alerts": [
                  {"status": "firing", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge", "instance": "e1"}},
                  {"status": "firing", "labels": {"alertname": "EdgeLatencyHigh", "pop": "NRT2", "service": "cdn-edge",
                   "service.name": "edge", "build": "\#(long)"}, "annotations": {"description": "\#(long)"}}]}
                """#
            let (status, results) = try await client.postArray("/api/v1/alertmanager", body)
            #expect(status == .accepted)
            #expect(results.compactMap { $0["outcome"] as? String } == ["created", "created"])
            let id = try #require(results.last?["incident_id"] as? Int)
            let alert = try #require(try await store.incident(id: Int64(id))?.alerts.first)
            #expect(alert.labels["service.name"] == "edge")
            #expect(alert.labels["build"]?.utf8.count ?? 0 <= 1024 && alert.labels["build"]?.hasSuffix("…") == true)
            #expect(alert.annotations["description"]?.utf8.count ?? 0 <= 8192 && alert.annotations["description"]?.hasSuffix("…") == true)
            // The native endpoint still names such fields: its senders read a 400 and fix them.
            let native = try await client.post("/api/v1/alerts", #"{"labels": {"service.name": "edge"}}"#)
            #expect(native.0 == .badRequest && native.1["field"] as? String == "labels.service.name")
        }
    }

    /// A script that sends the same `starts_at` on every firing alert, and `ends_at` on its
    /// recovery: firing again is the problem back, within `reopen_within` a reopen.
    @Test func aNativeAlertFiringAgainAfterARecoveryWithEndsAtReopens() async throws {
        try await TestApp.run { client, _, clock in
            let id = try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int
            clock.advance(by: .seconds(60))
            let recovery = nativeAlert(status: "resolved").replacingOccurrences(
                of: #""starts_at": "2026-11-23T18:05:00Z""#, with: #""starts_at": "2026-11-23T18:05:00Z", "ends_at": "2026-11-23T18:30:00Z""#)
            #expect(try await client.post("/api/v1/alerts", recovery).1["outcome"] as? String == "resolved")
            clock.advance(by: .seconds(60))
            let again = try await client.post("/api/v1/alerts", nativeAlert()).1
            #expect(again["outcome"] as? String == "reopened" && again["incident_id"] as? Int == id, "\(again)")
        }
    }

    @Test func unknownRouteIsAJSON404() async throws {
        try await TestApp.run { client, _, _ in
            let (status, body) = try await client.get("/api/v1/nothing-here")
            #expect(status == .notFound)
            #expect((body["error"] as? String)?.contains("/api/v1/nothing-here") == true)
        }
    }

    /// A path the API has, asked with a method it does not take there (`curl` of the
    /// ingest URL is a GET), is a 405 naming the methods it takes, not a 404 that says
    /// the URL is wrong; an incident id in the path still matches its route.
    @Test func aKnownPathWithAnotherMethodIsA405ThatSaysWhichMethods() async throws {
        try await TestApp.run { client, _, _ in
            let cases: [(HTTPRequest.Method, String, String, String)] = [
                (.get, "/api/v1/alerts", "POST", "/api/v1/alerts takes POST, not GET"),
                (.delete, "/api/v1/incidents/42/ack", "POST", "/api/v1/incidents/42/ack takes POST, not DELETE"),
                (.put, "/api/v1/silences", "GET, HEAD, POST", "/api/v1/silences takes GET, HEAD or POST, not PUT"),
                (.post, "/healthz", "GET, HEAD", "/healthz takes GET or HEAD, not POST"),
            ]
            for (method, path, allow, message) in cases {
                try await client.execute(uri: path, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(body?["error"] as? String == message)
                }
            }
            #expect(try await client.get("/api/v1/incidents/42/nothing").0 == .notFound)
            // A load balancer's HEAD of a GET path is answered as the GET, without its body.
            try await client.execute(uri: "/healthz", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }
}

@Suite struct InhibitionAPITests {
    @Test func popDownSuppressesThatPopsEdgeAlertsUntilItResolves() async throws {
        try await TestApp.run(rules: TestApp.inhibitingRules) { client, store, clock in
            let down = try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1", alertname: "PopDown")).1
            #expect(down["outcome"] as? String == "created")
            let edge = try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1
            #expect(edge["outcome"] as? String == "suppressed")
            let edgeID = try #require(edge["incident_id"] as? Int)
            #expect(try await store.incident(id: Int64(edgeID))?.timeline.contains { $0.detail?.hasPrefix("suppressed: inhibited by incident") == true } == true)
            #expect(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT2")).1["outcome"] as? String == "created")
            clock.advance(by: .seconds(30))
            _ = try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1", alertname: "PopDown", status: "resolved"))
            #expect(try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1["outcome"] as? String == "merged")
        }
    }
}

@Suite struct ChangedDedupKeyTests {
    /// The pop-down rule's `dedup_key` changed while FRA1's PoP-down was open: its recovery,
    /// keyed anew, reaches the incident that holds its alert, which resolves, and FRA1's
    /// next symptom is paged, not held by it (black-box round 39: "resolved" with no
    /// incident, and the orphan held every new symptom of FRA1).
    @Test func aRecoveryReachesTheIncidentHoldingItsAlertUnderAnOldKey() async throws {
        try await TestApp.withApp(rules: TestApp.inhibitingRules) { client, app, clock in
            let down = try await client.post("/api/v1/alerts", nativeAlert(pop: "FRA1", alertname: "PopDown")).1
            let id = try #require(down["incident_id"] as? Int)
            let others = try await client.postArray("/api/v1/alerts", "[\(nativeAlert(pop: "AMS1", alertname: "PopDown")), "
                                                                      + "\(nativeAlert(pop: "LHR1", alertname: "PopDown"))]").1
            let otherIDs = others.compactMap { $0["incident_id"] as? Int }
            var rules = TestApp.inhibitingRules.rules
            rules[0].dedupKey = try DedupKeyTemplate(parsing: "PopDown/{{region}}/{{pop}}")
            let edited = AlertBridgeApplication(store: app.store, rules: RuleSet(rules: rules), policies: TestApp.policies,
                                                connectors: ["console": ConsoleConnector(write: { _ in })], tokens: [],
                                                clock: clock, limits: IngestLimits(), maxBodyBytes: 1 << 20)
            try await Application(router: edited.router()).test(.router) { restarted in
                clock.advance(by: .seconds(60))
                let recovery = try await restarted.post("/api/v1/alerts", nativeAlert(pop: "FRA1", alertname: "PopDown", status: "resolved")).1
                #expect(recovery["outcome"] as? String == "resolved")
                #expect(recovery["incident_id"] as? Int == id)
                #expect(recovery["dedup_key"] as? String == "PopDown/FRA1")
                #expect(try await app.store.incident(id: Int64(id))?.incident.status == .resolved)
                let symptom = try await restarted.post("/api/v1/alerts", nativeAlert(pop: "FRA1")).1
                #expect(symptom["outcome"] as? String == "created")
                // Several in one request (one look-up, one commit), and one no incident holds,
                // answered as before.
                let batch = try await restarted.postArray("/api/v1/alerts", "[\(nativeAlert(pop: "AMS1", alertname: "PopDown", status: "resolved")), "
                    + "\(nativeAlert(pop: "ZZZ9", status: "resolved")), \(nativeAlert(pop: "LHR1", alertname: "PopDown", status: "resolved"))]").1
                #expect(batch.map { $0["outcome"] as? String } == ["resolved", "resolved", "resolved"])
                #expect(batch.map { $0["incident_id"] as? Int } == [otherIDs[0], nil, otherIDs[1]] && batch[1]["incident_id"] is NSNull)
                #expect(batch.map { $0["dedup_key"] as? String } == ["PopDown/AMS1", "EdgeLatencyHigh/ZZZ9/cdn-edge", "PopDown/LHR1"])
            }
        }
    }
}

@Suite struct OutOfOrderAlertmanagerTests {
    func webhook(_ alerts: [(String, String, String?)]) -> String {
        let items = alerts.map { instance, status, endsAt in
            """
            {"status": "\(status)", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge", "instance": "\(instance)"},
             "annotations": {"summary": "p95 at ICN1"}, "startsAt": "2026-11-23T09:05:00Z", "endsAt": "\(endsAt ?? "0001-01-01T00:00:00Z")"}
            """
        }
        return #"{"version": "4", "status": "firing", "alerts": [\#(items.joined(separator: ","))]}"#
    }

    /// Alertmanager's notifications count in the order they arrive, as Alertmanager takes
    /// Prometheus's: an alert firing again from its first `startsAt` after its recovery
    /// (Alertmanager resolved it when its `endsAt` passed, and Prometheus is back) fires
    /// again. It was dropped as a late copy, and the outage paged nobody (black-box round 27).
    @Test func aFiringNotificationAfterARecoveryFiresAgain() async throws {
        try await TestApp.run { client, store, clock in
            let (_, opened) = try await client.postArray("/api/v1/alertmanager", webhook([("e1", "firing", nil), ("e2", "firing", nil)]))
            let id = try #require(opened.first?["incident_id"] as? Int)
            _ = try await client.postArray("/api/v1/alertmanager", webhook([("e1", "resolved", "2026-11-23T17:45:59Z"), ("e2", "firing", nil)]))
            #expect(try await store.incident(id: Int64(id))?.incident.firingCount == 1)
            _ = try await client.postArray("/api/v1/alertmanager", webhook([("e1", "firing", nil), ("e2", "firing", nil)]))
            #expect(try await store.incident(id: Int64(id))?.incident.firingCount == 2)
            clock.advance(by: .seconds(10))
            _ = try await client.postArray("/api/v1/alertmanager",
                                           webhook([("e1", "resolved", "2026-11-23T17:50:00Z"), ("e2", "resolved", "2026-11-23T17:50:00Z")]))
            #expect(try await store.incident(id: Int64(id))?.incident.status == .resolved)
            let (_, again) = try await client.postArray("/api/v1/alertmanager", webhook([("e2", "firing", nil)]))
            #expect(again.first?["outcome"] as? String == "reopened")
            #expect(try await store.incident(id: Int64(id))?.incident.status == .triggered)
            #expect(try await store.incidents(.init(status: .all)).count == 1)
        }
    }
}
