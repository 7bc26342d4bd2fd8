import AlertBridgeCore
@testable import AlertBridgeServer
import AlertBridgeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `POST /api/v1/heartbeats/{name}` and the monitor that notices the silence, on a manual clock.
@Suite struct HeartbeatAPITests {
    let logger = Logger(label: "test")
    static let heartbeat = Heartbeat(name: "prometheus-apac", timeout: .seconds(300), labels: ["region": "apac"])

    func incidents(_ client: any TestClientProtocol, status: String = "all") async throws -> [[String: Any]] {
        try #require(try await client.get("/api/v1/incidents?status=\(status)").1["incidents"] as? [[String: Any]])
    }

    @Test func aMonitorThatStopsPingingOpensAnIncidentAndItsNextPingResolvesIt() async throws {
        let chat = RecordingConnector()
        try await TestApp.withApp(connectors: ["console": chat], heartbeats: [Self.heartbeat]) { client, app, clock in
            let monitor = app.heartbeatMonitor(logger: logger)
            let dispatcher = app.dispatcher(logger: logger)
            // Not watched before its first ping.
            #expect(try await monitor.tick().missed == 0)
            let (status, body, _) = try await client.post("/api/v1/heartbeats/prometheus-apac", "")
            #expect(status == .accepted)
            #expect(body["heartbeat"] as? String == "prometheus-apac")
            #expect(body["expires_at"] as? String == "2026-11-23T18:10:00Z")

            clock.advance(by: .seconds(299))
            let early = try await monitor.tick()
            #expect(early.missed == 0)
            #expect(early.nextDue == TestApp.t0 + .seconds(300))
            clock.advance(by: .seconds(1))
            #expect(try await monitor.tick() == (1, TestApp.t0 + .seconds(600)))
            #expect(try await monitor.tick().missed == 0)
            let open = try await incidents(client, status: "open")
            #expect(open.count == 1)
            #expect(open.first?["title"] as? String == "heartbeat prometheus-apac missed: no ping within its 5m timeout")
            #expect(open.first?["labels"] as? [String: String]
                    == ["alertname": "HeartbeatMissed", "heartbeat": "prometheus-apac", "region": "apac"])
            #expect(open.first?["severity"] as? String == "critical")
            #expect(try await dispatcher.tick() == 1)
            #expect(chat.summary == ["triggered:1"])

            // Still missed a timeout later: sent again, merged into the same incident, no new page.
            clock.advance(by: .seconds(300))
            #expect(try await monitor.tick().missed == 1)
            let again = try await incidents(client, status: "open")
            #expect(again.count == 1 && again.first?["alert_count"] as? Int == 2)
            #expect(try await dispatcher.tick() == 0)

            // The monitor is back: its ping resolves the incident.
            clock.advance(by: .seconds(120))
            #expect(try await client.post("/api/v1/heartbeats/prometheus-apac", "").0 == .accepted)
            #expect(try await incidents(client, status: "open").isEmpty)
            #expect(try await incidents(client).first?["resolved_by"] as? String == "alertbridge")
            #expect(try await app.store.heartbeats().first?.mayBeMissed == false)

            // And when it stops again, it pages again.
            clock.advance(by: .seconds(300))
            #expect(try await monitor.tick().missed == 1)
            #expect(try await incidents(client, status: "open").count == 1)
        }
    }

    /// alertbridge was stopped for 10 minutes, past the heartbeat's 5-minute timeout: its
    /// monitor could not reach it, so the first miss waits a timeout after the start. A
    /// ping meanwhile keeps it up; one that does not come is a miss then. (A deploy longer
    /// than the timeout paged the NOC critical, and RESOLVED at the next ping.)
    @Test func afterAStopAMonitorGetsATimeoutToPingBeforeItIsMissed() async throws {
        try await TestApp.withApp(heartbeats: [Self.heartbeat]) { client, app, clock in
            #expect(try await client.post("/api/v1/heartbeats/prometheus-apac", "").0 == .accepted)
            clock.advance(by: .seconds(600))  // stopped meanwhile: this start is now
            let restarted = AlertBridgeApplication(store: app.store, rules: app.rules, policies: app.policies, clock: clock,
                                                   heartbeats: app.heartbeats)
            // The list says what the monitor does: up, until a timeout after the start.
            try await Application(router: restarted.router()).test(.router) { after in
                let listed = try #require(try await after.get("/api/v1/heartbeats").1["heartbeats"] as? [[String: Any]])
                #expect(listed.first?["status"] as? String == "up")
                #expect(listed.first?["expires_at"] as? String == "2026-11-23T18:20:00Z")
            }
            let monitor = restarted.heartbeatMonitor(logger: logger)
            let started = try await monitor.tick()
            #expect(started.missed == 0 && started.nextDue == TestApp.t0 + .seconds(900))
            clock.advance(by: .seconds(299))
            #expect(try await monitor.tick().missed == 0)
            clock.advance(by: .seconds(1))
            #expect(try await monitor.tick().missed == 1, "no ping a timeout after the start: missed")
            #expect(try await incidents(client, status: "open").count == 1)
            // Listed as expired when it was counted missed, not at its last ping's expiry.
            try await Application(router: restarted.router()).test(.router) { after in
                let listed = try #require(try await after.get("/api/v1/heartbeats").1["heartbeats"] as? [[String: Any]])
                #expect(listed.first?["status"] as? String == "missed")
                #expect(listed.first?["expires_at"] as? String == "2026-11-23T18:20:00Z", "\(listed)")
            }
            // The miss is sent again a timeout on; the list still says when it was missed.
            clock.advance(by: .seconds(300))
            _ = try await monitor.tick()
            try await Application(router: restarted.router()).test(.router) { after in
                let listed = try #require(try await after.get("/api/v1/heartbeats").1["heartbeats"] as? [[String: Any]])
                #expect(listed.first?["expires_at"] as? String == "2026-11-23T18:20:00Z", "\(listed)")
            }
        }
    }

    /// What a NOC asks at 3 a.m.: which monitors are alive? Every configured heartbeat, by
    /// name: waiting for its first ping, up until its timeout runs out, then missed.
    @Test func theListSaysWhichMonitorsAreAlive() async throws {
        let idle = Heartbeat(name: "blackbox-eu", timeout: .seconds(60), severity: .warning)
        try await TestApp.withApp(heartbeats: [Self.heartbeat, idle]) { client, _, clock in
            func listed() async throws -> [[String: Any]] {
                let (status, body) = try await client.get("/api/v1/heartbeats")
                #expect(status == .ok)
                return try #require(body["heartbeats"] as? [[String: Any]])
            }
            let before = try await listed()
            #expect(before.map { $0["name"] as? String } == ["blackbox-eu", "prometheus-apac"])
            #expect(before.map { $0["status"] as? String } == ["waiting", "waiting"])
            #expect(before[0]["timeout"] as? String == "1m")
            #expect(before[0]["severity"] as? String == "warning")
            #expect(before[1]["labels"] as? [String: String] == ["region": "apac"])
            #expect(before[1]["last_ping_at"] is NSNull && before[1]["expires_at"] is NSNull)

            #expect(try await client.post("/api/v1/heartbeats/prometheus-apac", "").0 == .accepted)
            clock.advance(by: .seconds(299))
            let up = try await listed()[1]
            #expect(up["status"] as? String == "up")
            #expect(up["last_ping_at"] as? String == "2026-11-23T18:05:00Z")
            #expect(up["expires_at"] as? String == "2026-11-23T18:10:00Z")
            clock.advance(by: .seconds(1))
            #expect(try await listed()[1]["status"] as? String == "missed")
        }
    }

    /// A ping that lands after the monitor read the heartbeat as due, at each step of its
    /// pass: no miss at all, or a miss recovered after it, never an incident left open.
    @Test(arguments: 0...3)
    func aPingRacingTheMonitorLeavesNoIncidentOpen(_ step: Int) async throws {
        try await TestApp.withApp(heartbeats: [Self.heartbeat]) { client, app, clock in
            let monitor = app.heartbeatMonitor(logger: logger)
            _ = try await client.post("/api/v1/heartbeats/prometheus-apac", "")
            clock.advance(by: .seconds(300))
            let due = try await app.store.heartbeats()
            let now = clock.now()
            func ping(at: Int) async throws {
                if at == step { #expect(try await client.post("/api/v1/heartbeats/prometheus-apac", "").0 == .accepted) }
            }
            // The pass's three steps, with the ping before step `step` (3: after all of them).
            try await ping(at: 0)
            let sending = try await monitor.begin(due, now: now)
            try await ping(at: 1)  // sees the first mark: its recovery comes before the alert
            try await monitor.ingestMisses(sending)
            try await ping(at: 2)  // the alert is in: its recovery resolves it, and step 3 sends one too
            try await monitor.end(sending, now: now)
            try await ping(at: 3)
            if step == 0 { #expect(try await incidents(client).isEmpty) }  // nothing was missed
            if step == 1 { #expect(try await incidents(client).map { $0["status"] as? String } == ["resolved"]) }
            #expect(try await incidents(client, status: "open").isEmpty, "ping before step \(step)")
            #expect(try await app.store.heartbeats().first?.mayBeMissed == false, "ping before step \(step)")
            #expect(try await monitor.tick().missed == 0)
        }
    }

    /// The ping was recorded but its recovery never committed (a crash, a failed commit):
    /// the next pass sends it, however late. The recovery ends at the ping, so when the
    /// monitor then dies again its miss is not taken for a stale copy and pages.
    @Test func aRecoveryOwedIsSentByTheNextPassAndTheNextMissStillPages() async throws {
        try await TestApp.withApp(heartbeats: [Self.heartbeat]) { client, app, clock in
            let monitor = app.heartbeatMonitor(logger: logger)
            _ = try await client.post("/api/v1/heartbeats/prometheus-apac", "")
            clock.advance(by: .seconds(300))
            #expect(try await monitor.tick().missed == 1)
            clock.advance(by: .seconds(10))
            _ = try await app.store.pingHeartbeat(name: "prometheus-apac", at: clock.now())  // the ping, without its recovery
            #expect(try await incidents(client, status: "open").count == 1)
            clock.advance(by: .seconds(1000))  // alertbridge down for a while
            #expect(try await monitor.tick().missed == 0)
            #expect(try await incidents(client, status: "open").isEmpty)
            #expect(try await app.store.heartbeats().first?.mayBeMissed == false)
            // No ping since: missed again (its time ran out 700 s ago), and it pages.
            #expect(try await monitor.tick().missed == 1)
            #expect(try await incidents(client, status: "open").count == 1)
        }
    }

    @Test func anUnknownHeartbeatIs404AndChangesNothing() async throws {
        try await TestApp.withApp(heartbeats: [Self.heartbeat]) { client, app, _ in
            let (status, body, _) = try await client.post("/api/v1/heartbeats/prometheus-emea", "")
            #expect(status == .notFound)
            #expect((body["error"] as? String)?.contains("no heartbeat named \"prometheus-emea\"") == true)
            #expect(try await app.store.heartbeats().isEmpty)
        }
    }

    /// A ping the store cannot record is a 503 that says why, as an ingest refusal does.
    @Test func aPingTheStoreCannotRecordSaysWhy() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: logger)
        try await store.close()
        let app = AlertBridgeApplication(store: store, rules: TestApp.rules, policies: TestApp.policies,
                                         clock: ManualClock(TestApp.t0), heartbeats: [Self.heartbeat])
        try await Application(router: app.router()).test(.router) { client in
            let (status, body, headers) = try await client.post("/api/v1/heartbeats/prometheus-apac", "")
            #expect(status == .serviceUnavailable && headers[.retryAfter] == "1")
            #expect(body["error"] as? String == "the store could not record the ping (the store is closed); retry", "\(body)")
        }
    }
}
