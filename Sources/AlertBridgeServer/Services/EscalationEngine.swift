import AlertBridgeCore
import AlertBridgeStore
import Logging
import ServiceLifecycle

/// Fires escalation timers: sleeps until the earliest due time in the store, or until
/// a write signals an earlier one, then advances every due incident in a transaction.
///
/// There is no polling cycle: a timer fires as soon as the sleep ends (milliseconds
/// late, not seconds). Due times live only in the store, so after a restart the
/// first pass finds whatever fell due while the service was down and fires it once.
public struct EscalationEngine: Service {
    let store: any IncidentStore
    let clock: any WallClock
    let wakeup: Wakeup
    let deliveries: Wakeup
    let metrics: ServerMetrics
    let logger: Logger
    /// The longest sleep when nothing is due, so a due time written by something that
    /// cannot signal this process (another instance) is still picked up.
    let idle: Duration
    /// When this alertbridge started, for the graces after a start
    /// (``EscalationPlanner/autoResolveGrace``, ``EscalationPlanner/restartGrace``), and the
    /// rules, for what inhibits an incident already paging, and the policies, which one
    /// nobody was paged for yet runs as loaded now.
    let context: EscalationContext
    static let batch = 500

    public init(store: any IncidentStore, clock: any WallClock, wakeup: Wakeup, deliveries: Wakeup,
                metrics: ServerMetrics, logger: Logger, context: EscalationContext, idle: Duration = .seconds(5)) {
        self.store = store
        self.clock = clock
        self.wakeup = wakeup
        self.deliveries = deliveries
        self.metrics = metrics
        self.logger = logger
        self.idle = idle
        self.context = context
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = PassFailures("escalation pass")
            while !Task.isCancelled {
                var delay = idle
                do {
                    let report = try await tick()
                    delay = Wakeup.delay(afterTaking: report.advanced, nextDue: try await store.nextEscalationDue(),
                                         now: clock.now(), idle: idle)
                    failures.succeeded(logger: logger)
                } catch {
                    metrics.storeFailures.increment()
                    await failures.failedThenWait(error, logger: logger)
                    delay = .zero
                }
                if delay > .zero { await wakeup.wait(timeout: delay) }
            }
        }
    }

    /// Advances everything due now. Tests call this directly with a manual clock.
    @discardableResult
    public func tick() async throws -> EscalationReport {
        var total = EscalationReport()
        while true {
            let report = try await store.advanceEscalations(now: clock.now(), limit: Self.batch, context: context)
            total.advanced += report.advanced
            total.pages += report.pages
            total.slaBreaches += report.slaBreaches
            total.inhibitWaits += report.inhibitWaits
            if report.advanced < Self.batch { break }
        }
        if total.pages > 0 { metrics.escalationPages.increment(by: total.pages) }
        // An advance may have written pages, or resolve notices (auto_resolve_after).
        if total.advanced > 0 { deliveries.signal() }
        for kind in total.slaBreaches { metrics.slaBreaches[kind]?.increment() }
        for outcome in total.inhibitWaits { metrics.inhibitWaits[outcome]?.increment() }
        return total
    }
}
