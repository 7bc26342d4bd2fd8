import AlertBridgeCore
import AlertBridgeStore
import CoreMetrics
import Synchronization

/// The dispatcher's metrics. Counters carry the connector's name (`connector` label), so
/// an outage shows which receiver it is. The backlog gauges show an outage while it lasts:
/// a page that keeps failing is given up only at `delivery.max_age`, so until then the
/// failure counter does not move.
final class DeliveryMetrics: Sendable {
    struct Counters: Sendable {
        let delivered, failed, retried, refusedRecipients, cancelled: Counter

        init(connector: String, factory: any MetricsFactory) {
            let label = [("connector", connector)]
            delivered = Counter(label: "alertbridge_pages_delivered_total", dimensions: label, factory: factory)
            failed = Counter(label: "alertbridge_pages_failed_total", dimensions: label, factory: factory)
            retried = Counter(label: "alertbridge_page_retries_total", dimensions: label, factory: factory)
            refusedRecipients = Counter(label: "alertbridge_page_recipients_refused_total", dimensions: label, factory: factory)
            cancelled = Counter(label: "alertbridge_pages_cancelled_total", dimensions: label, factory: factory)
        }
    }

    private let configured: [String: Counters]
    private let factory: any MetricsFactory
    /// Pages and notices not delivered yet.
    let pending: Gauge
    /// Seconds since the oldest of them was decided; 0 when none is pending.
    let oldestPendingAge: Gauge
    /// Writes the dispatcher's passes could not make (`alertbridge_store_failures_total`,
    /// with ingest's and the escalation engine's).
    let storeFailures: Counter
    private let lastBacklog = Mutex(OutboxBacklog(pending: 0, oldest: nil))

    init(connectors: some Sequence<String>, factory: any MetricsFactory) {
        configured = Dictionary(uniqueKeysWithValues: connectors.map { ($0, Counters(connector: $0, factory: factory)) })
        self.factory = factory
        pending = Gauge(label: "alertbridge_pages_pending", factory: factory)
        oldestPendingAge = Gauge(label: "alertbridge_oldest_pending_page_age_seconds", factory: factory)
        storeFailures = Counter(label: "alertbridge_store_failures_total", factory: factory)
    }

    /// A policy may name a connector the server file does not configure: its failures
    /// are counted under that name too.
    func of(_ connector: String) -> Counters {
        configured[connector] ?? Counters(connector: connector, factory: factory)
    }

    func record(_ backlog: OutboxBacklog, now: Timestamp) {
        lastBacklog.withLock { $0 = backlog }
        pending.record(backlog.pending)
        oldestPendingAge.record(backlog.oldest.map { max(0, Double(now.milliseconds - $0.milliseconds) / 1000) } ?? 0)
    }

    /// While the store cannot be read: the last count, its oldest page aged to `now`, so an
    /// alert on the age fires during a database outage, when pages are stuck for sure.
    func recordLastBacklog(now: Timestamp) {
        record(lastBacklog.withLock { $0 }, now: now)
    }
}
