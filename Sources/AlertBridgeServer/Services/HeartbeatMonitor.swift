import AlertBridgeCore
import AlertBridgeStore
import Logging
import ServiceLifecycle

/// Notices monitors that stopped pinging: sleeps until the earliest heartbeat is due (or
/// a ping signals: a first one, or one whose recovery failed), then sends a missed alert for every heartbeat whose time ran
/// out, through the same routing as any alert, and again every timeout while it stays
/// missed.
///
/// A miss is sent in three steps, each in the store: marked as being sent (only if no
/// ping came since the state was read), the alert ingested, marked sent (again only if
/// no ping came). A ping that sees either mark sends the recovery; one that came in
/// between makes the last mark fail, and this pass sends the recovery after its own
/// alert. A recovery that was never sent (a crash, a failed commit) is sent by the next
/// pass. So an incident never stays open for a monitor that is back, and a crash at any
/// step repeats that step rather than losing or delaying the miss.
public struct HeartbeatMonitor: Service {
    let store: any IncidentStore
    let ingestor: Ingestor
    let heartbeats: [String: Heartbeat]
    let clock: any WallClock
    let wakeup: Wakeup
    let logger: Logger
    /// The longest sleep, so a ping taken by another instance is still seen.
    let idle: Duration
    /// When this alertbridge started: pings before it had no alertbridge to reach.
    let startedAt: Timestamp

    public init(store: any IncidentStore, ingestor: Ingestor, heartbeats: [Heartbeat], clock: any WallClock, wakeup: Wakeup,
                logger: Logger, idle: Duration = .seconds(5), startedAt: Timestamp) {
        self.store = store
        self.ingestor = ingestor
        self.heartbeats = heartbeats.byName
        self.clock = clock
        self.wakeup = wakeup
        self.logger = logger
        self.idle = idle
        self.startedAt = startedAt
    }

    public func run() async throws {
        guard !heartbeats.isEmpty else {
            // Nothing to watch. Returning would end the service group, so wait for its end.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            var failures = PassFailures("heartbeat pass")
            while !Task.isCancelled {
                var delay = idle
                do {
                    let pass = try await tick()
                    delay = Wakeup.delay(afterTaking: pass.missed, nextDue: pass.nextDue, now: clock.now(), idle: idle)
                    failures.succeeded(logger: logger)
                } catch {
                    await failures.failedThenWait(error, logger: logger)
                    delay = .zero
                }
                if delay > .zero { await wakeup.wait(timeout: delay) }
            }
        }
    }

    /// Sends the missed alerts due now, and the recoveries still owed; answers how many
    /// misses, and when the next is due. Tests call this directly with a manual clock.
    @discardableResult
    public func tick() async throws -> (missed: Int, nextDue: Timestamp?) {
        let now = clock.now()
        let states = try await store.heartbeats()
        // Pinged after a miss whose recovery is not recorded: recover what the miss opened.
        // (Only configured ones: instances of a fleet whose configurations differ must not
        // undo each other's misses. One taken out of the configuration while missed keeps
        // its incident open until someone resolves it; README says so.)
        let watched = states.filter { heartbeats[$0.name] != nil }
        try await recover(watched.filter(\.needsRecovery))
        let waiting = watched.filter { !$0.needsRecovery }
        let due = waiting.filter { now >= heartbeats[$0.name]!.nextMiss(of: $0, startedAt: startedAt) }
        let missed = try await send(due, now: now)
        let nextDue = waiting.map { state in
            let heartbeat = heartbeats[state.name]!
            return due.contains(state) ? now + heartbeat.timeout : heartbeat.nextMiss(of: state, startedAt: startedAt)
        }.min()
        return (missed, nextDue)
    }

    /// Sends the misses of `due` (states read before `now`); see the type's description.
    /// Answers how many were sent (not pinged before the first mark).
    func send(_ due: [HeartbeatState], now: Timestamp) async throws -> Int {
        let sending = try await begin(due, now: now)
        try await ingestMisses(sending)
        try await end(sending, now: now)
        return sending.count
    }

    /// Step 1: marks the misses as being sent; answers those not pinged since they were read.
    func begin(_ due: [HeartbeatState], now: Timestamp) async throws -> [HeartbeatState] {
        let started = try await store.beginHeartbeatMisses(due, at: now)
        return due.filter { started.contains($0.name) }
    }

    /// Step 2: ingests their missed alerts.
    func ingestMisses(_ sending: [HeartbeatState]) async throws {
        guard !sending.isEmpty else { return }
        _ = try await ingestor.commit(sending.map { state in
            let heartbeat = heartbeats[state.name]!
            return heartbeat.missed(expiredAt: heartbeat.expiry(of: state))
        }, format: "heartbeat")
        for state in sending {
            logger.warning("heartbeat missed", metadata: ["heartbeat": "\(state.name)", "last_ping": "\(state.lastPingAt)"])
        }
    }

    /// Step 3: marks them sent; one that pinged meanwhile gets its recovery from here.
    func end(_ sending: [HeartbeatState], now: Timestamp) async throws {
        let sent = try await store.endHeartbeatMisses(sending, at: now)
        let pinged = sending.filter { !sent.contains($0.name) }.map(\.name)
        guard !pinged.isEmpty else { return }
        try await recover(try await store.heartbeats().filter { pinged.contains($0.name) })
    }

    /// Sends the recoveries of these pinged states, then clears their miss marks. A
    /// recovery ends at its ping, whenever it is sent: a later miss starts a timeout after
    /// that ping, so it is never mistaken for a stale copy of this one.
    private func recover(_ states: [HeartbeatState]) async throws {
        guard !states.isEmpty else { return }
        _ = try await ingestor.commit(states.map { heartbeats[$0.name]!.recovered(at: $0.lastPingAt) }, format: "heartbeat")
        for state in states { try await store.clearHeartbeatMiss(state) }
    }
}
