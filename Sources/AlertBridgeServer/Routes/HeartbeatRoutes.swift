import AlertBridgeCore
import AlertBridgeStore
import Hummingbird

/// `POST /api/v1/heartbeats/{name}`: a monitor saying it is alive.
struct HeartbeatRoutes {
    let ingestor: Ingestor
    let store: any IncidentStore
    let heartbeats: [String: Heartbeat]
    let clock: any WallClock
    /// The ``HeartbeatMonitor``'s: a first ping gives it something to watch.
    let monitorWakeup: Wakeup

    struct Answer: Encodable {
        var heartbeat: String
        var expires_at: Timestamp
    }

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.post("/api/v1/heartbeats/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let heartbeat = heartbeats[name] else {
                throw APIError(.notFound, "no heartbeat named \"\(name)\" is configured (heartbeats: in alertbridge.yaml)")
            }
            let now = clock.now()
            let expiresAt = now + heartbeat.timeout
            let before: HeartbeatState?
            do {
                before = try await store.pingHeartbeat(name: name, expiresAt: expiresAt, now: now)
            } catch {
                throw APIError(.serviceUnavailable, "the store could not record the ping; retry", retryAfterSeconds: 1)
            }
            // A missed alert is open: the monitor is back, so recover it. Cleared only once
            // the recovery is committed, so a failure here recovers at the next ping.
            if let firedFor = before?.firedFor {
                _ = try await ingestor.commit([heartbeat.recovered(at: now)], format: "heartbeat")
                try await store.clearHeartbeatFired(name: name, firedFor: firedFor)
            }
            if before == nil { monitorWakeup.signal() }
            return try JSONResponse.make(Answer(heartbeat: name, expires_at: expiresAt), status: .accepted)
        }
    }
}
