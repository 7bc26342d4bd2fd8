import AlertBridgeCore
import AlertBridgeServer
@testable import AlertBridgeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite struct IncidentAPITests {
    /// A full disk is an outage of the store, not a bug: the operator's action and the
    /// sender's alerts get 503 with why, and the store failures are counted.
    @Test func aFullDiskAnswers503WithWhy() async throws {
        try await TestApp.run { client, store, _ in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            let sqlite = try #require(store as? SQLiteStore)
            // No page more than the file has now: the next that needs one finds the disk full.
            try await sqlite.writer.run { db in
                let pages = try db.rows("PRAGMA page_count").first?.column("page_count")?.integer ?? 0
                try db.run("PRAGMA max_page_count = \(pages)")
            }
            let note = String(repeating: "x", count: 2000)
            var answer: (HTTPResponse.Status, [String: Any], HTTPFields) = (.ok, [:], [:])
            for _ in 0..<50 {
                answer = try await client.post("/api/v1/incidents/\(id)/notes", #"{"by": "alice", "note": "\#(note)"}"#)
                if answer.0 != .created && answer.0 != .ok { break }
            }
            #expect(answer.0 == .serviceUnavailable, "\(answer)")
            #expect((answer.1["error"] as? String)?.contains("SQLite cannot write: database or disk is full") == true, "\(answer.1)")
            // New incidents, more than the free space left in the file's pages holds.
            let storm = "[" + (0..<200).map { nativeAlert(pop: "P\($0)") }.joined(separator: ",") + "]"
            let ingest = try await client.post("/api/v1/alerts", storm)
            #expect(ingest.0 == .serviceUnavailable)
            #expect((ingest.1["error"] as? String)?.hasPrefix("the store could not commit the alerts (SQLite cannot write: database or disk is full)") == true,
                    "\(ingest.1)")
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("alertbridge_store_failures_total 1"), "\(metrics)")
        }
    }

    @Test func listShowAckNoteResolve() async throws {
        try await TestApp.run { client, _, clock in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            _ = try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT2"))

            let (listStatus, list) = try await client.get("/api/v1/incidents")
            #expect(listStatus == .ok)
            let items = try #require(list["incidents"] as? [[String: Any]])
            #expect(items.count == 2)
            #expect(items[0]["id"] as? Int == id + 1)  // newest first
            #expect(items[0]["timeline"] == nil)
            #expect(items[1]["acknowledged_at"] is NSNull)
            #expect(items[1]["created_at"] as? String == "2026-11-23T18:05:00Z")
            #expect(items[0]["next_step"] == nil, "the detail's alone")
            #expect(list["retention_cutoff"] is NSNull, "no retention: everything is kept")

            // What the policy does next, as its pages say it.
            let next = try #require(try await client.get("/api/v1/incidents/\(id)").1["next_step"] as? [String: Any])
            #expect(next["action"] as? String == "page")
            #expect(next["tier"] as? Int == 2 && next["tier_name"] as? String == "rnd")
            #expect(next["at"] as? String == "2026-11-23T18:20:00Z")
            #expect(next["window"] is NSNull && next["timer"] as? String == "15m")
            #expect(next["text"] as? String == "tier 2 (rnd) is paged at 2026-11-23T18:20:00Z unless someone acknowledges first (escalate_after 15m)")

            clock.advance(by: .seconds(120))
            let (ackStatus, acked, _) = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "alice", "note": "on it"}"#)
            #expect(ackStatus == .ok)
            #expect(acked["status"] as? String == "acknowledged")
            #expect(acked["acknowledged_by"] as? String == "alice")
            #expect(acked["acknowledged_at"] as? String == "2026-11-23T18:07:00Z")
            let afterAck = try #require(acked["next_step"] as? [String: Any])
            #expect(afterAck["action"] as? String == "ack_timeout" && afterAck["at"] as? String == "2026-11-23T18:37:00Z")

            let (noteStatus, _, _) = try await client.post("/api/v1/incidents/\(id)/notes", #"{"by": "alice", "note": "origin TLS expired"}"#)
            #expect(noteStatus == .ok)
            let (resolveStatus, resolved, _) = try await client.post("/api/v1/incidents/\(id)/resolve", #"{"by": "bob"}"#)
            #expect(resolveStatus == .ok)
            #expect(resolved["status"] as? String == "resolved")
            #expect(resolved["next_step"] is NSNull)

            let (_, shown) = try await client.get("/api/v1/incidents/\(id)")
            let timeline = try #require(shown["timeline"] as? [[String: Any]])
            #expect(timeline.map { $0["kind"] as? String } == ["created", "paged", "acknowledged", "note", "resolved"])
            #expect(timeline.map { $0["by"] as? String } == ["cdn-monitor", "alertbridge", "alice", "alice", "bob"])
            #expect(timeline[1]["detail"] as? String == "tier 1 (technical-support): console")
            #expect(timeline[2]["detail"] as? String == "on it")
            #expect((shown["alerts"] as? [[String: Any]])?.count == 1)

            #expect(try await client.get("/api/v1/incidents?status=resolved").1["incidents"].map { ($0 as! [Any]).count } == 1)
            #expect(try await client.get("/api/v1/incidents?status=open").1["incidents"].map { ($0 as! [Any]).count } == 1)
            #expect(try await client.get("/api/v1/incidents?status=all&limit=1").1["incidents"].map { ($0 as! [Any]).count } == 1)
        }
    }

    /// A policy edited while an incident waits for its first page: `show` says it goes by
    /// the edit, and so do its next step and `escalate`; one already paging says it keeps
    /// its copy (black-box rounds 39 and 40, F3: `escalate` paged the rotation from before
    /// the edit).
    @Test func showAndEscalateGoByThePolicyAsLoadedUntilSomeoneIsPaged() async throws {
        try await TestApp.withApp(rules: InhibitWaitTests.rules) { client, app, clock in
            let paging = try #require(try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT2")).1["incident_id"] as? Int)
            clock.advance(by: .seconds(10))
            #expect(try await app.engine(logger: Logger(label: "test")).tick().pages == 1)
            // In its inhibit wait (a PoP-down may follow): nobody paged yet.
            let waiting = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            #expect(try await client.get("/api/v1/incidents/\(waiting)").1["policy_note"] is NSNull)

            var policies = TestApp.policies
            policies["cdn-performance"]?.tiers[0].name = "noc-night"
            let edited = AlertBridgeApplication(store: app.store, rules: app.rules, policies: policies,
                                                connectors: app.connectors, clock: clock)
            try await Application(router: edited.router()).test(.router) { client in
                let before = try await client.get("/api/v1/incidents/\(waiting)").1
                #expect(before["policy_note"] as? String
                    == "nobody was paged for it yet: its first page goes by policy \"cdn-performance\" as loaded now, edited since it opened")
                let next = try #require(before["next_step"] as? [String: Any])
                #expect(next["action"] as? String == "inhibit_wait" && next["tier_name"] as? String == "noc-night", "\(next)")
                #expect(try await client.get("/api/v1/incidents/\(paging)").1["policy_note"] as? String
                    == "it goes by its copy of policy \"cdn-performance\" as it was when it started paging; the policy was edited since, "
                    + "and the edit applies to new incidents only")

                let (status, after, _) = try await client.post("/api/v1/incidents/\(waiting)/escalate", #"{"by": "bob"}"#)
                #expect(status == .ok)
                #expect(after["policy_note"] is NSNull && after["tier"] as? Int == 1)
                let pages = try await app.store.claimDeliveries(now: clock.now(), lease: .seconds(60), limit: 10, quota: .none)
                #expect(pages.filter { $0.incidentID == Int64(waiting) }.map(\.tierName) == ["noc-night"], "\(pages)")
                let timeline = try #require(after["timeline"] as? [[String: Any]]).compactMap { $0["detail"] as? String }
                #expect(timeline.suffix(3) == ["nobody was paged for it yet, so it escalates by policy cdn-performance as loaded now, edited since it opened",
                                               "escalated by hand to tier 1 (noc-night)", "tier 1 (noc-night): console"], "\(timeline)")
            }
        }
    }

    @Test func refusedTransitionsAre409WithAReason() async throws {
        try await TestApp.run { client, _, _ in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            _ = try await client.post("/api/v1/incidents/\(id)/resolve", #"{"by": "bob"}"#)
            let (status, body, _) = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "alice"}"#)
            #expect(status == .conflict)
            #expect((body["error"] as? String)?.hasPrefix("incident \(id) is already resolved by bob") == true, "\(body)")
            let again = try await client.post("/api/v1/incidents/\(id)/resolve", #"{"by": "bob"}"#)
            #expect(again.0 == .conflict)
        }
    }

    /// Two people answering one page learn of each other (409), and R&D, called in, takes
    /// over with `take_over`: the ack_timeout counts from its acknowledgement, where tier 1
    /// was paged again at alice's ack_timeout while R&D worked on it (black-box round 29).
    /// Whoever has it restarts the timeout the same way.
    @Test func takingOverAnAcknowledgedIncident() async throws {
        try await TestApp.withApp { client, app, clock in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            _ = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "alice"}"#)
            clock.advance(by: .seconds(600))
            let (refused, refusal, _) = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "bob"}"#)
            #expect(refused == .conflict)
            #expect((refusal["error"] as? String)?.hasSuffix("to take it over, or to restart its ack_timeout: "
                                                            + "alertbridge ack --take-over \(id) (in the API, \"take_over\": true)") == true, "\(refusal)")
            let (status, taken, _) = try await client.post("/api/v1/incidents/\(id)/ack",
                                                           #"{"by": "bob", "note": "DB failover", "take_over": true}"#)
            #expect(status == .ok)
            #expect(taken["acknowledged_by"] as? String == "bob" && taken["status"] as? String == "acknowledged")
            #expect(taken["next_escalation_at"] as? String == RFC3339.format(clock.now() + .seconds(1800)), "\(taken)")
            let entries = (taken["timeline"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "acknowledged" }
            #expect(entries.last?["detail"] as? String == "took it over from alice: the ack_timeout counts from now; DB failover")
            // alice's 30 minutes run out: nobody is paged, bob has it.
            clock.advance(by: .seconds(1200))
            #expect(try await app.engine(logger: Logger(label: "test")).tick().pages == 0)
            let again = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "bob", "take_over": true}"#).1
            let last = (again["timeline"] as? [[String: Any]] ?? []).last { $0["kind"] as? String == "acknowledged" }
            #expect(last?["detail"] as? String == "acknowledged again: the ack_timeout counts from now")
        }
    }

    @Test func badOperatorRequests() async throws {
        try await TestApp.run { client, _, _ in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            #expect(try await client.post("/api/v1/incidents/999/ack", #"{"by": "a"}"#).0 == .notFound)
            #expect(try await client.get("/api/v1/incidents/999").0 == .notFound)
            // A whole number past the ids' range is too large, not "not a positive whole number".
            let huge = try await client.get("/api/v1/incidents/99999999999999999999")
            #expect(huge.0 == .badRequest && huge.1["error"] as? String == "incident id is too large: ids go up to 9223372036854775807")
            // Zero is not too large (black-box round 28).
            for zero in ["0", "000"] {
                let refused = try await client.get("/api/v1/incidents/\(zero)")
                #expect(refused.0 == .badRequest && refused.1["error"] as? String == "incident id must be a positive whole number", "\(refused.1)")
            }
            // A name of several lines, or with an escape sequence, wrote a forged line in the
            // log and on console pages (black-box round 28): refused, not cleaned.
            for by in [#"eve\n2026-12-01T00:00:00+0000 info alertbridge: fake"#, #"eve\u001b[31m"#, #"eve\u202e"#] {
                let refused = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": ""# + by + #""}"#)
                #expect(refused.0 == .badRequest && refused.1["field"] as? String == "by", "\(by): \(refused.1)")
                #expect((refused.1["error"] as? String)?.contains("one line of text") == true)
            }
            let badID = try await client.post("/api/v1/incidents/abc/ack", #"{"by": "a"}"#)
            #expect(badID.0 == .badRequest)
            #expect(badID.1["field"] as? String == "id")
            #expect(try await client.post("/api/v1/incidents/\(id)/ack", "{}").1["field"] as? String == "by")
            #expect(try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "  "}"#).1["field"] as? String == "by")
            #expect(try await client.post("/api/v1/incidents/\(id)/notes", #"{"by": "a"}"#).1["error"] as? String == "is required")
            let empty = try await client.post("/api/v1/incidents/\(id)/notes", #"{"by": "a", "note": ""}"#).1
            #expect(empty["field"] as? String == "note" && empty["error"] as? String == "must not be empty")
            let blank = try await client.post("/api/v1/incidents/\(id)/notes", #"{"by": "a", "note": "   "}"#).1
            #expect(blank["error"] as? String == "must not be empty")
            #expect(try await client.post("/api/v1/incidents/\(id)/ack", "not json").0 == .badRequest)
            // An acknowledgement's note of spaces is none: the timeline says nothing after "acknowledged".
            let acked = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "a", "note": "   "}"#)
            #expect(acked.0 == .ok)
            let timeline = try #require(try await client.get("/api/v1/incidents/\(id)").1["timeline"] as? [[String: Any]])
            #expect(timeline.last { $0["kind"] as? String == "acknowledged" }?["detail"] is NSNull)
            #expect(try await client.get("/api/v1/incidents?status=weird").1["field"] as? String == "status")
            #expect(try await client.get("/api/v1/incidents?limit=0").1["field"] as? String == "limit")
            #expect(try await client.get("/api/v1/incidents?since=yesterday").1["field"] as? String == "since")
        }
    }

    /// `curl -X POST …/resolve` without `-d`: the answer says what to send instead of
    /// "malformed JSON", and nothing changes.
    @Test func aRequestWithoutABodyIsToldWhatToSend() async throws {
        try await TestApp.run { client, store, _ in
            let id = try #require(try await client.post("/api/v1/alerts", nativeAlert()).1["incident_id"] as? Int)
            let expected = [
                "ack": #"the body must be a JSON object such as {"by": "alice"}"#,
                "resolve": #"the body must be a JSON object such as {"by": "alice"}"#,
                "escalate": #"the body must be a JSON object such as {"by": "alice"}"#,
                "notes": #"the body must be a JSON object such as {"by": "alice", "note": "origin TLS certificate expired"}"#,
            ]
            for (action, message) in expected {
                for empty in ["", " \r\n"] {
                    let (status, answer, _) = try await client.post("/api/v1/incidents/\(id)/\(action)", empty)
                    #expect(status == .badRequest, "\(action)")
                    #expect(answer["error"] as? String == message, "\(action): \(answer)")
                    #expect(answer["field"] is NSNull, "\(action): \(answer)")
                }
            }
            let (status, answer, _) = try await client.post("/api/v1/silences", "")
            #expect(status == .badRequest)
            #expect(answer["error"] as? String == #"""
                the body must be a JSON object such as \#
                {"matchers": ["pop = ICN1"], "duration": "2h", "by": "alice", "comment": "ICN1 fibre maintenance"}
                """#, "\(answer)")
            let incident = try #require(try await store.incident(id: Int64(id))?.incident)
            #expect(incident.status == .triggered && incident.tier == 1)
            #expect(try await store.incident(id: Int64(id))?.timeline.contains { $0.kind == .note } == false)
            #expect(try await store.silences(SilenceQuery(status: .all, now: TestApp.t0)).isEmpty)
            // A body that is there but broken is still malformed JSON.
            let broken = try await client.post("/api/v1/incidents/\(id)/ack", #"{"by": "a""#).1["error"] as? String
            #expect(broken?.hasPrefix("malformed JSON: unexpected end of the body") == true && broken?.contains(" at line 1, column ") == true,
                    "where it breaks, as the ingest endpoints say it: \(broken ?? "")")
            // What JSONDecoder would take and JSON does not: refused, and nothing is written.
            for lenient in [#"{"by": "a", "note": "n",}"#, #"{"by": "a", "note": "n", "x": 01}"#, #"{"by": "a", "note": "n", "x": "\q"}"#] {
                let answer = try await client.post("/api/v1/incidents/\(id)/notes", lenient)
                #expect(answer.0 == .badRequest && (answer.1["error"] as? String)?.hasPrefix("malformed JSON: ") == true, "\(lenient): \(answer.1)")
            }
            #expect(try await store.incident(id: Int64(id))?.timeline.contains { $0.kind == .note } == false)
            // Well-formed JSON of another kind is not called malformed: it says what it found.
            #expect(try await client.post("/api/v1/incidents/\(id)/ack", #"["alice"]"#).1["error"] as? String == "expected an object, found an array")
            #expect(try await client.post("/api/v1/incidents/\(id)/ack", "42").1["error"] as? String == "expected an object, found a number")
        }
    }

    /// `?since=` lists the incidents created at or after a time, `?until=` before one (`alertbridge report`).
    @Test func listingSinceATime() async throws {
        try await TestApp.run { client, _, clock in
            _ = try await client.post("/api/v1/alerts", nativeAlert(pop: "ICN1"))
            clock.advance(by: .seconds(3600))
            _ = try await client.post("/api/v1/alerts", nativeAlert(pop: "NRT2"))
            let since = RFC3339.format(clock.now() - .seconds(60))
            let (status, body) = try await client.get("/api/v1/incidents?status=all&since=\(since)")
            #expect(status == .ok)
            let listed = try #require(body["incidents"] as? [[String: Any]])
            #expect(listed.map { ($0["labels"] as? [String: String])?["pop"] } == ["NRT2"])
            // `until` (not included) ends the window: `report --until`, also past the newest 1,000.
            let before = try #require(try await client.get("/api/v1/incidents?status=all&until=\(since)").1["incidents"] as? [[String: Any]])
            #expect(before.map { ($0["labels"] as? [String: String])?["pop"] } == ["ICN1"])
            #expect(try await client.get("/api/v1/incidents?until=soon").1["field"] as? String == "until")
            // `before_id` pages by id, newest first.
            let newest = try #require(listed.first?["id"] as? Int)
            let older = try #require(try await client.get("/api/v1/incidents?status=all&before_id=\(newest)").1["incidents"] as? [[String: Any]])
            #expect(older.map { ($0["labels"] as? [String: String])?["pop"] } == ["ICN1"])
            #expect(try await client.get("/api/v1/incidents?before_id=x").1["field"] as? String == "before_id")
            // A filter it does not have is refused, not ignored: it listed every incident as if
            // it had filtered them (black-box round 29).
            let unknown = try await client.get("/api/v1/incidents?status=open&severity=critical&pop=TPE1")
            #expect(unknown.0 == .badRequest)
            #expect(unknown.1["error"] as? String == "/api/v1/incidents has no query parameter \"pop\"; "
                    + "it takes status, limit, since, until, before_id, severity and label", "\(unknown.1)")
            // The filters it has: a severity (repeated or with commas) and a label's value.
            func pops(_ query: String) async throws -> [String?] {
                let listed = try #require(try await client.get("/api/v1/incidents?status=all&\(query)").1["incidents"] as? [[String: Any]])
                return listed.map { ($0["labels"] as? [String: String])?["pop"] }
            }
            #expect(try await pops("label=pop%3DICN1") == ["ICN1"])
            #expect(try await pops("label=pop=NRT2&severity=critical") == ["NRT2"])
            #expect(try await pops("severity=Critical") == ["NRT2", "ICN1"], "in any case, as ingest reads it")
            #expect(try await pops("severity=warning,info").isEmpty)
            #expect(try await pops("severity=warning&severity=critical") == ["NRT2", "ICN1"])
            let badSeverity = try await client.get("/api/v1/incidents?severity=sev1")
            #expect(badSeverity.0 == .badRequest && badSeverity.1["field"] as? String == "severity")
            #expect(badSeverity.1["error"] as? String == "unknown severity \"sev1\" (expected critical, error, warning or info)")
            let badLabel = try await client.get("/api/v1/incidents?label=TPE1")
            #expect(badLabel.0 == .badRequest && badLabel.1["error"] as? String == "\"TPE1\" is not a label and its value, such as pop=ICN1")
            #expect(try await client.get("/api/v1/incidents?label=pop=ICN1&label=pop=NRT2").1["error"] as? String
                == "label pop is asked for twice, as \"ICN1\" and \"NRT2\": no incident has both")
            #expect(try await client.get("/api/v1/silences?pop=TPE1").0 == .badRequest)
        }
    }
}
