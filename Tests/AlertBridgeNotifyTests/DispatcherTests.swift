import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeStore
import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Testing

final class ScriptedConnector: Connector {
    let script: Mutex<[DeliveryError]>
    let delivered = Mutex<[PageMessage]>([])
    let attempts = Mutex(0)
    /// What each successful delivery answers.
    let answer: Delivered
    let dropsOvertakenPages: Bool

    init(_ script: [DeliveryError] = [], answer: Delivered = .toAll, dropsOvertakenPages: Bool = true) {
        self.script = Mutex(script)
        self.answer = answer
        self.dropsOvertakenPages = dropsOvertakenPages
    }

    func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        attempts.withLock { $0 += 1 }
        if let e = script.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw e }
        delivered.withLock { $0.append(page) }
        return answer
    }
}

/// A store whose `recordDeliveries` fails the first `failedRecords` times, as during a
/// database failover; everything else goes to the real store.
final class BlinkingStore: IncidentStore {
    let store: any IncidentStore
    let failedRecords: Mutex<Int>

    init(_ store: any IncidentStore, failedRecords: Int) {
        self.store = store
        self.failedRecords = Mutex(failedRecords)
    }

    func recordDeliveries(_ outcomes: [DeliveryRecord], now: Timestamp) async throws -> Int {
        let fail = failedRecords.withLock { left -> Bool in
            defer { left = max(0, left - 1) }
            return left > 0
        }
        if fail { throw StoreError.unavailable("the database is failing over") }
        return try await store.recordDeliveries(outcomes, now: now)
    }

    func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome] { try await store.ingest(batch, now: now) }
    func incidents(_ query: IncidentQuery) async throws -> [Incident] { try await store.incidents(query) }
    func incidentDetails(ids: [Int64]) async throws -> [Int64: IncidentDetail] { try await store.incidentDetails(ids: ids) }
    func openIncidents(rules: [String]) async throws -> [Incident] { try await store.openIncidents(rules: rules) }
    func openAlerts(fingerprints: [String]) async throws -> [HeldAlert] { try await store.openAlerts(fingerprints: fingerprints) }
    func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident { try await store.act(action, on: id, now: now) }
    func escalate(id: Int64, by: String, note: String?, now: Timestamp, context: EscalationContext) async throws -> Incident {
        try await store.escalate(id: id, by: by, note: note, now: now, context: context)
    }
    func nextEscalationDue() async throws -> Timestamp? { try await store.nextEscalationDue() }
    func retime(_ id: Int64, from old: Timestamp?, to new: Timestamp?) async throws -> Bool {
        try await store.retime(id, from: old, to: new)
    }
    func deleteExpired(before cutoff: Timestamp, limit: Int) async throws -> RetentionReport {
        try await store.deleteExpired(before: cutoff, limit: limit)
    }
    func advanceEscalations(now: Timestamp, limit: Int, context: EscalationContext) async throws -> EscalationReport {
        try await store.advanceEscalations(now: now, limit: limit, context: context)
    }
    func claimDeliveries(now: Timestamp, lease: Duration, limit: Int, quota: ClaimQuota) async throws -> [Delivery] {
        try await store.claimDeliveries(now: now, lease: lease, limit: limit, quota: quota)
    }
    func nextDeliveryDue(excluding: [String]) async throws -> Timestamp? { try await store.nextDeliveryDue(excluding: excluding) }
    func outboxBacklog() async throws -> OutboxBacklog { try await store.outboxBacklog() }
    func policiesInUse() async throws -> [PolicyInUse] { try await store.policiesInUse() }
    func rekey(_ id: Int64, to key: String, because why: String, now: Timestamp) async throws -> Bool {
        try await store.rekey(id, to: key, because: why, now: now)
    }
    func undeliveredPages(of incidents: [Incident]) async throws -> [Int64: UndeliveredPages] { try await store.undeliveredPages(of: incidents) }
    func distinctAlerts(of ids: [Int64]) async throws -> [Int64: Int] { try await store.distinctAlerts(of: ids) }
    func createSilence(_ silence: Silence) async throws -> Silence { try await store.createSilence(silence) }
    func silences(_ query: SilenceQuery) async throws -> [Silence] { try await store.silences(query) }
    func expireSilence(id: Int64, by: String, now: Timestamp) async throws -> Silence { try await store.expireSilence(id: id, by: by, now: now) }
    func extendSilence(id: Int64, to end: Silence.End, by: String, comment: String?, now: Timestamp) async throws -> Silence {
        try await store.extendSilence(id: id, to: end, by: by, comment: comment, now: now)
    }
    func heartbeats() async throws -> [HeartbeatState] { try await store.heartbeats() }
    func pingHeartbeat(name: String, at now: Timestamp) async throws -> HeartbeatState? { try await store.pingHeartbeat(name: name, at: now) }
    func beginHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await store.beginHeartbeatMisses(states, at: now)
    }
    func endHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await store.endHeartbeatMisses(states, at: now)
    }
    func clearHeartbeatMiss(_ state: HeartbeatState) async throws { try await store.clearHeartbeatMiss(state) }
    func ping() async throws { try await store.ping() }
    func close() async throws { try await store.close() }
}

@Suite struct DispatcherTests {
    let t0 = Timestamp(seconds: 1_795_457_100)
    let policy = EscalationPolicy(name: "p", tiers: [
        .init(name: "noc", notify: [.init(connector: "chat"), .init(connector: "mail", to: ["noc@example.com"])],
              escalateAfter: .seconds(900)),
    ])

    func withIncident(_ body: (any IncidentStore, Int64) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        let alert = Alert(source: "t", status: .firing, severity: .critical, summary: "p95 latency 1.4s at ICN1",
                          labels: ["alertname": "EdgeLatencyHigh", "pop": "ICN1"], value: 1.4, threshold: 0.8)
        let routed = RoutedAlert(alert: alert, rule: "r", dedupKey: "k", policy: "p", escalationPolicy: policy)
        let id = try #require(try await store.ingest([routed], now: t0)[0].incidentID)
        do { try await body(store, id) } catch { try await store.close(); throw error }
        try await store.close()
    }

    func dispatcher(_ store: any IncidentStore, _ connectors: [String: any Connector], _ clock: ManualClock,
                    backoff: Backoff = Backoff(), metrics: any MetricsFactory = NOOPMetricsHandler.instance,
                    logger: Logger = Logger(label: "test")) -> Dispatcher {
        Dispatcher(store: store, connectors: connectors, clock: clock, wakeup: Wakeup(), backoff: backoff,
                   logger: logger, metrics: metrics, random: { 1.0 })
    }

    /// The incidents of a claim are read together; each page must still carry its own.
    @Test func pagesClaimedTogetherEachCarryTheirOwnIncident() async throws {
        try await TestStore.with(targets: [.init(connector: "chat")]) { s in
            var titles: [Int64: String] = [:]
            for pop in ["ICN1", "NRT2", "SIN3"] {
                titles[try await s.newIncident("EdgeLatencyHigh/\(pop)", title: "p95 latency 1.4s at \(pop)")] = "p95 latency 1.4s at \(pop)"
            }
            let chat = ScriptedConnector()
            #expect(try await s.dispatcher(["chat": chat], clock: ManualClock(t0)).tick() == 3)
            let pages = chat.delivered.withLock { $0 }
            #expect(Set(pages.map(\.delivery.incidentID)) == Set(titles.keys))
            for page in pages {
                #expect(page.incident.incident.id == page.delivery.incidentID)
                #expect(page.incident.incident.title == titles[page.delivery.incidentID])
                #expect(page.incident.alerts.map(\.summary) == [titles[page.delivery.incidentID]])
            }
        }
    }

    /// The database blinks while the outcomes of delivered pages are recorded: they are
    /// recorded once it is back, not left to their lease, which would send them again.
    @Test func anOutcomeTheStoreFailedToRecordIsRecordedOnceItIsBack() async throws {
        try await withIncident { (sqlite: any IncidentStore, id: Int64) async throws in
            let store = BlinkingStore(sqlite, failedRecords: 2)
            let clock = ManualClock(t0)
            let metrics = TestMetrics()
            let chat = ScriptedConnector(), mail = ScriptedConnector()
            let d = dispatcher(store, ["chat": chat, "mail": mail], clock, metrics: metrics)
            #expect(try await d.tick() == 2)
            #expect(store.failedRecords.withLock { $0 } == 0, "both failures were met and passed")
            // Counted where an operator looks for a store in trouble (black-box round 43).
            #expect(try metrics.expectCounter("alertbridge_store_failures_total").totalValue == 2)
            // The lease would have handed the pages out again: they are recorded delivered.
            clock.advance(by: .seconds(3600))
            #expect(try await d.tick() == 0)
            #expect(chat.attempts.withLock { $0 } == 1 && mail.attempts.withLock { $0 } == 1)
            #expect(try await sqlite.outboxBacklog().pending == 0)
            #expect(try await sqlite.nextDeliveryDue(excluding: []) == nil)
            #expect(try await sqlite.incident(id: id)?.timeline.contains { $0.kind == .deliveryFailed } == false)
        }
    }

    /// An outcome the store keeps failing to record is tried until shortly before its
    /// claim's lease ends (``Dispatcher/recordMargin``), then left to the lease, which sends
    /// the page again. (A 12 s lease here gives 2 s; in production it is two minutes at
    /// least, where the tries stopped after 30 s and a disk freed after a minute still saw
    /// its pages sent twice, black-box round 43.)
    @Test func anOutcomeIsTriedUntilItsLeaseIsNearlyOver() async throws {
        try await withIncident { (sqlite: any IncidentStore, id: Int64) async throws in
            let store = BlinkingStore(sqlite, failedRecords: .max)
            let clock = ManualClock(t0)
            let chat = ScriptedConnector(), mail = ScriptedConnector()
            let d = Dispatcher(store: store, connectors: ["chat": chat, "mail": mail], clock: clock, wakeup: Wakeup(),
                               logger: Logger(label: "test"), metrics: NOOPMetricsHandler.instance, lease: .seconds(12))
            let started = ContinuousClock.now
            await #expect(throws: StoreError.unavailable("the database is failing over")) { try await d.tick() }
            let tried = ContinuousClock.now - started
            #expect(tried >= .seconds(1) && tried < .seconds(12), "tried again for about 2 s, and given up before the lease ended: \(tried)")
            #expect(chat.attempts.withLock { $0 } == 1 && mail.attempts.withLock { $0 } == 1)
            store.failedRecords.withLock { $0 = 0 }
            clock.advance(by: .seconds(11))
            #expect(try await d.tick() == 0, "leased still")
            clock.advance(by: .seconds(2))
            #expect(try await d.tick() == 2, "handed out again once the lease ended")
            #expect(chat.attempts.withLock { $0 } == 2 && mail.attempts.withLock { $0 } == 2)
            #expect(try await sqlite.outboxBacklog().pending == 0)
        }
    }

    @Test func transientFailuresRetryWithBackoffUntilExactlyOneDelivery() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let chat = ScriptedConnector([.transient("HTTP 503"), .transient("HTTP 429", retryAfter: .seconds(30))])
            let mail = ScriptedConnector()
            let d = dispatcher(store, ["chat": chat, "mail": mail], clock)
            #expect(try await d.tick() == 2)
            #expect(mail.delivered.withLock { $0.count } == 1)
            #expect(chat.delivered.withLock { $0.isEmpty })
            #expect(try await d.tick() == 0)             // not due again before the backoff
            clock.advance(by: .seconds(2))
            #expect(try await d.tick() == 1)             // second attempt: 429 with Retry-After 30s
            clock.advance(by: .seconds(29))
            #expect(try await d.tick() == 0)
            clock.advance(by: .seconds(1))
            #expect(try await d.tick() == 1)
            #expect(chat.delivered.withLock { $0.count } == 1)
            #expect(chat.attempts.withLock { $0 } == 3)
            clock.advance(by: .seconds(3600))
            #expect(try await d.tick() == 0)             // delivered rows are never sent again
            #expect(try await store.nextDeliveryDue(excluding: []) == nil)
            // The first transient failure is recorded once; retries and the 429 are not.
            let failures = try #require(try await store.incident(id: id)).timeline.filter { $0.kind == .deliveryFailed }
            #expect(failures.map(\.detail) == ["tier 1 via chat: HTTP 503; retrying"])
        }
    }

    @Test func permanentFailureIsRecordedOnTheTimelineAndNotRetried() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let chat = ScriptedConnector([.permanent("HTTP 400: invalid_payload")])
            let d = dispatcher(store, ["chat": chat, "mail": ScriptedConnector()], clock)
            try await d.tick()
            clock.advance(by: .seconds(3600))
            #expect(try await d.tick() == 0)
            #expect(chat.attempts.withLock { $0 } == 1)
            let failures = try #require(try await store.incident(id: id)).timeline.filter { $0.kind == .deliveryFailed }
            #expect(failures.map(\.detail) == ["tier 1 via chat: HTTP 400: invalid_payload"])
        }
    }

    /// A colleague who left, on a list of three: the others are paged, the page is not sent
    /// again, and the timeline and metrics name who was not reached.
    @Test func aRecipientRefusedAmongOthersIsNamedAndNotRetried() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let metrics = TestMetrics()
            let mail = ScriptedConnector(answer: Delivered(refused: [RefusedRecipient(address: "bob@example.com",
                                                                                     reply: "550 5.1.1 User unknown")]))
            let d = dispatcher(store, ["chat": ScriptedConnector(), "mail": mail], clock, metrics: metrics)
            #expect(try await d.tick() == 2)
            clock.advance(by: .seconds(3600))
            #expect(try await d.tick() == 0)
            #expect(mail.attempts.withLock { $0 } == 1)
            let failures = try #require(try await store.incident(id: id)).timeline.filter { $0.kind == .deliveryFailed }
            #expect(failures.map(\.detail) == [
                "tier 1 via mail: refused bob@example.com (550 5.1.1 User unknown) the page; the other recipients have it",
            ])
            #expect(try metrics.expectCounter("alertbridge_page_recipients_refused_total", [("connector", "mail")]).totalValue == 1)
            #expect(try metrics.expectCounter("alertbridge_pages_delivered_total", [("connector", "mail")]).totalValue == 1)
            #expect(try metrics.expectCounter("alertbridge_pages_delivered_total", [("connector", "chat")]).totalValue == 1)
        }
    }

    /// Chat was down while someone acknowledged from the CLI: when chat is back, the queued
    /// page is not posted (it would call the NOC to something already handled); the
    /// acknowledge notice is. A page decided after the acknowledgement (a manual
    /// escalation) goes out.
    @Test func aPageAnAcknowledgementOvertookIsNotSent() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let metrics = TestMetrics()
            let chat = ScriptedConnector([.transient("HTTP 503")])
            let mail = ScriptedConnector()
            let d = dispatcher(store, ["chat": chat, "mail": mail], clock, metrics: metrics)
            #expect(try await d.tick() == 2)
            clock.advance(by: .seconds(1))
            _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: clock.now())
            clock.advance(by: .seconds(1))
            #expect(try await d.tick() == 3)  // the queued page and the two acknowledge notices
            #expect(chat.delivered.withLock { $0.map(\.delivery.event) } == [.acknowledged])
            #expect(mail.delivered.withLock { $0.map(\.delivery.event) } == [.triggered, .acknowledged])
            let timeline = try #require(try await store.incident(id: id)).timeline.filter { $0.by == "alertbridge" }
            #expect(timeline.compactMap(\.detail).suffix(2) == [
                "tier 1 via chat: HTTP 503; retrying",
                "tier 1 via chat: page not sent: the incident was acknowledged by alice first",
            ])
            #expect(try metrics.expectCounter("alertbridge_pages_cancelled_total", [("connector", "chat")]).totalValue == 1)
            clock.advance(by: .seconds(3600))
            #expect(try await d.tick() == 0)  // not handed out again

            // Decided after the acknowledgement (`alertbridge escalate`): sent.
            let incident = try #require(try await store.incident(id: id)).incident
            let manual = Delivery(id: 99, incidentID: id, step: 2, event: .manual, tier: 1, tierName: "noc", connector: "chat",
                                  recipients: [], attempts: 1, createdAt: t0 + .seconds(5))
            #expect(manual.overtaken(by: incident) == nil)
            var before = manual
            before.createdAt = t0
            #expect(before.overtaken(by: incident) == "the incident was acknowledged by alice first")
            before.event = .resolved
            #expect(before.overtaken(by: incident) == nil)  // notices always go out
        }
    }

    /// After an outage, a page of an earlier episode (the incident resolved and fired
    /// again) is not sent. A tier's page that an ack timeout paged again is: after a
    /// severity switch the same tier number is another policy's people.
    @Test func aPageOfAnEarlierEpisodeIsNotSent() {
        var incident = Incident(id: 1, dedupKey: "k", status: .triggered, title: "t", severity: .critical, labels: [:],
                                annotations: [:], rule: "r", policy: "p", tier: 1, alertCount: 1, firingCount: 1,
                                createdAt: t0, lastAlertAt: t0)
        func page(step: Int, tier: Int = 1, _ event: EscalationPlanner.PageReason = .triggered) -> Delivery {
            Delivery(id: 1, incidentID: 1, step: step, event: event, tier: tier, tierName: "noc", connector: "chat",
                     recipients: [], attempts: 3, createdAt: t0)
        }
        // Reopened: steps 1-2 were the first episode.
        incident.escalation.step = 3
        incident.escalation.episodeStart = 2
        #expect(page(step: 2).overtaken(by: incident) == "the incident was resolved before it could be delivered (it has opened again since)")
        #expect(page(step: 3, .reopened).overtaken(by: incident) == nil)
        // Its notices too: a resolve notice after the new page would call the live incident resolved.
        #expect(page(step: 2, .resolved).overtaken(by: incident) == "the incident has opened again since")
        #expect(page(step: 3, .resolved).overtaken(by: incident) == nil)
        // Back to triggered after an ack timeout (or a severity switch), tier 1 paged again at step 5.
        incident.escalation.episodeStart = 0
        incident.escalation.step = 5
        #expect(page(step: 4).overtaken(by: incident) == nil)
        #expect(page(step: 5, .ackTimeout).overtaken(by: incident) == nil)
        #expect(page(step: 4, .acknowledged).overtaken(by: incident) == "the acknowledgement has ended since")
        #expect(page(step: 5, .escalationEnded).overtaken(by: incident) == "its escalation started again since")
        incident.escalation.ended = true
        #expect(page(step: 5, .escalationEnded).overtaken(by: incident) == nil)
        // "Nobody acknowledged" is false once someone has: the acknowledge notice says who.
        incident.status = .acknowledged
        #expect(page(step: 5, .escalationEnded).overtaken(by: incident) == "the incident was acknowledged since")
        // Resolved while an outage held the acknowledge notice: RESOLVED may have gone
        // first, and ACKNOWLEDGED must not be the last word.
        incident.status = .resolved
        #expect(page(step: 5, .acknowledged).overtaken(by: incident) == "the incident is resolved since")
        #expect(page(step: 5, .resolved).overtaken(by: incident) == nil)
    }

    /// Chat was down while the incident was acknowledged, resolved and fired again: when
    /// chat is back it gets the new page only, not the old page nor the old notices (a
    /// resolve notice after the new page would call the live incident resolved).
    @Test func afterAnOutageChatGetsOnlyTheEpisodeThatIsLive() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let chat = ScriptedConnector([.transient("HTTP 503")])
            let mail = ScriptedConnector()
            let d = dispatcher(store, ["chat": chat, "mail": mail], clock)
            #expect(try await d.tick() == 2)
            _ = try await store.act(.acknowledge(by: "carol", note: nil), on: id, now: t0 + .seconds(1))
            _ = try await store.act(.resolve(by: "carol", note: nil), on: id, now: t0 + .seconds(2))
            let alert = Alert(source: "t", status: .firing, severity: .critical, summary: "p95 latency 1.4s at ICN1",
                              labels: ["alertname": "EdgeLatencyHigh", "pop": "ICN1"], value: 1.4, threshold: 0.8)
            let again = RoutedAlert(alert: alert, rule: "r", dedupKey: "k", policy: "p", reopenWithin: .seconds(600),
                                    escalationPolicy: policy)
            #expect(try await store.ingest([again], now: t0 + .seconds(3)).map(\.kind) == [.reopened])
            clock.advance(by: .seconds(10))
            try await d.tick()
            #expect(chat.delivered.withLock { $0.map(\.delivery.event) } == [.reopened])
            #expect(mail.delivered.withLock { $0.map(\.delivery.event) }.sorted { $0.rawValue < $1.rawValue } == [.reopened, .triggered])
            let lines = try #require(try await store.incident(id: id)).timeline.compactMap(\.detail).filter { $0.contains(" not sent") }
            #expect(lines.sorted() == [
                "tier 1 via chat: acknowledge notice not sent: the incident has opened again since",
                "tier 1 via chat: page not sent: the incident was resolved before it could be delivered (it has opened again since)",
                "tier 1 via chat: resolve notice not sent: the incident has opened again since",
                "tier 1 via mail: acknowledge notice not sent: the incident has opened again since",
                "tier 1 via mail: resolve notice not sent: the incident has opened again since",
            ])
        }
    }

    /// A webhook gets every event, also a page an acknowledgement overtook: the ticket
    /// system behind it must not see an incident acknowledged that it never saw open.
    @Test func aWebhookGetsAPageAnAcknowledgementOvertook() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let hook = ScriptedConnector([.transient("HTTP 503")], dropsOvertakenPages: false)
            let d = dispatcher(store, ["chat": hook, "mail": ScriptedConnector()], clock)
            #expect(try await d.tick() == 2)
            clock.advance(by: .seconds(1))
            _ = try await store.act(.acknowledge(by: "alice", note: nil), on: id, now: clock.now())
            clock.advance(by: .seconds(1))
            #expect(try await d.tick() == 3)
            #expect(hook.delivered.withLock { $0.map(\.delivery.event) }.sorted { $0.rawValue > $1.rawValue } == [.triggered, .acknowledged])
            #expect(!WebhookConnector(url: "http://127.0.0.1:9/hook", secret: nil).dropsOvertakenPages)
        }
    }

    /// A chat outage shows in the metrics while it lasts, by connector: its pages wait
    /// (the failure counter moves only when one is given up, an hour later), the backlog
    /// gauges say how many and since when, and they fall back once chat answers.
    @Test func anOutageShowsInTheBacklogGaugesWhileItLasts() async throws {
        try await withIncident { (store: any IncidentStore, _: Int64) async throws in
            let clock = ManualClock(t0)
            let metrics = TestMetrics()
            let chat = ScriptedConnector(Array(repeating: .transient("HTTP 503"), count: 3))
            let d = dispatcher(store, ["chat": chat, "mail": ScriptedConnector()], clock, metrics: metrics)
            try await d.tick()
            #expect(try metrics.expectGauge("alertbridge_pages_pending").lastValue == 1)
            #expect(try metrics.expectGauge("alertbridge_oldest_pending_page_age_seconds").lastValue == 0)
            for _ in 0..<2 {
                clock.advance(by: .seconds(10))
                try await d.tick()
            }
            #expect(try metrics.expectGauge("alertbridge_pages_pending").lastValue == 1)
            #expect(try metrics.expectGauge("alertbridge_oldest_pending_page_age_seconds").lastValue == 20)
            #expect(try metrics.expectCounter("alertbridge_pages_failed_total", [("connector", "chat")]).totalValue == 0)
            clock.advance(by: .seconds(10))
            try await d.tick()
            #expect(try metrics.expectCounter("alertbridge_page_retries_total", [("connector", "chat")]).totalValue == 3)
            #expect(try metrics.expectCounter("alertbridge_pages_delivered_total", [("connector", "mail")]).totalValue == 1)
            #expect(try metrics.expectCounter("alertbridge_pages_delivered_total", [("connector", "chat")]).totalValue == 1)
            #expect(try metrics.expectGauge("alertbridge_pages_pending").lastValue == 0)
            #expect(try metrics.expectGauge("alertbridge_oldest_pending_page_age_seconds").lastValue == 0)
        }
    }

    /// The database goes away while a page waits: the pending gauges keep the last count,
    /// the oldest page's age keeps growing (an alert on it fires, when pages are stuck for
    /// sure), and each failed pass counts as a store failure.
    @Test func whileTheStoreIsDownTheOldestPageKeepsAging() async throws {
        try await withIncident { (store: any IncidentStore, _: Int64) async throws in
            let clock = ManualClock(t0)
            let metrics = TestMetrics()
            let chat = ScriptedConnector([.transient("HTTP 503")])
            let d = dispatcher(store, ["chat": chat, "mail": ScriptedConnector()], clock, metrics: metrics)
            try await d.tick()
            #expect(try metrics.expectGauge("alertbridge_pages_pending").lastValue == 1)
            try await store.close()
            clock.advance(by: .seconds(600))
            let run = Task { try await d.run() }
            #expect(try await eventually { (try? metrics.expectCounter("alertbridge_store_failures_total").totalValue) ?? 0 >= 1 })
            run.cancel()
            _ = await run.result
            #expect(try metrics.expectGauge("alertbridge_pages_pending").lastValue == 1)
            #expect(try metrics.expectGauge("alertbridge_oldest_pending_page_age_seconds").lastValue == 600)
        }
    }

    /// A connector taken out of alertbridge.yaml while a page to it was queued (or not yet
    /// in this instance's during a rolling change): retried, so a restart with it, or an
    /// instance that has it, sends the page, instead of it being lost for good.
    @Test func aConnectorNotConfiguredHereIsRetriedUntilOneThatHasItSendsIt() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let log = LogLines()
            let without = dispatcher(store, ["mail": ScriptedConnector()], clock, logger: Logger(label: "test") { _ in log })
            try await without.tick()
            let failures = try #require(try await store.incident(id: id)).timeline.filter { $0.kind == .deliveryFailed }
            #expect(failures.map(\.detail) == ["tier 1 via chat: connector \"chat\" is not configured on this instance; retrying"])
            // The log says so too, once per page as the timeline does.
            clock.advance(by: .seconds(30))
            try await without.tick()
            #expect(log.lines == [#"warning page not delivered yet; retrying, as every page to this connector until it delivers again connector=chat reason=connector "chat" is not configured on this instance tier=1"#])
            clock.advance(by: .seconds(90))
            let chat = ScriptedConnector()
            try await dispatcher(store, ["chat": chat, "mail": ScriptedConnector()], clock).tick()
            #expect(chat.delivered.withLock { $0.count } == 1)
            #expect(try #require(try await store.incident(id: id)).timeline.last?.detail
                    == "tier 1 via chat: delivered the page on attempt 3")
        }
    }

    /// A chat outage in the log: one line when it starts, one when the connector delivers
    /// again, not one per page; each page's own failure is on its timeline.
    @Test func theLogSaysWhenAConnectorStartsFailingAndWhenItDeliversAgain() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let log = LogLines()
            let chat = ScriptedConnector([.transient("HTTP 503"), .transient("HTTP 503")])
            let d = dispatcher(store, ["chat": chat, "mail": ScriptedConnector()], clock, logger: Logger(label: "test") { _ in log })
            for _ in 0..<3 {
                try await d.tick()
                clock.advance(by: .seconds(120))
            }
            #expect(chat.delivered.withLock { $0.count } == 1)
            #expect(log.lines == [
                "warning page not delivered yet; retrying, as every page to this connector until it delivers again connector=chat reason=HTTP 503 tier=1",
                "notice connector delivers again connector=chat",
            ])
        }
    }

    @Test func givesUpAfterTheMaximumAge() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let log = LogLines()
            let down = ScriptedConnector(Array(repeating: .transient("connection refused"), count: 100))
            let d = dispatcher(store, ["chat": down, "mail": ScriptedConnector()], clock,
                               backoff: Backoff(initial: .seconds(10), maximum: .seconds(60), maxAge: .seconds(300)),
                               logger: Logger(label: "test") { _ in log })
            for _ in 0..<40 {
                try await d.tick()
                clock.advance(by: .seconds(60))
            }
            let failures = try #require(try await store.incident(id: id)).timeline.filter { $0.kind == .deliveryFailed }
            #expect(failures.count == 2)
            #expect(failures.first?.detail == "tier 1 via chat: connection refused; retrying")
            // Given up at its maximum age, not before, after an attempt at that age.
            #expect(failures.last?.at == t0 + .seconds(300))
            #expect(failures.last?.detail?.hasPrefix("tier 1 via chat: gave up after ") == true)
            #expect(failures.last?.detail?.hasSuffix(" attempts over 5m: connection refused") == true, "\(failures)")
            #expect(down.attempts.withLock { $0 } < 10)
            // A page given up is an error in the log: nobody of its tier got it.
            #expect(log.lines.last?.hasPrefix("error page not delivered, given up connector=chat reason=gave up after ") == true, "\(log.lines)")
        }
    }

    /// A receiver that failed five times, then answers 429 with `Retry-After: 5`: the page is
    /// tried again 5 s later, not after the 32–64 s its back-off had grown to (black-box
    /// round 36: 52 s, and the incident's first page arrived after its `ESCALATED`).
    @Test func aRetryAfterReplacesAGrownBackoff() async throws {
        try await withIncident { (store: any IncidentStore, _: Int64) async throws in
            let clock = ManualClock(t0)
            let chat = ScriptedConnector(Array(repeating: .transient("HTTP 500"), count: 5) + [.transient("HTTP 429", retryAfter: .seconds(5))])
            let d = dispatcher(store, ["chat": chat, "mail": ScriptedConnector()], clock)
            #expect(try await d.tick() == 2)
            for wait in [2, 4, 8, 16, 32] {  // the back-off after each 500 (random 1: the whole of it)
                clock.advance(by: .seconds(Int64(wait) - 1))
                #expect(try await d.tick() == 0, "not before \(wait) s")
                clock.advance(by: .seconds(1))
                #expect(try await d.tick() == 1, "after \(wait) s")
            }
            #expect(chat.attempts.withLock { $0 } == 6)  // the sixth answered 429, Retry-After 5 s
            clock.advance(by: .seconds(4))
            #expect(try await d.tick() == 0)
            clock.advance(by: .seconds(1))
            #expect(try await d.tick() == 1)
            #expect(chat.delivered.withLock { $0.count } == 1)
        }
    }

    /// A receiver asking for a longer wait than the page has left is tried once more at the
    /// page's maximum age, not given up at once.
    @Test func aRetryAfterBeyondTheMaximumAgeIsCutToIt() async throws {
        try await withIncident { (store: any IncidentStore, id: Int64) async throws in
            let clock = ManualClock(t0)
            let limited = ScriptedConnector([.transient("HTTP 429", retryAfter: .seconds(120)), .transient("HTTP 429", retryAfter: .seconds(120))])
            let d = dispatcher(store, ["chat": limited, "mail": ScriptedConnector()], clock,
                               backoff: Backoff(maxAge: .seconds(60)))
            #expect(try await d.tick() == 2)
            clock.advance(by: .seconds(59))
            #expect(try await d.tick() == 0)
            clock.advance(by: .seconds(1))
            #expect(try await d.tick() == 1)  // at 60 s, the page's maximum age
            let failures = try #require(try await store.incident(id: id)).timeline.filter { $0.kind == .deliveryFailed }
            #expect(failures.compactMap(\.detail) == [
                "tier 1 via chat: HTTP 429; retrying",
                "tier 1 via chat: gave up after 2 attempts over 1m: HTTP 429",
            ])
        }
    }


    @Test func aDeliveryInterruptedBeforeItWasRecordedIsRetriedAfterTheLease() async throws {
        try await withIncident { (store: any IncidentStore, _: Int64) async throws in
            // Claimed but never recorded, as if the process died mid-send.
            let claimed = try await store.claimDeliveries(now: t0, lease: .seconds(120), limit: 10, quota: .none)
            #expect(claimed.count == 2)
            #expect(try await store.claimDeliveries(now: t0 + .seconds(119), lease: .seconds(120), limit: 10, quota: .none).isEmpty)
            let again = try await store.claimDeliveries(now: t0 + .seconds(120), lease: .seconds(120), limit: 10, quota: .none)
            #expect(again.map(\.id) == claimed.map(\.id))
            #expect(again.map(\.attempts) == [2, 2])
        }
    }

    /// `delivery.timeout: 3m` lets one send run three minutes: the lease must outlast it, or
    /// the row would be handed out (and the page sent) again while the first send runs.
    @Test func theLeaseOutlastsTheConfiguredTimeout() {
        #expect(Dispatcher.lease(outlasting: .seconds(20)) == .seconds(120))
        #expect(Dispatcher.lease(outlasting: .seconds(180)) == .seconds(420))
    }
}

@Suite struct BackoffTests {
    @Test func growsExponentiallyWithJitterUpToTheCap() {
        let b = Backoff(initial: .seconds(2), maximum: .seconds(60))
        #expect(b.delay(afterAttempts: 1, retryAfter: nil, random: 1) == .seconds(2))
        #expect(b.delay(afterAttempts: 1, retryAfter: nil, random: 0) == .seconds(1))
        #expect(b.delay(afterAttempts: 4, retryAfter: nil, random: 1) == .seconds(16))
        #expect(b.delay(afterAttempts: 30, retryAfter: nil, random: 1) == .seconds(60))
        #expect(b.delay(afterAttempts: 1, retryAfter: .seconds(30), random: 1) == .seconds(30))
    }

    /// A receiver's `Retry-After` is the wait, however long the back-off has grown, and no
    /// shorter than the first back-off.
    @Test func aRetryAfterIsTheWait() {
        let b = Backoff(initial: .seconds(2), maximum: .seconds(300))
        #expect(b.delay(afterAttempts: 6, retryAfter: .seconds(5), random: 1) == .seconds(5))
        #expect(b.delay(afterAttempts: 6, retryAfter: .seconds(5), random: 0) == .seconds(5))
        #expect(b.delay(afterAttempts: 2, retryAfter: .zero, random: 1) == .seconds(2))
    }
}

@Suite struct PageTextTests {
    let t0 = Timestamp(seconds: 1_795_457_100)

    func page(_ event: EscalationPlanner.PageReason, status: IncidentStatus = .triggered, alertCount: Int = 3,
              firingCount: Int = 2) -> PageMessage {
        let incident = Incident(id: 42, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", status: status,
                                title: "p95 latency 1.4s at ICN1 (threshold 800ms)", severity: .critical,
                                labels: ["pop": "ICN1", "region": "apac", "service": "cdn-edge"],
                                annotations: ["runbook": "https://wiki.example.com/runbooks/edge-latency"],
                                rule: "edge", policy: "cdn-performance", tier: 2, alertCount: alertCount,
                                firingCount: firingCount, createdAt: t0, lastAlertAt: t0, acknowledgedBy: "alice")
        let alert = StoredAlert(fingerprint: "f", status: .firing, severity: .critical, summary: "s", labels: [:],
                                annotations: [:], source: "t", value: 1.4, threshold: 0.8, firstSeenAt: t0,
                                lastSeenAt: t0, receivedCount: 2)
        var other = alert
        other.fingerprint = "g"
        other.receivedCount = 1
        let delivery = Delivery(id: 1, incidentID: 42, step: 2, event: event, tier: 2, tierName: "rnd",
                                connector: "console", recipients: [], attempts: 1, createdAt: t0)
        // Two alerts, one of them sent twice; one alert when one copy came.
        return PageMessage(delivery: delivery, incident: IncidentDetail(incident: incident, alerts: alertCount > 1 ? [alert, other] : [alert],
                                                                        timeline: []))
    }

    /// One alert its sender re-sent every 10 s for ten minutes is one alert with sixty
    /// copies, not sixty alerts (black-box round 29).
    @Test func reSentCopiesAreCountedAsCopiesNotAlerts() {
        var resent = page(.triggered, alertCount: 60, firingCount: 1)
        resent.incident.alerts = [resent.incident.alerts[0]]
        #expect(PageText.facts(resent).last.map { "\($0.name): \($0.value)" } == "Alerts: 1 alert (60 copies received), firing")
    }

    /// Escalation ended after an acknowledgement timed out: someone did answer, and the
    /// notice must not say nobody did.
    @Test func theEndOfEscalationSaysWhetherAnAcknowledgementTimedOut() {
        #expect(PageText.body(page(.escalationEnded)).hasPrefix(
            "Nobody acknowledged incident #42: every tier was paged and its escalation has ended"))
        var timedOut = page(.escalationEnded)
        timedOut.incident.incident.escalation.acknowledgedThrough = 1
        #expect(PageText.body(timedOut).hasPrefix("Nobody holds incident #42: its acknowledgement timed out (ack_timeout), "
                                                  + "every tier was paged again and its escalation has ended"))
    }

    @Test func subjectSaysSeverityPlaceAndTitle() throws {
        #expect(PageText.subject(page(.triggered)) == "[CRITICAL] ICN1 cdn-edge: p95 latency 1.4s at ICN1 (threshold 800ms) (#42)")
        #expect(PageText.subject(page(.escalated)).hasPrefix("ESCALATED [CRITICAL]"))
        // Paged again because an acknowledgement lapsed, not because a tier missed its page.
        #expect(PageText.subject(page(.ackTimeout)).hasPrefix("ACK TIMED OUT [CRITICAL]"))
        // Who had it, so the person paged again calls them first.
        var lapsed = Pages.page(.ackTimeout, step: 3)
        lapsed.delivery.createdAt = Pages.t0 + .seconds(1900)
        lapsed.incident.timeline = [TimelineEntry(incidentID: 42, at: Pages.t0 + .seconds(60), kind: .acknowledged, by: "alice")]
        #expect(PageText.body(lapsed).hasPrefix("Incident #42 needs tier 1 (technical-support): acknowledged by alice at "
                                                + "2026-11-23T18:06:00Z but not resolved in time.\n"))
        // With the note, which says what they knew (black-box round 28).
        lapsed.incident.timeline[0].detail = "failing over\nto icn-origin-3"
        #expect(PageText.lead(lapsed) == "Incident #42 needs tier 1 (technical-support): acknowledged by alice at "
                + "2026-11-23T18:06:00Z (\"failing over to icn-origin-3\") but not resolved in time.")
        // A take-over's own words are not quoted as the operator's (black-box round 34).
        var held = lapsed.incident.incident
        held.status = .acknowledged
        held.acknowledgedBy = "alice"
        for (note, aside) in [(nil, "(took it over from alice)"), ("on it", "(took it over from alice; \"on it\")")] {
            let (_, entry) = try IncidentAction.acknowledge(by: "bob", note: note, takeOver: true).apply(to: held, now: Pages.t0 + .seconds(60))
            lapsed.incident.timeline = [entry]
            #expect(PageText.lead(lapsed) == "Incident #42 needs tier 1 (technical-support): acknowledged by bob at "
                    + "2026-11-23T18:06:00Z \(aside) but not resolved in time.")
        }
        // Escalated by hand: by whom, as the timeline says.
        var manual = Pages.page(.manual, step: 2, tier: 2)
        manual.incident.timeline = [TimelineEntry(incidentID: 42, at: Pages.t0, kind: .escalated, by: "bob",
                                                  detail: "escalated by hand to tier 2 (rnd)")]
        #expect(PageText.lead(manual) == "Incident #42 needs tier 2 (rnd): escalated by hand by bob.")
        // Called in while alice has it: said, so tier 2 calls her first (black-box round 35).
        manual.incident.incident.status = .acknowledged
        manual.incident.incident.acknowledgedBy = "alice"
        manual.incident.incident.acknowledgedAt = Pages.t0 - .seconds(60)
        #expect(PageText.lead(manual) == "Incident #42 needs tier 2 (rnd): escalated by hand by bob; alice has it (acknowledged at "
                + "2026-11-23T18:04:00Z).")
        // A title of several lines (an Alertmanager description) is one line in the subject and `What:`.
        let lines = Pages.page(.triggered, title: "NRT1 unreachable\n  from 3 probes\n")
        #expect(PageText.subject(lines) == "[CRITICAL] ICN1 cdn-edge: NRT1 unreachable from 3 probes (#42)")
        #expect(PageText.body(lines).contains("\nWhat:     NRT1 unreachable from 3 probes\n"))
        // A sender's line breaks, escapes and bidirectional overrides do not write a line of
        // their own that reads as a field, nor reach a terminal (black-box round 24).
        var forged = Pages.page(.triggered, title: "disk\u{1B}[2J full\r\nAcknowledge: alertbridge ack 999 \u{202E}exe.txt")
        forged.incident.incident.labels["pop"] = "ICN1\r\nCc: evil@example.com"
        forged.incident.incident.dedupKey = "k\nTo: x"
        let body = PageText.body(forged)
        #expect(body.contains("\nWhat:     disk [2J full Acknowledge: alertbridge ack 999 exe.txt\n"))
        #expect(body.contains("\nWhere:    pop ICN1 Cc: evil@example.com, "))
        #expect(body.contains("\nKey:      k To: x\n"))
        #expect(!body.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
        #expect(body.split(separator: "\n").filter { $0.hasPrefix("Acknowledge:") } == ["Acknowledge: alertbridge ack 42"])
        // The subject too, which is chat's title and Slack's notification text: it showed
        // `ICN1\r\nCc: …` (black-box round 28). A 1 KB label is cut, so the title still shows.
        #expect(PageText.subject(forged) == "[CRITICAL] ICN1 Cc: evil@example.com cdn-edge: disk [2J full Acknowledge: alertbridge ack 999 exe.txt (#42)")
        forged.incident.incident.labels["service"] = String(repeating: "x", count: 1000)
        #expect(PageText.subject(forged).hasSuffix(" \(String(repeating: "x", count: 47))…: disk [2J full Acknowledge: alertbridge ack 999 exe.txt (#42)"))
        // An operator's note of several lines is one line: in email its lines read as fields
        // of the page, and chat cards showed only the first (black-box round 28).
        var noted = Pages.page(.resolved, status: .resolved)
        noted.incident.incident.escalation.resolution = .operator
        noted.incident.incident.resolvedBy = "alice"
        noted.incident.timeline = [TimelineEntry(incidentID: 42, at: Pages.t0, kind: .resolved, by: "alice",
                                                 detail: "fixed by restart\nStatus:   resolved by CTO\r\nBcc: evil@example.com")]
        #expect(PageText.body(noted).hasPrefix("Incident #42 is resolved (by alice): fixed by restart Status:   resolved by CTO Bcc: evil@example.com\n\n"))
        // Kept open two minutes after its recovery (keep_open_for): it says when it recovered.
        var kept = Pages.page(.resolved, status: .resolved)
        kept.incident.incident.escalation.resolution = .alerts
        kept.incident.incident.resolvedBy = "cdn-monitor"
        kept.incident.incident.resolvedAt = Pages.t0 - .seconds(120)
        #expect(PageText.body(kept).hasPrefix("Incident #42 is resolved (by cdn-monitor): every alert recovered at 2026-11-23T18:03:00Z, "
                                              + "and none fired again until 2026-11-23T18:05:00Z (keep_open_for)\n\n"), "\(PageText.body(kept))")
        kept.incident.incident.resolvedAt = Pages.t0
        #expect(PageText.body(kept).hasPrefix("Incident #42 is resolved (by cdn-monitor).\n\n"), "resolved when its notice was decided")
        // `show` of one kept open across a restart: its end is the start's grace, and says why.
        var open = Pages.page().incident.incident
        open.escalation.recovery = .init(at: Pages.t0, by: "cdn-monitor", resolvesAt: Pages.t0 + .seconds(15))
        let started = Pages.t0 + .seconds(30)
        let step = try #require(EscalationPlanner.nextStep(open, policy: Pages.policy, startedAt: started))
        #expect(PageText.next(step, in: PageText.utc) == "it resolves at 2026-11-23T18:06:30Z unless an alert fires again first: all its "
                + "alerts recovered at 2026-11-23T18:05:00Z and its rule keeps it open 15s (keep_open_for), and, as alertbridge started "
                + "since, a minute after its start for alerts that could not reach it; nobody is paged meanwhile")
        var acked = Pages.page(.acknowledged, status: .acknowledged)
        acked.incident.timeline = [TimelineEntry(incidentID: 42, at: Pages.t0, kind: .acknowledged, by: "alice", detail: "on it\nStatus: fine")]
        #expect(PageText.lead(acked) == "Incident #42 was acknowledged by alice: on it Status: fine")
        // Every tier was paged and the policy starts again: not a tier that missed its page.
        #expect(PageText.subject(page(.repeated)).hasPrefix("REPEATED [CRITICAL]"))
        #expect(PageText.subject(page(.resolved, status: .resolved)).hasPrefix("RESOLVED "))
        // In a mail thread it follows RESOLVED: it must not read as the first page again.
        #expect(PageText.subject(page(.reopened)).hasPrefix("REOPENED [CRITICAL]"))
        // Not "escalated": nobody missed a page; the incident got worse.
        #expect(PageText.subject(page(.severityRaised)).hasPrefix("RAISED [CRITICAL]"))
        #expect(PageText.body(page(.severityRaised)).hasPrefix(
            "Incident #42 needs tier 2 (rnd): its severity rose to critical."))
    }

    /// A PagerDuty event has no `pop`: its `source` (the affected host, said as host), `component`, `group`
    /// and `class` say where, in the body and in the chat facts. Pages left them out.
    @Test func aPagerDutyEventsPageSaysWhichHost() {
        var event = page(.triggered)
        event.incident.incident.labels = ["source": "srv01.icn1", "component": "disk", "group": "ICN1", "class": "capacity"]
        #expect(PageText.body(event).contains("Where:    host srv01.icn1, component disk, group ICN1, class capacity\n"))
        #expect(PageText.facts(event).prefix(2).map { "\($0.name): \($0.value)" } == ["Host: srv01.icn1", "Component: disk"])
    }

    /// A silence held the incident for its maintenance window and it still fires at the
    /// end: the page says it was held since the incident opened, not "new incident".
    @Test func aPageDecidedAfterAHoldSaysSo() {
        var held = page(.triggered)
        held.delivery.createdAt = t0 + .seconds(1800)
        #expect(PageText.body(held).hasPrefix("Incident #42 needs tier 2 (rnd): not paged until now, since it opened at "
                                              + "2026-11-23T18:05:00Z (a silence, an inhibition or a missing policy held it"))
        // What held it, as the timeline said when it let go (black-box round 28).
        held.incident.timeline = [TimelineEntry(incidentID: 42, at: t0 + .seconds(1800), kind: .escalated, by: "alertbridge",
                                                detail: "incident 14 (PopDown/ICN1), which inhibited this one, is resolved, "
                                                    + "and this one is still open: paging")]
        #expect(PageText.lead(held) == "Incident #42 needs tier 2 (rnd): not paged until now, since it opened at 2026-11-23T18:05:00Z: "
                + "incident 14 (PopDown/ICN1), which inhibited this one, is resolved, and this one is still open.")
        held.incident.timeline[0].detail = "no silence holds this incident any more and it is still open: paging; due at "
            + "2026-11-23T18:34:00Z, taken 1m late: alertbridge was stopped or behind"
        #expect(PageText.lead(held).hasSuffix(": no silence holds this incident any more and it is still open."))
        #expect(PageText.body(page(.triggered)).hasPrefix("Incident #42 needs tier 2 (rnd): new incident."))
    }

    /// An origin's incident that many PoPs report names them all, five at most, its own
    /// first; a recovered PoP's alert no longer counts (black-box round 37: only the PoP of
    /// its first alert, which was down, was named).
    @Test func whereNamesThePoPsOfItsFiringAlerts() {
        var origin = page(.triggered, alertCount: 8, firingCount: 7)
        origin.incident.incident.labels = ["pop": "FRA2", "region": "emea", "service": "cdn-edge"]
        origin.incident.alerts = ["FRA2", "AMS1", "ARN1", "ATL1", "BKK1", "BKK2", "CGK2", "ZZZ9"].enumerated().map { n, pop in
            var alert = origin.incident.alerts[0]
            alert.fingerprint = "f\(n)"
            alert.labels = ["pop": pop, "region": pop == "ATL1" ? "na" : "emea", "service": "cdn-edge"]
            alert.status = pop == "ZZZ9" ? .resolved : .firing
            return alert
        }
        #expect(PageText.body(origin).contains("\nWhere:    pop FRA2, AMS1, ARN1, ATL1, BKK1 and 2 more, region emea, na, service cdn-edge\n"),
                "\(PageText.body(origin))")
        #expect(PageText.facts(origin).first.map { "\($0.name): \($0.value)" } == "PoP: FRA2, AMS1, ARN1, ATL1, BKK1 and 2 more")
    }

    @Test func bodySaysWhatWhereHowBadSinceWhenAndHowToAck() {
        let body = PageText.body(page(.escalated))
        #expect(body.contains("needs tier 2 (rnd): the previous tier did not acknowledge in time"))
        #expect(body.contains("Where:    pop ICN1, region apac, service cdn-edge"))
        #expect(body.contains("Measured: 1.4 (threshold 0.8)"))
        #expect(body.contains("Since:    2026-11-23T18:05:00Z (2 alerts (3 copies received), 2 firing)"))
        #expect(body.contains("Runbook:  https://wiki.example.com/runbooks/edge-latency"))
        #expect(body.hasSuffix("Acknowledge: alertbridge ack 42"))
        #expect(!PageText.body(page(.resolved, status: .resolved)).contains("alertbridge ack"))
        #expect(PageText.body(page(.acknowledged, status: .acknowledged)).hasPrefix("Incident #42 was acknowledged by alice."))
        #expect(!PageText.body(page(.acknowledged, status: .acknowledged)).contains("alertbridge ack"))
    }

    /// The acknowledgement notice carries the note: what whoever is on it knows so far.
    @Test func anAcknowledgementNoticeSaysItsNote() throws {
        var acked = page(.acknowledged, status: .acknowledged)
        acked.incident.timeline = [TimelineEntry(incidentID: 42, at: t0, kind: .acknowledged, by: "alice", detail: "ICN1 origin is slow")]
        #expect(PageText.body(acked).hasPrefix("Incident #42 was acknowledged by alice: ICN1 origin is slow\n"))
        // A take-over (tier 2, called in by hand, heard it) says from whom apart from the note.
        var held = acked.incident.incident
        held.acknowledgedBy = "alice"
        for (note, lead) in [("rnd has it", "Incident #42 was acknowledged by bob (took it over from alice): rnd has it\n"),
                             (nil, "Incident #42 was acknowledged by bob (took it over from alice).\n")] {
            let (taken, entry) = try IncidentAction.acknowledge(by: "bob", note: note, takeOver: true).apply(to: held, now: t0 + .seconds(60))
            acked.incident.incident = taken
            acked.incident.timeline = [entry]
            #expect(PageText.body(acked).hasPrefix(lead), "\(PageText.body(acked))")
        }
    }

    /// `auto_resolve_after` is no recovery: the notice says the alerts only went quiet, not
    /// that they stopped firing, and a recovery still reads as one.
    @Test func anAutoResolveNoticeDoesNotReadAsARecovery() {
        var closed = page(.resolved, status: .resolved, alertCount: 1, firingCount: 0)
        closed.incident.incident.resolvedBy = "alertbridge"
        closed.incident.incident.escalation.resolution = .autoResolve
        closed.incident.timeline = [TimelineEntry(incidentID: 42, at: t0, kind: .resolved, by: "alertbridge",
                                                  detail: "no new alert for 15m (auto_resolve_after)")]
        #expect(PageText.body(closed).hasPrefix(
            "Incident #42 was closed by alertbridge, not by a recovery: no new alert for 15m (auto_resolve_after).\n"))
        #expect(PageText.body(closed).contains("(1 alert, no recovery received)"))
        #expect(PageText.facts(closed).last.map { "\($0.name): \($0.value)" } == "Alerts: 1 alert, no recovery received")
        // Nor its subject and chat title, all a sleepy reader sees (black-box round 28).
        #expect(PageText.subject(closed) == "CLOSED, NO RECOVERY [CRITICAL] ICN1 cdn-edge: p95 latency 1.4s at ICN1 (threshold 800ms) (#42)")
        #expect(PageText.headline(closed).hasPrefix("⚪ CLOSED, NO RECOVERY "))
        #expect(TeamsMessage.payload(closed)["attachments"]?[0]?["content"]?["body"]?[0]?["color"] == "Default")
        // A heartbeat's recovery is by "alertbridge" too, and is a recovery.
        closed.incident.incident.escalation.resolution = .alerts
        closed.incident.timeline = [TimelineEntry(incidentID: 42, at: t0, kind: .resolved, by: "alertbridge", detail: "all alerts resolved")]
        #expect(PageText.body(closed).hasPrefix("Incident #42 is resolved (by alertbridge)."))
        #expect(PageText.body(closed).contains("(1 alert, no longer firing)"))
        // An operator's resolve note says what fixed it, as an acknowledgement's says who is on it.
        closed.incident.incident.escalation.resolution = .operator
        closed.incident.incident.resolvedBy = "frank"
        closed.incident.timeline = [TimelineEntry(incidentID: 42, at: t0, kind: .resolved, by: "frank", detail: "origin TLS renewed")]
        #expect(PageText.body(closed).hasPrefix("Incident #42 is resolved (by frank): origin TLS renewed\n"))
        // Whatever its alerts did: "0 firing" read as a recovery while its sender still fired.
        #expect(PageText.body(closed).contains("(1 alert, resolved by hand)"))
        #expect(PageText.subject(closed).hasPrefix("RESOLVED [CRITICAL]") && PageText.headline(closed).hasPrefix("✅"))
        // Delivered after the incident opened again (a webhook gets it): it says so, and when.
        var late = page(.resolved, status: .triggered)
        late.incident.incident.escalation.episodeStart = 2
        late.incident.timeline = [TimelineEntry(incidentID: 42, at: t0, kind: .resolved, by: "frank", detail: "origin TLS renewed")]
        #expect(PageText.body(late).hasPrefix("Incident #42 was resolved (by frank): origin TLS renewed at 2026-11-23T18:05:00Z; "
                                              + "it has opened again since (now triggered, tier 2).\n"), "\(PageText.body(late))")
    }

    /// Since when, as the monitor saw it: Alertmanager's `startsAt` is minutes before the
    /// alert reached alertbridge; one ahead of the page (a sender's clock) is not believed.
    @Test func sinceIsWhenTheMonitorSawItStart() {
        var p = page(.triggered)
        #expect(PageText.body(p).contains("Since:    2026-11-23T18:05:00Z"))
        p.incident.alerts[0].startsAt = t0 - .seconds(381)
        #expect(PageText.body(p).contains("Since:    2026-11-23T17:58:39Z (2 alerts (3 copies received), 2 firing)"))
        #expect(PageText.facts(p).contains { $0.name == "Since" && $0.value == "2026-11-23T17:58:39Z" })
        p.incident.alerts[0].startsAt = t0 + .seconds(3600)
        #expect(PageText.body(p).contains("Since:    2026-11-23T18:05:00Z"))
        // A resolve notice, nothing firing: the episode's alerts' start, as the pages before it
        // in its thread said, not when the incident opened (black-box round 28).
        var resolved = page(.resolved, status: .resolved, firingCount: 0)
        resolved.delivery.createdAt = t0 + .seconds(600)
        resolved.incident.alerts[0].status = .resolved
        resolved.incident.alerts[0].startsAt = t0 - .seconds(381)
        #expect(resolved.incident.alerts[0].lastSeenAt >= resolved.incident.incident.createdAt)
        #expect(PageText.body(resolved).contains("Since:    2026-11-23T17:58:39Z"))
        // Of a reopened incident, the alerts of the episode it reopened in.
        resolved.incident.timeline = [TimelineEntry(incidentID: 42, at: t0 + .seconds(300), kind: .reopened)]
        #expect(PageText.body(resolved).contains("Since:    2026-11-23T18:05:00Z"))
        var again = resolved.incident.alerts[0]
        again.startsAt = t0 + .seconds(290)
        again.lastSeenAt = t0 + .seconds(310)
        resolved.incident.alerts.append(again)
        #expect(PageText.body(resolved).contains("Since:    2026-11-23T18:09:50Z"))
    }

    /// With `time_zone:` set, a page gives its times in that zone first, and in UTC beside
    /// them: the NOC in Seoul reads its own clock at 3 a.m.
    @Test func timesAreInTheConfiguredZoneBesideUTC() {
        var p = page(.triggered)
        p.timeZone = TimeZone(identifier: "Asia/Seoul")!
        #expect(PageText.body(p).contains("Since:    2026-11-24 03:05:00 Asia/Seoul (2026-11-23T18:05:00Z) (2 alerts (3 copies received), 2 firing)"))
        #expect(PageText.facts(p).contains { $0.name == "Since" && $0.value == "2026-11-24 03:05:00 Asia/Seoul (2026-11-23T18:05:00Z)" })
        p.delivery.createdAt = t0 + .seconds(1800)
        #expect(PageText.body(p).contains("since it opened at 2026-11-24 03:05:00 Asia/Seoul (2026-11-23T18:05:00Z) "))
        // Daylight saving is the zone's: New York is UTC-5 in November.
        p.timeZone = TimeZone(identifier: "America/New_York")!
        #expect(PageText.body(p).contains("Since:    2026-11-23 13:05:00 America/New_York (2026-11-23T18:05:00Z)"))
        // UTC by another name is UTC.
        p.timeZone = TimeZone(identifier: "Etc/UTC")!
        #expect(PageText.body(p).contains("Since:    2026-11-23T18:05:00Z (2 alerts (3 copies received), 2 firing)"))
    }

    /// The first page of an incident: one alert arrived and nothing merged into it yet.
    @Test func aNewIncidentsPageCountsOneFiringAlert() {
        let first = page(.triggered, alertCount: 1, firingCount: 1)
        #expect(PageText.body(first).contains("Since:    2026-11-23T18:05:00Z (1 alert, firing)"))
        #expect(PageText.facts(first).last.map { "\($0.name): \($0.value)" } == "Alerts: 1 alert, firing")
        #expect(!PageText.body(first).contains("merged"))
        let recovered = page(.resolved, status: .resolved, alertCount: 1, firingCount: 0)
        #expect(PageText.body(recovered).contains("(1 alert, no longer firing)"))
        #expect(PageText.body(page(.resolved, status: .resolved, alertCount: 3, firingCount: 0)).contains("(2 alerts (3 copies received), 0 firing)"))
    }

    /// An incident a recovery could not close (a webhook cut by `max_alerts`) goes on
    /// escalating with nothing firing: its pages say it is no mistake, and where to read why.
    @Test func aPageOfAnOpenIncidentWithNothingFiringSaysWhereToReadWhy() {
        let held = page(.escalated, alertCount: 3, firingCount: 0)
        #expect(PageText.body(held).contains("(2 alerts (3 copies received), none firing, yet not resolved (its timeline says why))"))
        #expect(PageText.facts(page(.repeated, alertCount: 1, firingCount: 0)).last.map { "\($0.name): \($0.value)" }
                == "Alerts: 1 alert, none firing, yet not resolved (its timeline says why)")
        #expect(PageText.facts(page(.escalated)).last.map { "\($0.name): \($0.value)" } == "Alerts: 2 alerts (3 copies received), 2 firing")
    }

    /// The person paged reads how long they have and who is called next, by the policy the
    /// incident runs (its snapshot), in the NOC's zone; nothing once the page is out of date.
    @Test func aPageSaysWhatHappensNextAndWhen() throws {
        let policy = Pages.policy
        var p = page(.triggered)
        p.incident.incident = EscalationPlanner.start(p.incident.incident, policy: policy, now: t0).incident
        p.incident.policy = policy
        (p.delivery.step, p.delivery.tier, p.delivery.tierName) = (1, 1, "technical-support")
        let next = "tier 2 (rnd) is paged at 2026-11-23T18:20:00Z unless someone acknowledges first (escalate_after 15m)"
        #expect(PageText.body(p).contains("Status:   triggered, tier 1, policy cdn-performance\nNext:     \(next)\n"))
        #expect(PageText.facts(p).contains { $0.name == "Next" && $0.value == next })
        p.timeZone = TimeZone(identifier: "Asia/Seoul")!
        #expect(PageText.body(p).contains("Next:     tier 2 (rnd) is paged at 2026-11-24 03:20:00 Asia/Seoul (2026-11-23T18:20:00Z) "))
        // Sent by an alertbridge that started after tier 2's time: a minute after its start.
        var restarted = p
        restarted.startedAt = t0 + .seconds(17 * 60)
        #expect(PageText.body(restarted).contains("Next:     tier 2 (rnd) is paged at 2026-11-24 03:23:00 Asia/Seoul (2026-11-23T18:23:00Z) "))

        // Tier 2's page: it is the last tier, and the policy does not repeat.
        p.timeZone = PageText.utc
        let first = p
        let escalated = EscalationPlanner.advance(p.incident.incident, policy: policy, now: t0 + .seconds(900)).incident
        var second = p
        second.incident.incident = escalated
        second.delivery.step = 2
        #expect(PageText.body(second).contains("Next:     this is the last tier: if nobody acknowledges by 2026-11-23T18:50:00Z, "
                                               + "escalation ends and nobody else is paged (escalate_after 30m)\n"))
        #expect(!PageText.body(second).contains("Sent late"))
        // Tier 2's page held up by an outage until its time ran out and escalation ended
        // (no step is taken then): it is late, not current (black-box round 25).
        var outlived = second
        outlived.incident.incident = EscalationPlanner.advance(escalated, policy: policy, now: t0 + .seconds(2700)).incident
        #expect(outlived.incident.incident.escalation.ended && outlived.incident.incident.escalation.step == 2)
        #expect(PageText.body(outlived).contains("\nSent late: decided at 2026-11-23T18:05:00Z; the incident has moved on since "
                                                 + "(now tier 2, and its escalation has ended).\n"))
        // The first page, sent late (an outage) after tier 2 was paged, says nothing of a next step.
        p.incident.incident = escalated
        #expect(!PageText.body(p).contains("Next:"))
        #expect(PageText.body(p).hasPrefix("Incident #42 needs tier 1 (technical-support): new incident.\n"
                                           + "Sent late: decided at 2026-11-23T18:05:00Z; the incident has moved on since (now tier 2).\n"))
        #expect(!PageText.facts(p).contains { $0.name == "Next" })
        // Nor does a page handed on after an acknowledgement (a webhook hears every event):
        // "needs tier 1" beside "tier 1 is paged again" would contradict itself.
        var handedOn = first
        (handedOn.incident.incident, _) = try IncidentAction.acknowledge(by: "alice", note: nil)
            .apply(to: first.incident.incident, now: t0 + .seconds(60))
        #expect(!PageText.body(handedOn).contains("Next:"))
        #expect(PageText.body(handedOn).contains("\nSent late: decided at 2026-11-23T18:05:00Z; the incident has moved on since "
                                                 + "(now acknowledged by alice).\n"))
        #expect(!PageText.body(first).contains("Sent late"), "a current page is not late")
        // Tier 1 paged again since (its acknowledgement timed out): not "now tier 1", as if nothing moved.
        var repaged = first
        repaged.incident.incident = EscalationPlanner.advance(handedOn.incident.incident, policy: policy, now: t0 + .seconds(1860)).incident
        #expect(repaged.incident.incident.escalation.step == 2 && repaged.incident.incident.tier == 1)
        #expect(PageText.body(repaged).contains("the incident has moved on since (now tier 1, paged again since).\n"))
        #expect(PageText.facts(handedOn).contains { $0.name == "Sent late" && $0.value.hasSuffix("(now acknowledged by alice)") })
        // `alertbridge escalate` after the acknowledgement: tier 2 is called in on purpose,
        // and its page is not history.
        var calledIn = handedOn
        calledIn.incident.incident = try EscalationPlanner.escalateNow(handedOn.incident.incident, policy: policy,
                                                                        now: t0 + .seconds(120), by: "alice").incident
        (calledIn.delivery.step, calledIn.delivery.tier, calledIn.delivery.createdAt) = (2, 2, t0 + .seconds(120))
        #expect(calledIn.incident.incident.status == .acknowledged)
        #expect(!PageText.body(calledIn).contains("Sent late"))
        #expect(!PageText.facts(calledIn).contains { $0.name == "Sent late" })

        // A window sets the time: its hours are named, or the arithmetic does not add up.
        var windowed = first
        let peak = EscalationPolicy.Window(name: "peak", startMinute: 18 * 60 + 10, endMinute: 23 * 60, timeZone: "UTC",
                                           escalateAfter: .seconds(300))
        windowed.incident.policy?.windows = [peak]
        #expect(PageText.body(windowed).contains("Next:     tier 2 (rnd) is paged at 2026-11-23T18:10:00Z unless someone "
                                                 + "acknowledges first (escalate_after 5m, window peak 18:10-23:00 UTC)\n"))

        // The acknowledge notice tells who holds it how long until tier 1 is paged again.
        var ack = first
        ack.delivery.event = .acknowledged
        (ack.incident.incident, _) = try IncidentAction.acknowledge(by: "alice", note: nil).apply(to: first.incident.incident, now: t0 + .seconds(60))
        #expect(PageText.body(ack).contains("Next:     tier 1 (technical-support) is paged again at 2026-11-23T18:36:00Z "
                                            + "unless it is resolved first (ack_timeout 30m)\n"))
        // With no ack_timeout, the acknowledgement ends the paging: the rest of the rota is told
        // nobody else will be woken, and when the incident closes by itself, if it does.
        let held = ack.incident.policy
        ack.incident.policy?.ackTimeout = nil
        #expect(PageText.body(ack).contains("\nNext:     nobody is paged while it stays acknowledged (the policy has no ack_timeout); "
                                            + "it stays open until its alerts recover or someone resolves it\n"))
        ack.incident.policy?.autoResolveAfter = .seconds(4 * 3600)
        #expect(PageText.body(ack).contains("someone resolves it, or no alert arrives for 4h (auto_resolve_after; "
                                            + "the last came at 2026-11-23T18:05:00Z)\n"), "\(PageText.body(ack))")
        ack.incident.policy = held
        // Without the incident's policy (an earlier build's row), no guess.
        ack.incident.policy = nil
        #expect(!PageText.body(ack).contains("Next:"))
        // Held up past its ack_timeout (an outage), the notice still says who acknowledged:
        // the incident's own name for it is cleared by then, its timeline keeps it.
        ack.incident.incident.acknowledgedBy = nil
        ack.incident.incident.status = .triggered
        ack.incident.timeline = [TimelineEntry(incidentID: 42, at: t0 + .seconds(60), kind: .acknowledged, by: "bob", detail: "on it")]
        #expect(PageText.body(ack).hasPrefix("Incident #42 was acknowledged by bob: on it\n"))
    }
}

/// Log lines as `LEVEL message key=value…` (keys in order, incident left out), for a test to read.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var all: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    var lines: [String] { lock.withLock { all } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).filter { $0.key != "incident" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lock.withLock { all.append(([event.level.rawValue, event.message.description] + fields).joined(separator: " ")) }
    }
}
