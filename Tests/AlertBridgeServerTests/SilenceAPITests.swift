import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeServer
import AlertBridgeStore
import Hummingbird
import Foundation
import HummingbirdTesting
import Logging
import Testing

/// `/api/v1/silences`: a maintenance window from create to expire, through the HTTP API,
/// the engine and the dispatcher, on a manual clock.
@Suite struct SilenceAPITests {
    let logger = Logger(label: "test")

    @Test func aMaintenanceWindowRecordsAlertsPagesNobodyAndPagesWhatIsLeftWhenExpired() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(connectors: ["console": chat]) { client, app, clock in
            let engine = app.engine(logger: logger)
            let dispatcher = app.dispatcher(logger: logger)
            let (status, silence, _) = try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1", "alertname =~ \\"Edge.*\\""], "duration": "2h", "by": "alice",
                 "comment": "ICN1 fibre maintenance"}
                """)
            #expect(status == .created)
            let id = try #require(silence["id"] as? Int)
            #expect(silence["status"] as? String == "active")
            #expect(silence["matchers"] as? [String] == [#"pop="ICN1""#, #"alertname=~"Edge.*""#])
            #expect(silence["starts_at"] as? String == "2026-11-23T18:05:00Z")
            #expect(silence["ends_at"] as? String == "2026-11-23T20:05:00Z")
            #expect(silence["created_by"] as? String == "alice")
            #expect(silence["expired_by"] is NSNull)

            // ICN1's alert is recorded but pages nobody; NRT2's pages as usual.
            let held = try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1
            #expect(held["outcome"] as? String == "suppressed")
            let heldID = try #require(held["incident_id"] as? Int)
            #expect(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT2")).1["outcome"] as? String == "created")
            #expect(try await dispatcher.tick() == 1)
            #expect(chat.delivered.map(\.incident.incident.labels["pop"]) == ["NRT2"])
            let shown = try await client.get("/api/v1/incidents/\(heldID)").1
            #expect(shown["next_escalation_at"] as? String == "2026-11-23T20:05:00Z")
            #expect(shown["first_paged_at"] is NSNull)

            let listed = try await client.get("/api/v1/silences").1["silences"] as? [[String: Any]]
            #expect(listed?.map { $0["id"] as? Int } == [id])
            #expect(try await client.get("/api/v1/silences?status=expired").1["silences"].map { ($0 as! [Any]).count } == 0)

            // The work ends early: expiring pages ICN1's still-open incident at once.
            clock.advance(by: .seconds(10 * 60))
            let (expireStatus, expired) = try await client.delete("/api/v1/silences/\(id)?by=bob")
            #expect(expireStatus == .ok)
            #expect(expired["status"] as? String == "expired")
            #expect(expired["ends_at"] as? String == "2026-11-23T18:15:00Z")
            #expect(expired["expired_by"] as? String == "bob")
            #expect(try await engine.tick().pages == 1)  // NRT2's tier 2 is not due before 18:20
            try await dispatcher.tick()
            #expect(chat.delivered.map(\.incident.incident.labels["pop"]) == ["NRT2", "ICN1"])
            // The page says what held it, as the timeline does.
            #expect(PageText.lead(chat.delivered[1]).hasSuffix(
                "not paged until now, since it opened at 2026-11-23T18:05:00Z: no silence holds this incident any more and it is still open."))
            // Its SLA clocks run from that page: nobody could acknowledge what paged nobody.
            let paged = try await client.get("/api/v1/incidents/\(heldID)").1
            #expect(paged["sla_breaches"] as? [String] == [])
            #expect(paged["first_paged_at"] as? String == "2026-11-23T18:15:00Z")
            #expect(paged["next_escalation_at"] as? String == "2026-11-23T18:25:00Z")  // ack SLA: 10m from the page
            #expect(try await client.delete("/api/v1/silences/\(id)?by=bob").0 == .conflict)
            #expect(try await client.delete("/api/v1/silences/9999?by=bob").0 == .notFound)
        }
    }

    @Test func badSilencesAreRefusedNamingTheField() async throws {
        try await TestApp.run { client, store, clock in
            let cases: [(String, String, String)] = [
                (#"{"matchers": [], "duration": "1h", "by": "a", "comment": "x"}"#, "matchers", "needs 1 to 32 matchers"),
                (#"{"matchers": ["pop ~ ICN1"], "duration": "1h", "by": "a", "comment": "x"}"#, "matchers[0]", "invalid matcher"),
                (#"{"matchers": ["pop =~ \"(\""], "duration": "1h", "by": "a", "comment": "x"}"#, "matchers[0]", "invalid regex"),
                (#"{"matchers": ["pop =~ \".*\""], "duration": "1h", "by": "a", "comment": "x"}"#, "matchers", "every matcher holds for an alert that has none of these labels"),
                (#"{"matchers": ["pop = ICN1"], "by": "a", "comment": "x"}"#, "ends_at", "give ends_at or duration"),
                (#"{"matchers": ["pop = ICN1"], "duration": "1h", "ends_at": "2026-11-23T20:00:00Z", "by": "a", "comment": "x"}"#,
                 "duration", "not both"),
                (#"{"matchers": ["pop = ICN1"], "duration": "soon", "by": "a", "comment": "x"}"#, "duration", "must be a duration"),
                (#"{"matchers": ["pop = ICN1"], "duration": "366d", "by": "a", "comment": "x"}"#, "duration", "at most 365d"),
                (#"{"matchers": ["pop = ICN1"], "ends_at": "2026-11-23T18:00:00Z", "by": "a", "comment": "x"}"#, "ends_at", "after the start"),
                (#"{"matchers": ["pop = ICN1"], "ends_at": "tomorrow", "by": "a", "comment": "x"}"#, "ends_at", "RFC 3339"),
                (#"{"matchers": ["pop = ICN1"], "starts_at": "2026-11-24T00:00:00Z", "ends_at": "2026-11-23T23:00:00Z", "by": "a", "comment": "x"}"#,
                 "ends_at", "after the start"),
                (#"{"matchers": ["pop = ICN1"], "duration": "1h", "by": " ", "comment": "x"}"#, "by", "must name who acts"),
                (#"{"matchers": ["pop = ICN1"], "duration": "1h", "by": "a", "comment": ""}"#, "comment", "must say why"),
                (#"{"matchers": "pop = ICN1", "duration": "1h", "by": "a", "comment": "x"}"#, "matchers", "expected"),
                (#"{"matchers": ["pop = ICN1"], "duration": "1h", "by": "a"}"#, "comment", "is required"),
            ]
            for (body, field, message) in cases {
                let (status, answer, _) = try await client.post("/api/v1/silences", body)
                #expect(status == .badRequest, "\(body)")
                #expect(answer["field"] as? String == field, "\(body)")
                #expect((answer["error"] as? String)?.contains(message) == true, "\(body): \(answer)")
            }
            #expect(try await store.silences(SilenceQuery(status: .all, now: clock.now())).isEmpty)  // nothing written
            #expect(try await client.delete("/api/v1/silences/1").1["field"] as? String == "by")
            #expect(try await client.delete("/api/v1/silences/x?by=a").1["field"] as? String == "id")
            #expect(try await client.get("/api/v1/silences?status=gone").1["field"] as? String == "status")
        }
    }

    /// Maintenance runs over: `extend` keeps ICN1 held past the old end; its answer is the
    /// replacement, and what it refuses names the field (or is a 409 for an ended silence).
    @Test func extendingAWindowKeepsItsIncidentHeldPastTheOldEnd() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(connectors: ["console": chat]) { client, app, clock in
            let engine = app.engine(logger: logger)
            let dispatcher = app.dispatcher(logger: logger)
            let id = try #require(try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "duration": "1h", "by": "alice", "comment": "ICN1 fibre maintenance"}
                """).1["id"] as? Int)
            let heldID = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(50 * 60))  // 18:55
            let (status, next, _) = try await client.post("/api/v1/silences/\(id)/extend", #"{"duration": "1h", "by": "bob"}"#)
            #expect(status == .ok)
            #expect(next["id"] as? Int == id)
            #expect(next["status"] as? String == "active")
            #expect(next["matchers"] as? [String] == [#"pop="ICN1""#])
            #expect(next["ends_at"] as? String == "2026-11-23T19:55:00Z")
            #expect(next["created_by"] as? String == "alice")
            #expect(next["extended_by"] as? String == "bob")
            #expect(next["comment"] as? String == "ICN1 fibre maintenance")
            let all = try #require(try await client.get("/api/v1/silences?status=all").1["silences"] as? [[String: Any]])
            #expect(all.map { $0["id"] as? Int } == [id])

            clock.advance(by: .seconds(10 * 60))  // 19:05, the old end: nobody paged
            #expect(try await engine.tick().pages == 0)
            #expect(try await dispatcher.tick() == 0)
            #expect(try await client.get("/api/v1/incidents/\(heldID)").1["next_escalation_at"] as? String == "2026-11-23T19:55:00Z")
            clock.advance(by: .seconds(50 * 60))  // 19:55, the new end: still down, so tier 1 is paged
            #expect(try await engine.tick().pages == 1)
            try await dispatcher.tick()
            #expect(chat.delivered.map(\.incident.incident.id) == [Int64(heldID)])

            let refusals: [(String, String, HTTPResponse.Status, String?, String)] = [
                ("/api/v1/silences/\(id)/extend", #"{"duration": "1h", "by": "bob"}"#, .conflict, nil, "already ended"),
                ("/api/v1/silences/9999/extend", #"{"duration": "1h", "by": "bob"}"#, .notFound, nil, "not found"),
                ("/api/v1/silences/x/extend", #"{"duration": "1h", "by": "bob"}"#, .badRequest, "id", "positive whole number"),
                ("/api/v1/silences/\(id)/extend", #"{"by": "bob"}"#, .badRequest, "ends_at", "give ends_at or duration"),
                ("/api/v1/silences/\(id)/extend", #"{"duration": "1h", "by": " "}"#, .badRequest, "by", "must name who acts"),
                ("/api/v1/silences/\(id)/extend", #"{"duration": "1h", "by": "bob", "comment": " "}"#, .badRequest, "comment", "must say why"),
            ]
            for (uri, body, expected, field, message) in refusals {
                let (status, answer, _) = try await client.post(uri, body)
                #expect(status == expected, "\(uri) \(body)")
                #expect(answer["field"] as? String == field, "\(uri) \(body)")
                #expect((answer["error"] as? String)?.contains(message) == true, "\(uri) \(body): \(answer)")
            }
        }
    }

    /// Acknowledged while a silence held it, that silence expired early and another holds it:
    /// `show` says the ack timeout's page waits for the new silence, and at the timeout the
    /// timeline says why nobody is paged (black-box round 35: it promised tier 1).
    @Test func aReplacedSilenceHoldsALapsedAcknowledgementsPage() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(connectors: ["console": chat]) { client, app, clock in
            let engine = app.engine(logger: logger)
            let first = try #require(try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "duration": "1h", "by": "alice", "comment": "ICN1 fibre maintenance"}
                """).1["id"] as? Int)
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(60))
            _ = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "alice"}"#)
            clock.advance(by: .seconds(60))
            #expect(try await client.delete("/api/v1/silences/\(first)?by=alice").0 == .ok)
            #expect(try await engine.tick().pages == 0)
            #expect(try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "duration": "2h", "by": "bob", "comment": "ICN1 fibre, second try"}
                """).0 == .created)
            let shown = try await client.get("/api/v1/incidents/\(id)").1
            let next = try #require(shown["next_step"] as? [String: Any], "\(shown)")
            #expect((next["text"] as? String)?.hasSuffix("; but a silence holds every alert of it until 2026-11-23T20:07:00Z, "
                                                        + "and nobody is paged before then") == true, "\(next)")
            clock.advance(by: .seconds(29 * 60))  // the ack timeout, 30 minutes after the ack
            #expect(try await engine.tick().pages == 0)
            try await app.dispatcher(logger: logger).tick()
            #expect(chat.delivered.isEmpty)
            let lines = (try await client.get("/api/v1/incidents/\(id)").1["timeline"] as? [[String: Any]] ?? []).compactMap { $0["detail"] as? String }
            #expect(lines.contains("a silence holds it: nobody is paged before 2026-11-23T20:07:00Z"), "\(lines)")
        }
    }

    /// An extension that ends no later is refused with what to do instead, and writes nothing.
    @Test func anExtensionThatEndsSoonerIsRefused() async throws {
        try await TestApp.run { client, store, clock in
            let id = try #require(try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "duration": "2h", "by": "alice", "comment": "ICN1 fibre maintenance"}
                """).1["id"] as? Int)
            let (status, answer, _) = try await client.post("/api/v1/silences/\(id)/extend",
                                                            #"{"ends_at": "2026-11-23T19:00:00Z", "by": "bob"}"#)
            #expect(status == .badRequest)
            #expect(answer["field"] as? String == "ends_at")
            #expect(answer["error"] as? String
                    == "must end after silence \(id) does (2026-11-23T20:05:00Z); to end it sooner, expire it")
            #expect(try await client.post("/api/v1/silences/\(id)/extend", #"{"duration": "30m", "by": "bob"}"#).1["field"] as? String
                    == "duration")
            #expect(try await store.silences(SilenceQuery(status: .all, now: clock.now())).count == 1)
        }
    }

    /// A past start with a duration is a window that is already (partly) over, usually a
    /// pasted date: refused, where it used to silence from now. With `ends_at` the end the
    /// operator wrote still holds, so the silence simply starts now.
    @Test func aPastStartWithADurationIsRefusedButWithAnEndStartsNow() async throws {
        try await TestApp.run { client, store, clock in
            let (status, answer, _) = try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "starts_at": "2026-11-23T06:00:00Z", "duration": "2h", "by": "alice", "comment": "pasted"}
                """)
            #expect(status == .badRequest)
            #expect(answer["field"] as? String == "starts_at")
            #expect(answer["error"] as? String
                    == "is in the past (2026-11-23T06:00:00Z); with duration, give a start from now on, or leave it out to start now")
            #expect(try await store.silences(SilenceQuery(status: .all, now: clock.now())).isEmpty)

            // The current second, as `date -u` prints it a moment later, is now.
            let (justNow, silence, _) = try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "starts_at": "2026-11-23T18:04:30Z", "duration": "2h", "by": "alice", "comment": "now"}
                """)
            #expect(justNow == .created)
            #expect(silence["starts_at"] as? String == "2026-11-23T18:05:00Z")
            #expect(silence["ends_at"] as? String == "2026-11-23T20:05:00Z")

            let (withEnd, ending, _) = try await client.post("/api/v1/silences", """
                {"matchers": ["pop = NRT2"], "starts_at": "2026-11-23T06:00:00Z", "ends_at": "2026-11-23T22:00:00Z",
                 "by": "alice", "comment": "until tonight"}
                """)
            #expect(withEnd == .created)
            #expect(ending["starts_at"] as? String == "2026-11-23T18:05:00Z")
            #expect(ending["ends_at"] as? String == "2026-11-23T22:00:00Z")
        }
    }

    @Test func aFutureWindowIsPendingAndHoldsNothingYet() async throws {
        try await TestApp.run { client, _, clock in
            let (status, silence, _) = try await client.post("/api/v1/silences", """
                {"matchers": ["pop = ICN1"], "starts_at": "2026-11-23T22:00:00Z", "ends_at": "2026-11-24T02:00:00Z",
                 "by": "alice", "comment": "planned"}
                """)
            #expect(status == .created)
            #expect(silence["status"] as? String == "pending")
            #expect(try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1")).1["outcome"] as? String == "created")
            #expect(try await client.get("/api/v1/silences?status=pending").1["silences"].map { ($0 as! [Any]).count } == 1)
            clock.advance(by: .seconds(4 * 3600))  // 22:05
            #expect(try await client.get("/api/v1/silences?status=active").1["silences"].map { ($0 as! [Any]).count } == 1)
            #expect(try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1", alertname: "PopDown")).1["outcome"] as? String
                    == "suppressed")
        }
    }
}

extension TestClientProtocol {
    func delete(_ uri: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await execute(uri: uri, method: .delete) { response in (response.status, response.jsonObject) }
    }
}
