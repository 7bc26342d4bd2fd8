import AlertBridgeCore
import AlertBridgeStore
import Logging
import ServiceLifecycle

/// Notices monitors that stopped pinging: sleeps until the earliest heartbeat expiry in
/// the store (or until a ping signals), then ingests a missed alert for every heartbeat
/// whose time ran out, through the same routing as any alert.
///
/// The alert is committed before the expiry is marked fired, so a crash in between only
/// sends it again, and dedup merges the copy. A ping that lands in between moves the
/// expiry, the mark then fails, and the recovery is sent here: the incident never stays
/// open for a monitor that is back.
public struct HeartbeatMonitor: Service {
    let store: any IncidentStore
    let ingestor: Ingestor
    let heartbeats: [String: Heartbeat]
    let clock: any WallClock
    let wakeup: Wakeup
    let logger: Logger
    /// The longest sleep, so a ping taken by another instance is still seen.
    let idle: Duration

    public init(store: any IncidentStore, ingestor: Ingestor, heartbeats: [Heartbeat], clock: any WallClock, wakeup: Wakeup,
                logger: Logger, idle: Duration = .seconds(5)) {
        self.store = store
        self.ingestor = ingestor
        self.heartbeats = Dictionary(heartbeats.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.clock = clock
        self.wakeup = wakeup
        self.logger = logger
        self.idle = idle
    }

    public func run() async throws {
        guard !heartbeats.isEmpty else {
            // Nothing to watch. Returning would end the service group, so wait for its end.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var delay = idle
                do {
                    let pass = try await tick()
                    delay = Wakeup.delay(afterTaking: pass.missed, nextDue: pass.nextDue, now: clock.now(), idle: idle)
                } catch {
                    logger.error("heartbeat pass failed; retrying", metadata: ["error": "\(error)"])
                    delay = .seconds(1)
                }
                if delay > .zero { await wakeup.wait(timeout: delay) }
            }
        }
    }

    /// Fires every heartbeat due now; answers how many, and when the next one is due.
    /// Tests call this directly with a manual clock.
    @discardableResult
    public func tick() async throws -> (missed: Int, nextDue: Timestamp?) {
        let now = clock.now()
        let states = try await store.heartbeats().filter { heartbeats[$0.name] != nil }
        let due = states.filter { $0.isDue(at: now) }
        try await fire(due, now: now)
        let nextDue = states.filter { !$0.isDue(at: now) }.compactMap(\.nextDue).min()
        return (due.count, nextDue)
    }

    /// Ingests the missed alerts of `due` (states read at `now`), then marks them fired;
    /// one a ping moved in between gets its recovery instead.
    func fire(_ due: [HeartbeatState], now: Timestamp) async throws {
        guard !due.isEmpty else { return }
        _ = try await ingestor.commit(due.map { heartbeats[$0.name]!.missed(expiredAt: $0.expiresAt) }, format: "heartbeat")
        var back: [Alert] = []
        for state in due {
            logger.warning("heartbeat missed", metadata: ["heartbeat": "\(state.name)", "expired_at": "\(state.expiresAt)"])
            if try await !store.markHeartbeatFired(name: state.name, expiresAt: state.expiresAt) {
                back.append(heartbeats[state.name]!.recovered(at: now))
            }
        }
        if !back.isEmpty { _ = try await ingestor.commit(back, format: "heartbeat") }
    }
}
