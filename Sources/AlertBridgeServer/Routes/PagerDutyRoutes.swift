import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Hummingbird

/// `POST /v2/enqueue`, answering as PagerDuty's Events API v2 does: 202 with
/// `{"status":"success","message":"Event processed","dedup_key":...}`, 400 with
/// `{"status":"invalid event",...,"errors":[...]}`, 429 when the token is over its limit.
struct PagerDutyRoutes {
    let ingestor: Ingestor
    let store: any IncidentStore
    let authenticator: TokenAuthenticator
    let maxBodyBytes: Int

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.post("/v2/enqueue") { request, _ in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBodyBytes)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw APIError(.contentTooLarge, "request body is larger than the limit of \(maxBodyBytes) bytes")
            }
            let event: PagerDutyEvent
            do {
                event = try JSONDecoder().decode(PagerDutyEvent.self, from: JSONBody.data(body))
            } catch {
                let api = DecodingErrors.apiError(error)
                return try Self.invalid([api.field.map { "'\($0)' \(api.message)" } ?? api.message])
            }
            let problems = event.problems(limits: ingestor.limits)
            guard problems.isEmpty else { return try Self.invalid(problems) }
            let by: String
            do {
                by = try authorize(event.routing_key!)
            } catch let invalid as PagerDutyInvalid {
                return try invalid.response()
            }
            let key = event.dedup_key ?? Self.newDedupKey()
            switch PagerDutyEvent.Action(rawValue: event.event_action!)! {
            case .trigger:
                let alert = event.alert(dedupKey: key, limits: ingestor.limits)
                _ = try await ingestor.commit([alert], dedupKey: key, format: "pagerduty")
            case .acknowledge:
                try await act(.acknowledge(by: by, note: "acknowledged through the Events API"), key: key)
            case .resolve:
                try await act(.resolve(by: by, note: "resolved through the Events API"), key: key)
            }
            return try JSONResponse.make(["status": "success", "message": "Event processed", "dedup_key": key], status: .accepted)
        }
    }

    /// The routing key is an `ingest` token (any key in protected mode); returns who acts.
    private func authorize(_ routingKey: String) throws -> String {
        guard !authenticator.isOpen else { return "pagerduty" }
        guard let token = authenticator.token(presenting: Substring(routingKey)), token.scopes.contains(.ingest) else {
            throw PagerDutyInvalid(errors: ["'routing_key' is not a valid ingest token"])
        }
        do {
            try authenticator.authorize(token, for: .ingest)
        } catch {
            throw APIError(.tooManyRequests, "Requests for this routing key are arriving too quickly. Please retry later.",
                           retryAfterSeconds: error.retryAfterSeconds)
        }
        return token.name
    }

    /// Acknowledge or resolve the open incidents of the key: its own, and those a
    /// `continue: true` rule opened for it. Like PagerDuty, an event for a key with
    /// nothing open, or one already in that state, is still processed.
    private func act(_ action: IncidentAction, key: String) async throws {
        for candidate in ingestor.rules.incidentKeys(for: key) {
            guard let incident = try await store.openIncident(dedupKey: candidate) else { continue }
            do {
                _ = try await store.act(action, on: incident.id, now: ingestor.clock.now())
                ingestor.wake()
            } catch is IncidentAction.Refusal {
            }
        }
    }

    static func newDedupKey() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static func invalid(_ errors: [String]) throws -> Response {
        try PagerDutyInvalid(errors: errors).response()
    }
}

/// PagerDuty's 400 answer.
struct PagerDutyInvalid: Error {
    var errors: [String]

    func response() throws -> Response {
        struct Body: Encodable { var status: String; var message: String; var errors: [String] }
        return try JSONResponse.make(Body(status: "invalid event", message: "Event object is invalid", errors: errors),
                                     status: .badRequest)
    }
}
