import AlertBridgeCore
import AlertBridgeStore
import Synchronization

/// Passes every call through to the wrapped store and, for each escalation pass,
/// remembers when its transaction had committed, keyed by the pass's `now` (which
/// every page it wrote carries as its creation time).
final class CommitTimingStore: IncidentStore {
    let inner: any IncidentStore
    let clock: any WallClock
    private let commits = Mutex<[Int64: Int64]>([:])

    init(_ inner: any IncidentStore, clock: any WallClock) {
        self.inner = inner
        self.clock = clock
    }

    /// `now` of each escalation pass → the time it returned, committed (milliseconds).
    func commitTimes() -> [Int64: Int64] { commits.withLock { $0 } }

    func advanceEscalations(now: Timestamp, limit: Int, context: EscalationContext) async throws -> EscalationReport {
        let report = try await inner.advanceEscalations(now: now, limit: limit, context: context)
        let end = clock.now().milliseconds
        if report.advanced > 0 {
            commits.withLock { $0[now.milliseconds] = max($0[now.milliseconds] ?? end, end) }
        }
        return report
    }

    func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome] {
        try await inner.ingest(batch, now: now)
    }

    func incidents(_ query: IncidentQuery) async throws -> [Incident] { try await inner.incidents(query) }
    func incidentDetails(ids: [Int64]) async throws -> [Int64: IncidentDetail] { try await inner.incidentDetails(ids: ids) }
    func openIncidents(rules: [String]) async throws -> [Incident] { try await inner.openIncidents(rules: rules) }
    func openAlerts(fingerprints: [String]) async throws -> [HeldAlert] { try await inner.openAlerts(fingerprints: fingerprints) }

    func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident {
        try await inner.act(action, on: id, now: now)
    }

    func escalate(id: Int64, by: String, note: String?, now: Timestamp, context: EscalationContext) async throws -> Incident {
        try await inner.escalate(id: id, by: by, note: note, now: now, context: context)
    }

    func nextEscalationDue() async throws -> Timestamp? { try await inner.nextEscalationDue() }
    func retime(_ id: Int64, from old: Timestamp?, to new: Timestamp?) async throws -> Bool {
        try await inner.retime(id, from: old, to: new)
    }
    func deleteExpired(before cutoff: Timestamp, limit: Int) async throws -> RetentionReport {
        try await inner.deleteExpired(before: cutoff, limit: limit)
    }

    func claimDeliveries(now: Timestamp, lease: Duration, limit: Int, quota: ClaimQuota) async throws -> [Delivery] {
        try await inner.claimDeliveries(now: now, lease: lease, limit: limit, quota: quota)
    }

    func recordDeliveries(_ outcomes: [DeliveryRecord], now: Timestamp) async throws -> Int {
        try await inner.recordDeliveries(outcomes, now: now)
    }

    func nextDeliveryDue(excluding: [String]) async throws -> Timestamp? { try await inner.nextDeliveryDue(excluding: excluding) }
    func outboxBacklog() async throws -> OutboxBacklog { try await inner.outboxBacklog() }
    func policiesInUse() async throws -> [PolicyInUse] { try await inner.policiesInUse() }
    func rekey(_ id: Int64, to key: String, because why: String, now: Timestamp) async throws -> Bool {
        try await inner.rekey(id, to: key, because: why, now: now)
    }
    func undeliveredPages(of incidents: [Incident]) async throws -> [Int64: UndeliveredPages] { try await inner.undeliveredPages(of: incidents) }
    func distinctAlerts(of ids: [Int64]) async throws -> [Int64: Int] { try await inner.distinctAlerts(of: ids) }
    func createSilence(_ silence: Silence) async throws -> Silence { try await inner.createSilence(silence) }
    func silences(_ query: SilenceQuery) async throws -> [Silence] { try await inner.silences(query) }
    func expireSilence(id: Int64, by: String, now: Timestamp) async throws -> Silence {
        try await inner.expireSilence(id: id, by: by, now: now)
    }
    func extendSilence(id: Int64, to end: Silence.End, by: String, comment: String?, now: Timestamp) async throws -> Silence {
        try await inner.extendSilence(id: id, to: end, by: by, comment: comment, now: now)
    }
    func heartbeats() async throws -> [HeartbeatState] { try await inner.heartbeats() }
    func pingHeartbeat(name: String, at now: Timestamp) async throws -> HeartbeatState? {
        try await inner.pingHeartbeat(name: name, at: now)
    }
    func beginHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await inner.beginHeartbeatMisses(states, at: now)
    }
    func endHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await inner.endHeartbeatMisses(states, at: now)
    }
    func clearHeartbeatMiss(_ state: HeartbeatState) async throws { try await inner.clearHeartbeatMiss(state) }
    func ping() async throws { try await inner.ping() }
    func close() async throws { try await inner.close() }
}
