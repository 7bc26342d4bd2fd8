import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeStore
import Foundation
import Logging
import Metrics
import Synchronization

/// Pages built by hand, for the renderings' pure tests.
enum Pages {
    static let t0 = Timestamp(seconds: 1_795_457_100)  // 2026-11-23T18:05:00Z, a Monday

    static func page(_ event: EscalationPlanner.PageReason = .triggered, status: IncidentStatus = .triggered,
                     id: Int64 = 42, step: Int = 1, tier: Int = 1, deliveryID: Int64 = 7,
                     title: String = "p95 latency 1.4s at ICN1 (threshold 800ms)", severity: Severity = .critical,
                     recipients: [String] = ["noc@example.com"], connector: String = "mail") -> PageMessage {
        let incident = Incident(id: id, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", status: status, title: title,
                                severity: severity, labels: ["pop": "ICN1", "region": "apac", "service": "cdn-edge"],
                                annotations: ["runbook": "https://wiki.example.com/runbooks/edge-latency"],
                                rule: "edge", policy: "cdn-performance", tier: tier, alertCount: 3, firingCount: 2,
                                createdAt: t0, lastAlertAt: t0, acknowledgedBy: status == .acknowledged ? "alice" : nil)
        let alert = StoredAlert(fingerprint: "f", status: .firing, severity: severity, summary: title, labels: [:],
                                annotations: [:], source: "cdn-monitor", value: 1.4, threshold: 0.8, firstSeenAt: t0,
                                lastSeenAt: t0, receivedCount: 3)
        let delivery = Delivery(id: deliveryID, incidentID: id, step: step, event: event, tier: tier,
                                tierName: tier == 1 ? "technical-support" : "rnd", connector: connector,
                                recipients: recipients, attempts: 1, createdAt: t0)
        return PageMessage(delivery: delivery, incident: IncidentDetail(incident: incident, alerts: [alert], timeline: []))
    }

    /// Two tiers, 15 and 30 minutes, acknowledgements lapsing after 30 minutes: what a page's
    /// `Next:` line is computed from.
    static let policy = EscalationPolicy(name: "cdn-performance", tiers: [
        .init(name: "technical-support", notify: [.init(connector: "mail")], escalateAfter: .seconds(900)),
        .init(name: "rnd", notify: [.init(connector: "chat")], escalateAfter: .seconds(1800)),
    ], ackTimeout: .seconds(1800))

    static let korean = "ICN1 엣지 지연 급증: p95 1.4초 (임계값 800ms) — 서울 리전 전체 영향"
}

/// A temporary SQLite store holding incidents paged through one policy.
struct TestStore {
    let store: any IncidentStore
    let policy: EscalationPolicy

    /// One tier notifying `targets`.
    static func with(targets: [EscalationPolicy.Target], _ body: (TestStore) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
        let policy = EscalationPolicy(name: "p", tiers: [.init(name: "noc", notify: targets, escalateAfter: .seconds(900))])
        do { try await body(TestStore(store: store, policy: policy)) } catch { try await store.close(); throw error }
        try await store.close()
    }

    /// A new incident (a fresh dedup key), paged at once: one outbox row per target.
    @discardableResult
    func newIncident(_ key: String, at now: Timestamp = Pages.t0, title: String = "p95 latency 1.4s at ICN1") async throws -> Int64 {
        let alert = Alert(source: "t", status: .firing, severity: .critical, summary: title,
                          labels: ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "key": key], value: 1.4, threshold: 0.8)
        let routed = RoutedAlert(alert: alert, rule: "r", dedupKey: key, policy: policy.name, escalationPolicy: policy)
        guard let id = try await store.ingest([routed], now: now)[0].incidentID else { throw TestFailure("no incident for \(key)") }
        return id
    }

    func dispatcher(_ connectors: [String: any Connector], clock: any WallClock, backoff: Backoff = Backoff(),
                    wakeup: Wakeup = Wakeup(), idle: Duration = .seconds(5),
                    metrics: any MetricsFactory = NOOPMetricsHandler.instance, maxInFlight: Int = 64,
                    threadPatience: Duration = .seconds(2)) -> Dispatcher {
        Dispatcher(store: store, connectors: connectors, clock: clock, wakeup: wakeup, backoff: backoff,
                   logger: Logger(label: "test"), metrics: metrics, idle: idle, maxInFlight: maxInFlight,
                   threadPatience: threadPatience, random: { 1.0 })
    }

    func failures(_ id: Int64) async throws -> [String] {
        try await store.incident(id: id)?.timeline.filter { $0.kind == .deliveryFailed }.compactMap(\.detail) ?? []
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// `ALERTBRIDGE_REQUIRE_ALL=1` (CI): a missing external peer fails instead of skipping.
let requireAll = ProcessInfo.processInfo.environment["ALERTBRIDGE_REQUIRE_ALL"] == "1"

/// An ordered log shared by a test's actors (receiver, connectors).
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])
    func append(_ event: String) { events.withLock { $0.append(event) } }
    var all: [String] { events.withLock { $0 } }
    func index(of event: String) -> Int? { all.firstIndex(of: event) }
}

/// Holds whoever waits on it until the test opens it, then lets everyone through: a
/// receiver that "hangs" for exactly as long as the test needs, so no test depends on a
/// hang outlasting what a loaded machine does meanwhile.
final class Gate: Sendable {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let passes = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if passes { continuation.resume() }
        }
    }
}
