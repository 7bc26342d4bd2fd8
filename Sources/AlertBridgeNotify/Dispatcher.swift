import AlertBridgeCore
import AlertBridgeStore
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Delivers the outbox: claims due rows, hands each to its connector, records the outcome.
///
/// Deliveries run concurrently, so a slow or dead connector holds up only its own
/// pages: ``run()`` keeps claiming and starting new deliveries while earlier ones are
/// still in flight, up to `maxInFlight` at once. A connector that is failing (its last
/// attempt timed out or was refused) has at most a quarter of them: one that hangs until
/// the timeout held every slot, and every other connector's pages waited a timeout per
/// batch. A healthy one is not capped, so a storm's pages go out in large claims (a cap
/// for every connector cut them to a few rows each and halved ingest in a storm of new
/// incidents, measured). A claim is a lease: if the process
/// dies between sending and recording, the row is handed out again when the lease
/// ends (at least once, never lost), or sooner where the store can tell that the process
/// is gone (SQLite at the next start, PostgreSQL once the claimer's lock is released).
/// The lease must outlast a connector's timeout.
public struct Dispatcher: Service {
    let store: any IncidentStore
    let connectors: [String: any Connector]
    let clock: any WallClock
    let wakeup: Wakeup
    let backoff: Backoff
    let logger: Logger
    let lease: Duration
    let idle: Duration
    let maxInFlight: Int
    let maxInFlightPerConnector: Int
    let random: @Sendable () -> Double
    let timeZone: TimeZone
    /// When this alertbridge started, for the next step its pages name.
    let startedAt: Timestamp?
    let metrics: DeliveryMetrics
    /// Outcomes of concurrent deliveries share one transaction (one fsync), so a storm of
    /// pages does not queue behind its own bookkeeping.
    let recorder: Batcher<DeliveryRecord, Int>
    /// How long a page waits for the one before it in its thread: far longer than a
    /// receiver takes to answer, far shorter than a lease. A receiver that hangs holds each
    /// page this long at most, so a thread of seven pages cannot hold its last past the
    /// claim's lease (which would hand it out again, and send it twice).
    let threadPatience: Duration
    let failing = FailingConnectors()
    let recordFailures = SharedPassFailures("recording deliveries")

    /// A lease that outlasts one delivery with room to record it. The transport bounds a
    /// transfer by `timeout`, and an SMTP session's closing QUIT by `timeout` again: twice
    /// the timeout and a minute, at least two minutes. A shorter lease would hand a row
    /// out again while its first send is still running.
    public static func lease(outlasting timeout: Duration) -> Duration {
        max(.seconds(120), timeout * 2 + .seconds(60))
    }

    public init(store: any IncidentStore, connectors: [String: any Connector], clock: any WallClock, wakeup: Wakeup,
                backoff: Backoff = Backoff(), logger: Logger, metrics: any MetricsFactory,
                lease: Duration = .seconds(120), idle: Duration = .seconds(5), maxInFlight: Int = 64,
                timeZone: TimeZone = PageText.utc, startedAt: Timestamp? = nil, threadPatience: Duration = .seconds(2),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }) {
        self.threadPatience = threadPatience
        self.store = store
        self.connectors = connectors
        self.clock = clock
        self.wakeup = wakeup
        self.backoff = backoff
        self.logger = logger
        self.lease = lease
        self.idle = idle
        self.maxInFlight = max(1, maxInFlight)
        maxInFlightPerConnector = max(1, maxInFlight / 4)
        self.random = random
        self.timeZone = timeZone
        self.startedAt = startedAt
        self.metrics = DeliveryMetrics(connectors: connectors.keys, factory: metrics)
        recorder = Batcher()
    }

    /// On graceful shutdown it stops claiming and lets the deliveries in flight finish
    /// and be recorded (each is bounded by its connector's timeout), so a page that went
    /// out is not sent again after a restart. Cancellation aborts them instead; their
    /// rows are handed out again when the lease ends.
    public func run() async throws {
        let inFlight = InFlight()
        // With a backlog, claim in batches of at least half the slots rather than on every
        // slot that frees up: each claim is a write transaction on the store, and during a
        // storm of new incidents one-slot claims took a third of the SQLite writer's time
        // from ingest. The wait for half the slots is short, so a slow receiver holding
        // many of them delays other pages by that much at most.
        let refill = max(1, maxInFlight / 2)
        let stopping = Flag()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var backlog = false
                var waitedForRoom = false
                var failures = PassFailures("delivery pass")
                var backlogMeasuredAt: Timestamp?
                while !Task.isCancelled && !stopping.isSet {
                    // At most once per `idle`: one indexed count of the outbox.
                    let now = clock.now()
                    if backlogMeasuredAt.map({ now.milliseconds - $0.milliseconds >= idle.milliseconds }) ?? true {
                        backlogMeasuredAt = now
                        await measureBacklog()
                    }
                    var delay = idle
                    do {
                        let (quota, limit) = claimRoom(inFlight)
                        if limit > 0 && (!backlog || limit >= refill || waitedForRoom) {
                            let claimed = try await store.claimDeliveries(now: clock.now(), lease: lease, limit: limit, quota: quota)
                            let recordBy = recordDeadline(claimedAt: .now)
                            let incidents = await incidents(of: claimed)
                            for thread in Self.threads(of: claimed) {
                                for delivery in thread { inFlight.add(delivery.connector) }
                                group.addTask {
                                    try? await inOrder(thread) { delivery in
                                        do {
                                            try await deliver(delivery, claimedIncidents: incidents, recordBy: recordBy)
                                        } catch {
                                            // Not recorded by the end of its lease: the lease hands the row out again.
                                            logger.error("recording a delivery failed; it is sent again when its lease ends", metadata: [
                                                "incident": "\(delivery.incidentID)", "error": "\(error)"])
                                        }
                                        // Wake the loop if it is waiting for room and now has enough.
                                        let (before, connectorBefore) = inFlight.remove(delivery.connector)
                                        if before == maxInFlight || before == maxInFlight - refill + 1
                                            || connectorBefore == maxInFlightPerConnector { wakeup.signal() }
                                    }
                                }
                            }
                            backlog = claimed.count == limit
                            waitedForRoom = false
                            if backlog {
                                delay = .zero  // maybe more due; claim again (or wait for room)
                            } else {
                                // A full connector's due rows wait for one of its deliveries to end.
                                delay = Wakeup.delay(afterTaking: claimed.count, nextDue: try await store.nextDeliveryDue(excluding: quota.full),
                                                     now: clock.now(), idle: idle)
                            }
                        }
                        failures.succeeded(logger: logger)
                    } catch {
                        metrics.storeFailures.increment()
                        await failures.failedThenWait(error, logger: logger)
                        delay = .zero
                    }
                    if stopping.isSet { break }
                    if inFlight.count >= maxInFlight {
                        await wakeup.wait(timeout: idle)  // full: until a delivery ends
                    } else if backlog && claimRoom(inFlight).limit < refill {
                        await wakeup.wait(timeout: .milliseconds(20))  // until half the slots are free
                        waitedForRoom = true
                    } else if delay > .zero {
                        await wakeup.wait(timeout: delay)
                    }
                }
            }
        } onGracefulShutdown: {
            stopping.set()
            wakeup.signal()
            // The wait can take up to a connector's timeout: say what it is waiting for.
            let count = inFlight.count
            if count > 0 { logger.info("shutting down: finishing \(count) \(count == 1 ? "delivery" : "deliveries") in flight") }
        }
        // Cancelled during the shutdown (a second SIGTERM or SIGINT, or another service of
        // the group failed; `serve` sets no deadline, and a supervisor's SIGKILL ends
        // everything), the deliveries in flight were cut short: their rows go out again.
        if stopping.isSet {
            if Task.isCancelled {
                logger.notice("dispatcher stopped: deliveries in flight were cut short and go out again (at the next start on SQLite; on PostgreSQL from another instance within about 10 seconds, or at the next start)")
            } else {
                logger.info("dispatcher stopped: every delivery in flight ended and was recorded")
            }
        }
    }

    /// How many rows a claim could take now (0 with no free slot): the free slots, and the
    /// room of the busiest failing connector, whose deliveries in flight count against
    /// their share (one with none in flight has all of it, no more).
    private func claimRoom(_ inFlight: InFlight) -> (quota: ClaimQuota, limit: Int) {
        let failingNow = failing.current
        let busy = failingNow.isEmpty ? [:] : inFlight.byConnector
        let quota = ClaimQuota(perConnector: maxInFlightPerConnector,
                               inFlight: Dictionary(uniqueKeysWithValues: failingNow.map { ($0, busy[$0] ?? 0) }))
        let room = maxInFlight - inFlight.count
        return (quota, room > 0 ? quota.limit(room) : 0)
    }

    /// Delivers everything due now; returns how many deliveries were attempted.
    @discardableResult
    public func tick(limit: Int = 200) async throws -> Int {
        let claimed = try await store.claimDeliveries(now: clock.now(), lease: lease, limit: limit, quota: .none)
        let recordBy = recordDeadline(claimedAt: .now)
        let incidents = await incidents(of: claimed)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for thread in Self.threads(of: claimed) {
                group.addTask { try await inOrder(thread) { try await deliver($0, claimedIncidents: incidents, recordBy: recordBy) } }
            }
            try await group.waitForAll()
        }
        await measureBacklog()
        return claimed.count
    }

    /// A claim's pages as the threads they are read in: each incident's pages to one
    /// connector, oldest first, are sent one after another (``inOrder(_:_:)``); different
    /// incidents and connectors go concurrently. Pages that waited out an outage come due together, and
    /// sent at once they reached a chat channel in any order: an incident's ESCALATED
    /// before its first page (black-box round 20).
    static func threads(of claimed: [Delivery]) -> [[Delivery]] {
        struct Thread: Hashable { var incident: Int64; var connector: String }
        var order: [Thread] = []
        var threads: [Thread: [Delivery]] = [:]
        for delivery in claimed {
            let thread = Thread(incident: delivery.incidentID, connector: delivery.connector)
            if threads[thread] == nil { order.append(thread) }
            threads[thread, default: []].append(delivery)
        }
        return order.map { threads[$0]!.sorted { $0.id < $1.id } }
    }

    /// Delivers a thread's pages in order: each starts once the one before it was answered
    /// and recorded, or after ``threadPatience``.
    func inOrder(_ thread: [Delivery], _ deliver: @escaping @Sendable (Delivery) async throws -> Void) async throws {
        let threadPatience = self.threadPatience
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, delivery) in thread.enumerated() {
                let done = Wakeup()
                group.addTask {
                    defer { done.signal() }
                    try await deliver(delivery)
                }
                if index < thread.count - 1 { await done.wait(timeout: threadPatience) }
            }
            try await group.waitForAll()
        }
    }

    /// Sets the backlog gauges.
    private func measureBacklog() async {
        do {
            metrics.record(try await store.outboxBacklog(), now: clock.now())
        } catch {
            // The store is down: the pages counted last are still waiting, and getting older.
            metrics.recordLastBacklog(now: clock.now())
            logger.debug("measuring the outbox backlog failed", metadata: ["error": "\(error)"])
        }
    }

    /// The incidents of a claim's pages, read together: one read for a storm of new
    /// incidents instead of one per page. `nil` if that read failed.
    private func incidents(of claimed: [Delivery]) async -> [Int64: IncidentDetail]? {
        guard !claimed.isEmpty else { return [:] }
        do {
            return try await store.incidentDetails(ids: Array(Set(claimed.map(\.incidentID))))
        } catch {
            logger.warning("reading the incidents of claimed pages failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// - Parameter claimedIncidents: the incidents read with the claim (one missing there
    ///   no longer exists), or `nil` if that read failed and each delivery reads its own.
    ///   - recordBy: how long its outcome may be tried again if the store fails to record it.
    private func deliver(_ delivery: Delivery, claimedIncidents: [Int64: IncidentDetail]?,
                         recordBy: ContinuousClock.Instant) async throws {
        var outcome: DeliveryOutcome
        // The receiver said when to come back (`Retry-After`): that wait is kept when the
        // connector delivers again.
        var askedToWait = false
        var interrupted = false
        if let connector = connectors[delivery.connector] {
            let incident: IncidentDetail?
            if let claimedIncidents {
                incident = claimedIncidents[delivery.incidentID]
            } else {
                do {
                    incident = try await store.incident(id: delivery.incidentID)
                } catch {
                    // The store is down: nothing can be recorded either. The lease hands it out again.
                    logger.error("reading the incident of a claimed page failed; it is sent when its lease ends", metadata: [
                        "incident": "\(delivery.incidentID)", "connector": "\(delivery.connector)", "error": "\(error)"])
                    return
                }
            }
            if let incident, connector.dropsOvertakenPages, let reason = delivery.overtaken(by: incident.incident) {
                outcome = .cancelled(reason: reason)
            } else if let incident {
                do {
                    let message = PageMessage(delivery: delivery, incident: incident, timeZone: timeZone, startedAt: startedAt)
                    let delivered = try await connector.deliver(message)
                    outcome = delivered.refused.isEmpty ? .delivered : partly(delivered.refused, of: delivery)
                } catch {
                    if case .transient(_, .some) = error { askedToWait = true }
                    // Shutting down mid-send: due again at once after a restart, no backoff.
                    interrupted = Task.isCancelled
                    outcome = interrupted
                        ? .retry(at: clock.now(), reason: "interrupted by shutdown: \(error)")
                        : decide(error, for: delivery)
                }
            } else {
                outcome = .failed(reason: "incident \(delivery.incidentID) no longer exists")
            }
        } else {
            // Taken out of alertbridge.yaml since the page was decided, or not yet in this
            // instance's during a rolling change: retried like an outage, so another
            // instance that has it, or a restart with it, sends the page before max_age.
            outcome = decide(.transient("connector \"\(delivery.connector)\" is not configured on this instance", retryAfter: nil),
                             for: delivery)
        }
        outcome = outcome.aboutRefusedRecipients(of: delivery)
        let counters = metrics.of(delivery.connector)
        switch outcome {
        // A row sent again to recipients a mail server refused for now is the same page:
        // it was counted delivered, and its refusals counted, the first time.
        case .delivered:
            if !delivery.isForRefusedRecipients { counters.delivered.increment() }
            noteDelivered(delivery.connector)
        case .partlyDelivered(let refused, let retry):
            if !delivery.isForRefusedRecipients {
                counters.delivered.increment()
                counters.refusedRecipients.increment(by: refused.count)
            }
            noteDelivered(delivery.connector)
            if retry != nil { counters.retried.increment() }
            logger.warning("page delivered, but recipients were refused", metadata: [
                "incident": "\(delivery.incidentID)", "connector": "\(delivery.connector)", "refused": "\(refused)"])
        case .retry(_, let reason):
            counters.retried.increment()
            // When a connector starts failing, once, not once per page of its outage (the
            // timelines have each): it shows in the log as it starts, not only at the
            // give-up an hour later; "connector delivers again" ends it. A mail server that
            // refuses one address for now (greylisting) is no outage of the connector, nor is
            // a send cut short by a stop (the dispatcher says so as it stops).
            if !interrupted && !delivery.isForRefusedRecipients && failing.failed(delivery.connector) {
                logger.warning("\(delivery.name) not delivered yet; retrying, as every page to this connector until it delivers again",
                               metadata: ["incident": "\(delivery.incidentID)", "tier": "\(delivery.tier)",
                                          "connector": "\(delivery.connector)", "reason": "\(reason)"])
            }
        case .cancelled: counters.cancelled.increment()
        case .failed(let reason) where delivery.isForRefusedRecipients:
            // The page reached the others; these recipients were counted as refused already.
            logger.warning("page not delivered to some of its recipients", metadata: [
                "incident": "\(delivery.incidentID)", "connector": "\(delivery.connector)", "reason": "\(reason)"])
        case .failed(let reason):
            // Given up for good: nobody of this tier got it (an error, where a retry is a warning).
            counters.failed.increment()
            logger.error("\(delivery.name) not delivered, given up", metadata: [
                "incident": "\(delivery.incidentID)", "connector": "\(delivery.connector)", "reason": "\(reason)"])
        }
        let backsOff = !askedToWait && !delivery.isForRefusedRecipients
        let madeDue = try await record(DeliveryRecord(id: delivery.id, outcome: outcome, waitsOutBackoff: backsOff), by: recordBy)
        // The loop sleeps until the next due time it last saw, `idle` at most, and a page in
        // flight was not due then: its retry, 2 s after a first failure, waited for the
        // loop's next pass (every 5 s, and past `max_age` for the last one; round 20).
        // A delivery made the pages waiting out its connector's back-off due now (the
        // record did, for every instance's): they go out at once, oldest first.
        switch outcome {
        case .retry, .partlyDelivered(_, .some): wakeup.signal()
        default: if madeDue > 0 { wakeup.signal() }
        }
    }

    /// How long before its claim's lease ends an outcome the store failed to record (a
    /// failover, a lock wait, a full disk) is given up: then the lease hands the page out
    /// again and it is sent twice, with every other page of the failed batch. Until then a
    /// store that comes back gets the outcome, and nothing is sent twice. (It gave up after
    /// 30 s: a disk freed a minute into its outage still saw 26 pages sent again,
    /// black-box round 43.) The lease outlasts a send by a minute at least.
    static let recordMargin = Duration.seconds(10)

    /// When the outcomes of pages claimed at `claimedAt` are given up.
    private func recordDeadline(claimedAt: ContinuousClock.Instant) -> ContinuousClock.Instant {
        claimedAt + lease - Self.recordMargin
    }

    /// Records an outcome, trying again (250 ms, doubling to 5 s) until `giveUpAt`;
    /// returns how many waiting pages its batch made due.
    private func record(_ outcome: DeliveryRecord, by giveUpAt: ContinuousClock.Instant) async throws -> Int {
        var wait = Duration.milliseconds(250)
        while true {
            do {
                let madeDue = try await recorder.submit([outcome], now: clock.now()) { [store, metrics] records, now in
                    do {
                        let madeDue = try await store.recordDeliveries(records, now: now)
                        return records.map { _ in madeDue }
                    } catch {
                        metrics.storeFailures.increment()
                        throw error
                    }
                }
                recordFailures.succeeded(logger: logger)
                return madeDue.first ?? 0
            } catch {
                guard !Task.isCancelled, ContinuousClock.now + wait < giveUpAt else { throw error }
                recordFailures.failed(error, logger: logger)
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(5))
            }
        }
    }

    /// How many deliveries ``run()`` has started and not finished, in all and per connector.
    final class InFlight: Sendable {
        private let value = Mutex<(count: Int, byConnector: [String: Int])>((0, [:]))
        var count: Int { value.withLock { $0.count } }
        func add(_ connector: String) {
            value.withLock { $0.count += 1; $0.byConnector[connector, default: 0] += 1 }
        }
        /// Returns the counts, in all and of its connector, before this one finished.
        func remove(_ connector: String) -> (Int, Int) {
            value.withLock { v in
                defer { v.count -= 1; v.byConnector[connector, default: 1] -= 1 }
                return (v.count, v.byConnector[connector, default: 1])
            }
        }
        var byConnector: [String: Int] { value.withLock { $0.byConnector } }
    }

    /// Ends the log's outage of `connector`, if it had one.
    private func noteDelivered(_ connector: String) {
        guard failing.delivered(connector) else { return }
        logger.notice("connector delivers again", metadata: ["connector": "\(connector)"])
    }

    /// The connectors whose last attempt failed and is retried, so the log says when one
    /// starts failing and when it delivers again, once each.
    final class FailingConnectors: Sendable {
        private let names = Mutex<Set<String>>([])
        /// Whether this failure starts an outage of `connector`.
        func failed(_ connector: String) -> Bool { names.withLock { $0.insert(connector).inserted } }
        /// Whether this delivery ends one.
        func delivered(_ connector: String) -> Bool { names.withLock { $0.remove(connector) != nil } }
        /// The connectors failing now.
        var current: Set<String> { names.withLock { $0 } }
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    /// Taken for some of its recipients: never sent to them again. Those refused for now
    /// (4xx: greylisting, a full mailbox) get it later, on the schedule of a failed page,
    /// until it is too old; those refused for good (5xx) are only named.
    func partly(_ refused: [RefusedRecipient], of delivery: Delivery) -> DeliveryOutcome {
        let temporary = Set(refused.filter(\.isTemporary).map { $0.address.lowercased() })
        // The row's own addresses, so a retry goes exactly where the policy said.
        let again = delivery.recipients.filter { temporary.contains($0.lowercased()) }
        guard !again.isEmpty else { return .partlyDelivered(refused: refused.map(\.description)) }
        if let at = nextAttempt(of: delivery, retryAfter: nil) {
            return .partlyDelivered(refused: refused.map(\.description), retry: RecipientRetry(recipients: again, at: at))
        }
        // Too old to send again: those refused for now are given up on, and the line says so.
        return .partlyDelivered(refused: refused.map { $0.isTemporary ? "\($0.address) (\($0.reply); \(gaveUp(on: delivery)))" : $0.description })
    }

    func decide(_ error: DeliveryError, for delivery: Delivery) -> DeliveryOutcome {
        switch error {
        case .permanent(let reason):
            return .failed(reason: reason)
        case .transient(let reason, let retryAfter):
            if let next = nextAttempt(of: delivery, retryAfter: retryAfter) { return .retry(at: next, reason: reason) }
            return .failed(reason: "\(gaveUp(on: delivery)): \(reason)")
        }
    }

    /// `gave up after 5 attempts over 1h`: a page at `max_age`.
    private func gaveUp(on delivery: Delivery) -> String {
        let waited = Duration.seconds((clock.now().milliseconds - delivery.createdAt.milliseconds) / 1000)
        return "gave up after \(delivery.attempts == 1 ? "1 attempt" : "\(delivery.attempts) attempts") over \(DurationText.format(waited))"
    }

    /// When to try again, or `nil` once the page is `maxAge` old. A wait that would go past
    /// that age (a long back-off, a receiver's long `Retry-After`) is cut to end there, so
    /// the last attempt is made at `maxAge` and nobody gives up on a page before its time.
    func nextAttempt(of delivery: Delivery, retryAfter: Duration?) -> Timestamp? {
        let now = clock.now()
        let deadline = delivery.createdAt + backoff.maxAge
        guard now < deadline else { return nil }
        return min(now + backoff.delay(afterAttempts: delivery.attempts, retryAfter: retryAfter, random: random()), deadline)
    }
}

extension DeliveryOutcome {
    /// For an attempt that was only for recipients a mail server refused for now: a retry
    /// keeps the row marked as such, and a final failure names them and says the others
    /// have the page.
    func aboutRefusedRecipients(of delivery: Delivery) -> DeliveryOutcome {
        guard delivery.isForRefusedRecipients else { return self }
        let whom = delivery.recipients.joined(separator: ", ")
        switch self {
        case .retry(let at, let reason):
            return .retry(at: at, reason: "\(Delivery.refusedPrefix)\(whom) again: \(reason)")
        case .failed(let reason):
            return .failed(reason: "not delivered to \(whom): \(reason); the other recipients have it")
        default:
            return self
        }
    }
}
