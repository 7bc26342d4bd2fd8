import AlertBridgeCore
import CoreMetrics
import Prometheus

/// The counters alertbridge exports on `/metrics`.
///
/// Each server owns its registry (no global bootstrap), so tests can run many
/// servers in one process and read exactly their own numbers. Counters are created
/// once here: the ingest path only increments.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let received: [String: CoreMetrics.Counter]
    let outcomes: [IngestOutcome.Kind: CoreMetrics.Counter]
    /// Ingest requests refused with 400 or 413; counted only by ``IngestRefusalCounter``.
    let rejected: CoreMetrics.Counter
    let storeFailures: CoreMetrics.Counter
    let commitSeconds: CoreMetrics.Timer
    let escalationPages: CoreMetrics.Counter
    let slaBreaches: [String: CoreMetrics.Counter]
    /// Inhibit waits that ended, by how: whether the wait keeps symptoms of a dark PoP quiet.
    let inhibitWaits: [EscalationPlanner.WaitOutcome: CoreMetrics.Counter]
    /// What `retention:` deleted, `incidents` and `silences`.
    let retentionDeleted: [String: CoreMetrics.Counter]
    /// For the services of other modules (the dispatcher) to register their own metrics.
    public let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        received = Dictionary(uniqueKeysWithValues: ["native", "alertmanager", "pagerduty", "heartbeat"].map {
            ($0, CoreMetrics.Counter(label: "alertbridge_alerts_received_total", dimensions: [("format", $0)], factory: factory))
        })
        outcomes = Dictionary(uniqueKeysWithValues: [IngestOutcome.Kind.created, .merged, .resolved, .reopened, .suppressed].map {
            ($0, CoreMetrics.Counter(label: "alertbridge_alert_outcomes_total", dimensions: [("outcome", $0.rawValue)], factory: factory))
        })
        rejected = CoreMetrics.Counter(label: "alertbridge_ingest_rejected_total", factory: factory)
        storeFailures = CoreMetrics.Counter(label: "alertbridge_store_failures_total", factory: factory)
        escalationPages = CoreMetrics.Counter(label: "alertbridge_escalation_pages_total", factory: factory)
        slaBreaches = Dictionary(uniqueKeysWithValues: ["acknowledge", "resolve"].map {
            ($0, CoreMetrics.Counter(label: "alertbridge_sla_breaches_total", dimensions: [("sla", $0)], factory: factory))
        })
        inhibitWaits = Dictionary(uniqueKeysWithValues: EscalationPlanner.WaitOutcome.allCases.map {
            ($0, CoreMetrics.Counter(label: "alertbridge_inhibit_waits_total", dimensions: [("outcome", $0.rawValue)], factory: factory))
        })
        retentionDeleted = Dictionary(uniqueKeysWithValues: ["incidents", "silences"].map {
            ($0, CoreMetrics.Counter(label: "alertbridge_retention_deleted_total", dimensions: [("kind", $0)], factory: factory))
        })
        self.factory = factory
        commitSeconds = CoreMetrics.Timer(label: "alertbridge_ingest_commit_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
