import AlertBridgeCore
import AlertBridgeStore
import Hummingbird

/// `POST /api/v1/heartbeats/{name}`: a monitor saying it is alive (`ingest` scope).
/// `GET /api/v1/heartbeats`: which monitors are alive, for operators (`operate` scope).
struct HeartbeatRoutes {
    let ingestor: Ingestor
    let store: any IncidentStore
    let heartbeats: [String: Heartbeat]
    let clock: any WallClock
    /// When this alertbridge started: the list says what the monitor does after a start.
    let startedAt: Timestamp
    /// The ``HeartbeatMonitor``'s: a first ping gives it something to watch, and a
    /// recovery this route could not send is its to send.
    let monitorWakeup: Wakeup

    struct Answer: Encodable {
        var heartbeat: String
        var expires_at: Timestamp
    }

    /// One configured heartbeat as `GET /api/v1/heartbeats` lists it; absent values are
    /// explicit `null`s, as in ``SilenceJSON``.
    struct HeartbeatJSON: Encodable {
        var heartbeat: Heartbeat
        var state: HeartbeatState?
        var now: Timestamp
        var startedAt: Timestamp

        enum Keys: String, CodingKey { case name, status, timeout, severity, labels, last_ping_at, expires_at }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(heartbeat.name, forKey: .name)
            try c.encode(heartbeat.status(of: state, at: now, startedAt: startedAt).rawValue, forKey: .status)
            try c.encode(DurationText.format(heartbeat.timeout), forKey: .timeout)
            try c.encode(heartbeat.severity.rawValue, forKey: .severity)
            try c.encode(heartbeat.labels, forKey: .labels)
            try c.encode(state?.lastPingAt, forKey: .last_ping_at)
            // Once missed, when it was counted missed: after a restart's grace that is later
            // than its last ping's expiry, which read as if the page had come late. Not the
            // latest re-send of the miss (one every timeout), which moved on (black-box round 23).
            try c.encode(state.map { state in
                let expiry = heartbeat.expiry(of: HeartbeatState(name: state.name, lastPingAt: state.lastPingAt), startedAt: startedAt)
                return state.missStartedAt.map { min($0, expiry) } ?? expiry
            }, forKey: .expires_at)
        }
    }

    func register(ping: some RouterMethods<AppRequestContext>, list: some RouterMethods<AppRequestContext>) {
        list.get("/api/v1/heartbeats") { _, _ in
            let states = Dictionary(try await store.heartbeats().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let now = clock.now()
            let listed = heartbeats.values.sorted { $0.name < $1.name }.map { HeartbeatJSON(heartbeat: $0, state: states[$0.name], now: now, startedAt: startedAt) }
            return try JSONResponse.make(["heartbeats": listed], status: .ok)
        }
        ping.post("/api/v1/heartbeats/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let heartbeat = heartbeats[name] else {
                throw APIError(.notFound, "no heartbeat named \"\(name)\" is configured (heartbeats: in alertbridge.yaml)")
            }
            let now = clock.now()
            let before: HeartbeatState?
            do {
                before = try await store.pingHeartbeat(name: name, at: now)
            } catch {
                // Why, as ingest says it: the monitor's log is where someone looks first.
                let why = StoreError.unavailableReason(error).map { " (\($0))" } ?? ""
                throw APIError(.serviceUnavailable, "the store could not record the ping\(why); retry", retryAfterSeconds: 1)
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
