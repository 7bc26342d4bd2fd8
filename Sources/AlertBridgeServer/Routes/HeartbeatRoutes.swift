import AlertBridgeCore
import AlertBridgeStore
import Hummingbird

/// `POST /api/v1/heartbeats/{name}`: a monitor saying it is alive.
struct HeartbeatRoutes {
    let ingestor: Ingestor
    let store: any IncidentStore
    let heartbeats: [String: Heartbeat]
    let clock: any WallClock
    /// The ``HeartbeatMonitor``'s: a first ping gives it something to watch, and a
    /// recovery this route could not send is its to send.
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
            let before: HeartbeatState?
            do {
                before = try await store.pingHeartbeat(name: name, at: now)
            } catch {
                throw APIError(.serviceUnavailable, "the store could not record the ping; retry", retryAfterSeconds: 1)
            }
            // It was missed: recover, then clear the marks. Should either fail, the ping is
            // recorded and the monitor's next pass sends the recovery.
            if let before, before.mayBeMissed {
                do {
                    _ = try await ingestor.commit([heartbeat.recovered(at: now)], format: "heartbeat")
                    try await store.clearHeartbeatMiss(before)
                } catch {
                    monitorWakeup.signal()
                }
            }
            if before == nil { monitorWakeup.signal() }
            return try JSONResponse.make(Answer(heartbeat: name, expires_at: now + heartbeat.timeout), status: .accepted)
        }
    }
}
