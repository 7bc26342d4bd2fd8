import AlertBridgeCore
import AlertBridgeStore
import Logging
import ServiceLifecycle

/// Notices monitors that stopped pinging: sleeps until the earliest heartbeat is due (or
/// a first ping signals), then sends a missed alert for every heartbeat whose time ran
/// out, through the same routing as any alert, and again every timeout while it stays
/// missed.
///
/// The miss is marked in the store before its alert is sent, so a ping from then on
/// sends the recovery; a ping that came while the alert was being sent is seen when the
/// states are read again, and this pass sends the recovery itself. Whatever the order,
/// an incident never stays open for a monitor that is back.
public struct HeartbeatMonitor: Service {
    let store: any IncidentStore
    let ingestor: Ingestor
    let heartbeats: [String: Heartbeat]
    let clock: any WallClock
    let wakeup: Wakeup
    let logger: Logger
    /// When this process started watching (``Heartbeat/expiry(of:watchingSince:)``).
    let watchingSince: Timestamp
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
        self.watchingSince = clock.now()
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

    /// Sends the missed alerts due now; answers how many, and when the next is due.
    /// Tests call this directly with a manual clock.
    @discardableResult
    public func tick() async throws -> (missed: Int, nextDue: Timestamp?) {
        let now = clock.now()
        let states = try await store.heartbeats()
        // A heartbeat taken out of the configuration while missed: recover what it opened.
        for state in states where heartbeats[state.name] == nil {
            if let missedAt = state.missedAt {
                try await recover([Heartbeat(name: state.name, timeout: .zero).recovered(at: now)])
                try await store.clearHeartbeatMissed(name: state.name, missedAt: missedAt)
            }
        }
        var due: [HeartbeatState] = []
        var nextDue: Timestamp?
        for var state in states {
            guard let heartbeat = heartbeats[state.name] else { continue }
            if now >= heartbeat.nextMiss(of: state, watchingSince: watchingSince) {
                due.append(state)
                state.missedAt = now  // as `send` marks it
            }
            let next = heartbeat.nextMiss(of: state, watchingSince: watchingSince)
            nextDue = min(nextDue ?? next, next)
        }
        try await send(due, now: now)
        return (due.count, nextDue)
    }

    /// Marks `due` (states read at `now`) missed, sends their alerts, then reads the
    /// states again: one that pinged in between gets its recovery from here.
    func send(_ due: [HeartbeatState], now: Timestamp) async throws {
        guard !due.isEmpty else { return }
        try await store.markHeartbeatsMissed(names: due.map(\.name), at: now)
        _ = try await ingestor.commit(due.map { state in
            let heartbeat = heartbeats[state.name]!
            return heartbeat.missed(expiredAt: heartbeat.expiry(of: state, watchingSince: watchingSince))
        }, format: "heartbeat")
        for state in due {
            logger.warning("heartbeat missed", metadata: ["heartbeat": "\(state.name)", "last_ping": "\(state.lastPingAt)"])
        }
        let pinged = try await store.heartbeats().filter { after in
            due.contains { $0.name == after.name && $0.lastPingAt != after.lastPingAt }
        }
        try await recover(pinged.map { heartbeats[$0.name]!.recovered(at: now) })
        for state in pinged where state.missedAt == now {
            try await store.clearHeartbeatMissed(name: state.name, missedAt: now)
        }
    }

    private func recover(_ alerts: [Alert]) async throws {
        if !alerts.isEmpty { _ = try await ingestor.commit(alerts, format: "heartbeat") }
    }
}
