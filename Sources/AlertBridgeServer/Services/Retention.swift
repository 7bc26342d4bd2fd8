import AlertBridgeCore
import AlertBridgeStore
import Logging
import ServiceLifecycle

/// `retention:`: deletes incidents resolved longer ago than that, with their alerts,
/// timeline and pages, and silences that ended as long ago, once at start and then every
/// hour. Without it the store only grows: every incident, alert, timeline entry and page
/// is kept for good.
///
/// It deletes in batches (``batch`` incidents per transaction), so an ingest or an
/// acknowledgement waits for one small transaction at most, not for the whole backlog of
/// a first run on a year-old store.
public struct Retention: Service {
    let store: any IncidentStore
    let clock: any WallClock
    /// How long a resolved incident or an ended silence is kept.
    let age: Duration
    let metrics: ServerMetrics
    let logger: Logger
    static let batch = 1000
    static let interval: Duration = .seconds(3600)

    public init(store: any IncidentStore, clock: any WallClock, age: Duration, metrics: ServerMetrics, logger: Logger) {
        self.store = store
        self.clock = clock
        self.age = age
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        // Said at start, so that a start with nothing to delete still shows it is on.
        logger.info("retention: incidents resolved and silences ended over \(DurationText.format(age)) ago are deleted, at start and hourly")
        await cancelWhenGracefulShutdown {
            var failures = PassFailures("retention pass")
            while !Task.isCancelled {
                do {
                    try await tick()
                    failures.succeeded(logger: logger)
                } catch {
                    metrics.storeFailures.increment()
                    failures.failed(error, logger: logger)
                }
                // A failed pass is tried again at the next hour: nothing waits on it.
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// Deletes everything past the retention age now, batch after batch; answers how much.
    /// Tests call this directly with a manual clock.
    @discardableResult
    public func tick() async throws -> RetentionReport {
        let cutoff = clock.now() - age
        var total = RetentionReport()
        while !Task.isCancelled {
            let deleted = try await store.deleteExpired(before: cutoff, limit: Self.batch)
            total.incidents += deleted.incidents
            total.silences += deleted.silences
            metrics.retentionDeleted["incidents"]?.increment(by: deleted.incidents)
            metrics.retentionDeleted["silences"]?.increment(by: deleted.silences)
            if deleted.incidents < Self.batch, deleted.silences < Self.batch { break }
        }
        if total != RetentionReport() {
            logger.info("""
                retention: deleted \(counted(total.incidents, "incident")) resolved and \(counted(total.silences, "silence")) \
                ended before \(cutoff) \
                (retention \(DurationText.format(age)))
                """)
        }
        return total
    }
}
