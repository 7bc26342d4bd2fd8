import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Hummingbird

/// `POST /v2/enqueue`, answering as PagerDuty's Events API v2 does: 202 with
/// `{"status":"success","message":"Event processed","dedup_key":...}`, and every refusal
/// (400, 413, 429 when the token is over its limit, 503 when the store cannot commit) in
/// PagerDuty's error shape, ``PagerDutyRefusal``.
struct PagerDutyRoutes {
    let ingestor: Ingestor
    let store: any IncidentStore
    let authenticator: TokenAuthenticator
    let maxBodyBytes: Int
    /// PagerDuty's own limit on an event. The route knows who asks only from the
    /// `routing_key` inside the body, so it reads the body before any token is checked:
    /// at `max_body_bytes` (16 MiB), 100 connections from anyone held 1.8 GB (black-box
    /// round 28). A real event is a few KB.
    static let maxEventBytes = 512 * 1024

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.post("/v2/enqueue") { request, _ in
            do {
                return try await enqueue(request)
            } catch let refusal as PagerDutyRefusal {
                return try refusal.response()
            }
        }
    }

    private func enqueue(_ request: Request) async throws -> Response {
        let limit = min(maxBodyBytes, Self.maxEventBytes)
        let body = try await request.body(upTo: limit) { PagerDutyRefusal.tooLarge(limit: limit) }
        let event: PagerDutyEvent
        do {
            event = try JSONBody.decode(PagerDutyEvent.self, from: body)
        } catch {
            throw PagerDutyRefusal.invalid([error.field.map { "'\($0)' \(error.message)" } ?? error.message])
        }
        let problems = event.problems(limits: ingestor.limits)
        guard problems.isEmpty else { throw PagerDutyRefusal.invalid(problems) }
        let by = try authorize(event.routing_key!)
        let key = event.dedup_key ?? Self.newDedupKey()
        do {
            switch PagerDutyEvent.Action(rawValue: event.event_action!)! {
            case .trigger:
                _ = try await ingestor.commit([event.alert(dedupKey: key, sender: by, limits: ingestor.limits)], format: "pagerduty")
            case .acknowledge:
                try await acknowledge(key: key, by: by)
            case .resolve:
                try await resolve(key: key, by: by)
            }
        } catch let error as APIError where error.status == .serviceUnavailable {
            throw PagerDutyRefusal.unavailable(error.message)
        } catch StoreError.unavailable(let why) {
            throw PagerDutyRefusal.unavailable("the store is unavailable (\(why)); retry")
        }
        return try JSONResponse.make(["status": "success", "message": "Event processed", "dedup_key": key], status: .accepted)
    }

    /// The routing key is an `ingest` token (any key in protected mode); returns who acts.
    private func authorize(_ routingKey: String) throws(PagerDutyRefusal) -> String {
        guard !authenticator.isOpen else { return "pagerduty" }
        guard let token = authenticator.token(presenting: Substring(routingKey)), token.scopes.contains(.ingest) else {
            throw .invalid(["'routing_key' is not a valid ingest token"])
        }
        do {
            try authenticator.authorize(token, for: .ingest)
        } catch {
            throw .throttled(error.message, retryAfterSeconds: error.retryAfterSeconds)
        }
        return token.name
    }

    /// The sender's alert of the key, firing, with the open incidents holding it (a
    /// `continue: true` rule opens more than one), and the key's alert as an earlier build
    /// stored it, which a trigger since may have joined in the same incident. A key that
    /// recovered names nothing: a late acknowledge must not stop the paging for the alerts
    /// still firing.
    private func firing(key: String, sender: String) async throws -> [HeldAlert] {
        let own = PagerDutyEvent.fingerprint(key: key, sender: sender)
        return try await store.openAlerts(fingerprints: [own, key]).filter {
            $0.alert.status == .firing && ($0.alert.fingerprint == own || PagerDutyEvent.isBareKeyAlert($0.alert))
        }
    }

    /// Acknowledges the open incidents holding the sender's firing alert of the key. Like
    /// PagerDuty, an event for a key with nothing open, or one already acknowledged, is
    /// still processed.
    private func acknowledge(key: String, by: String) async throws {
        for held in try await firing(key: key, sender: by) {
            do {
                _ = try await store.act(.acknowledge(by: by, note: "acknowledged through the Events API (dedup_key \(key))"),
                                        on: held.incident.id, now: ingestor.clock.now())
                ingestor.wake()
            } catch is IncidentAction.Refusal {
            }
        }
    }

    /// The key's alert has recovered, as a resolved Alertmanager alert has: it is ingested
    /// resolved, with the labels it fired with, into the incidents it is in, and each
    /// resolves as its rule's `resolve` says. An incident a rule's `dedup_key` template
    /// grouped several events into stays open while the others fire, and an event never
    /// closes an incident it has no alert in.
    private func resolve(key: String, by: String) async throws {
        let held = try await firing(key: key, sender: by)
        guard !held.isEmpty else { return }
        try await ingestor.commitRecovery(held, format: "pagerduty")
    }

    static func newDedupKey() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}

/// A refusal in PagerDuty's error shape, `{"status": SHORT NAME, "message": ..., "errors": [...]}`,
/// which PagerDuty's clients log, whatever the HTTP status: its 400 for an invalid event,
/// and the same shape for a body over the limit, a routing key over its rate limit and a
/// store that cannot commit (the last two with `Retry-After`; PagerDuty's clients retry them).
struct PagerDutyRefusal: Error {
    var status: HTTPResponse.Status
    var summary: String
    var message: String
    var errors: [String]
    var retryAfterSeconds: Int?

    static func invalid(_ errors: [String]) -> Self {
        Self(status: .badRequest, summary: "invalid event", message: "Event object is invalid", errors: errors)
    }

    static func tooLarge(limit: Int) -> Self {
        Self(status: .contentTooLarge, summary: "invalid event", message: "Event object is invalid",
             errors: ["the request body is larger than the limit of \(limit) bytes (an event's, as PagerDuty's; or max_body_bytes if lower)"])
    }

    static func throttled(_ why: String, retryAfterSeconds: Int?) -> Self {
        Self(status: .tooManyRequests, summary: "throttle exceeded",
             message: "Requests for this routing key are arriving too quickly. Please retry later.", errors: [why],
             retryAfterSeconds: retryAfterSeconds)
    }

    static func unavailable(_ why: String) -> Self {
        Self(status: .serviceUnavailable, summary: "unavailable",
             message: "The event was not stored. Please retry later.", errors: [why], retryAfterSeconds: 1)
    }

    func response() throws -> Response {
        struct Body: Encodable { var status: String; var message: String; var errors: [String] }
        var response = try JSONResponse.make(Body(status: summary, message: message, errors: errors), status: status)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }
}
