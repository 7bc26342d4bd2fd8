import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Hummingbird

/// The operator API: list, show, acknowledge, resolve, annotate.
struct IncidentRoutes {
    let store: any IncidentStore
    let clock: any WallClock
    /// What the escalation engine goes by, so `show`'s next step and `escalate` agree with
    /// it: the rules (which open incidents hold an incident's next step), the policies (what
    /// an incident nobody was paged for yet pages by), and when this alertbridge started
    /// (the next step is at the end of its graces, ``EscalationPlanner/autoResolveGrace``,
    /// ``EscalationPlanner/restartGrace``).
    let escalation: EscalationContext
    /// `retention:`: how far back the listing reaches for resolved incidents.
    let retention: Duration?
    /// Woken after an action that may page (notices, a manual escalation).
    let wakeups: [Wakeup]

    /// Body of every operator action: who does it, and an optional note.
    struct ActionBody: Decodable {
        var by: String
        var note: String?
        /// `/ack` only: acknowledge also when someone already has (``IncidentAction/acknowledge(by:note:takeOver:)``).
        var take_over: Bool?

        /// The note of an acknowledge or resolve: one of spaces says nothing, and is none
        /// (its notice read `resolved (by eve):    `; black-box round 24).
        var givenNote: String? { note?.isBlank == false ? note : nil }

        /// What a request without a body is told to send.
        static let example = #"{"by": "alice"}"#
        static let noteExample = #"{"by": "alice", "note": "origin TLS certificate expired"}"#
    }

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.get("/api/v1/incidents") { request, _ in
            let params = request.uri.queryParameters
            try OperatorInput.refuseUnknown(params, of: "/api/v1/incidents",
                                            takes: ["status", "limit", "since", "until", "before_id", "severity", "label"])
            var query = IncidentQuery()
            query.severities = try OperatorInput.severities(params.getAll("severity"))
            query.labels = try OperatorInput.labels(params.getAll("label"))
            if let status = try OperatorInput.status(params.get("status"), as: IncidentQuery.StatusFilter.self) { query.status = status }
            if let limit = try OperatorInput.limit(params.get("limit")) { query.limit = limit }
            for (name, bound) in [("since", \IncidentQuery.createdSince), ("until", \IncidentQuery.createdBefore)] {
                guard let text = params.get(name) else { continue }
                guard let time = RFC3339.parse(text) else {
                    throw APIError.badRequest("must be an RFC 3339 time such as 2026-11-23T00:00:00Z", field: name)
                }
                query[keyPath: bound] = time
            }
            if let text = params.get("before_id") {
                guard let id = Int64(text), id > 0 else { throw APIError.badRequest("must be an incident id, a positive whole number", field: "before_id") }
                query.beforeID = id
            }
            let incidents = try await store.incidents(query)
            let undelivered = try await store.undeliveredPages(of: incidents)
            let distinct = try await store.distinctAlerts(of: incidents.map(\.id))
            return try JSONResponse.make(IncidentListJSON(incidents: incidents.map {
                IncidentJSON(incident: $0, undelivered: undelivered[$0.id] ?? .init(), distinctAlerts: distinct[$0.id] ?? 0)
            }, retentionCutoff: retention.map { clock.now() - $0 }))
        }
        router.get("/api/v1/incidents/:id") { _, context in
            try await detail(try OperatorInput.id(context, of: "incident"))
        }
        router.post("/api/v1/incidents/:id/ack") { request, context in
            let body = try await Self.action(request)
            return try await act(.acknowledge(by: body.by, note: body.givenNote, takeOver: body.take_over ?? false), context)
        }
        router.post("/api/v1/incidents/:id/resolve") { request, context in
            let body = try await Self.action(request)
            return try await act(.resolve(by: body.by, note: body.givenNote), context)
        }
        router.post("/api/v1/incidents/:id/notes") { request, context in
            let body = try await Self.action(request, example: ActionBody.noteExample)
            guard let note = body.note, !note.isBlank else {
                throw APIError.badRequest(body.note == nil ? "is required" : "must not be empty", field: "note")
            }
            return try await act(.note(by: body.by, text: note), context)
        }
        router.post("/api/v1/incidents/:id/escalate") { request, context in
            let body = try await Self.action(request)
            let id = try OperatorInput.id(context, of: "incident")
            do {
                _ = try await store.escalate(id: id, by: body.by, note: body.givenNote, now: clock.now(), context: escalation)
            } catch let refusal as EscalationPlanner.Refusal {
                throw APIError(.conflict, refusal.text(about: "incident \(id)"))
            } catch StoreError.notFound {
                throw try await notFound(id)
            }
            for wakeup in wakeups { wakeup.signal() }
            return try await detail(id)
        }
    }

    private func act(_ action: IncidentAction, _ context: AppRequestContext) async throws -> Response {
        let id = try OperatorInput.id(context, of: "incident")
        do {
            _ = try await store.act(action, on: id, now: clock.now())
        } catch let refusal as IncidentAction.Refusal {
            throw APIError(.conflict, refusal.text(about: id))
        } catch StoreError.notFound {
            throw try await notFound(id)
        }
        for wakeup in wakeups { wakeup.signal() }
        return try await detail(id)
    }

    private func detail(_ id: Int64) async throws -> Response {
        guard let detail = try await store.incident(id: id) else { throw try await notFound(id) }
        let undelivered = try await store.undeliveredPages(of: [detail.incident])[id] ?? .init()
        let policy = detail.policy.map { escalation.pagingPolicy(of: detail.incident, copy: $0) }
        var next = policy.flatMap {
            EscalationPlanner.nextStep(detail.incident, policy: $0, now: clock.now(), startedAt: escalation.startedAt)
        }
        // A step still ahead that an open inhibitor will hold when it falls due: said now,
        // where `show` promised a page to R&D that would not come (black-box round 27, B6).
        if let step = next, step.takesTimer {
            next?.heldBy = try await store.openInhibitors(of: detail, rules: escalation.rules).map(\.id)
        }
        // A silence added during an inhibit wait holds it when the wait ends; one that holds
        // an acknowledged incident nobody was paged for holds its ack timeout's page (black-box
        // round 35: `show` promised that page after the silence it had was replaced).
        if let step = next, step.isFirstPage {
            let now = clock.now()
            let silences = try await store.silences(SilenceQuery(status: .active, limit: 1000, now: now))
            let end = silences.holdEnd(of: detail.alerts.filter { $0.status == .firing }.map(\.labels), at: now)
            // One that ends before the step holds nothing then.
            next?.silencedUntil = end.flatMap { $0 > step.at ? $0 : nil }
        }
        // Held since it opened, by incidents that have all resolved: paged in a minute if it still fires.
        if next == nil, let policy, !detail.incident.escalation.inhibitedBy.isEmpty {
            let inhibitors = try await store.incidentDetails(ids: detail.incident.escalation.inhibitedBy).values.map(\.incident)
            next = EscalationPlanner.releaseStep(detail.incident, policy: policy, inhibitors: inhibitors)
        }
        return try JSONResponse.make(IncidentJSON(incident: detail.incident, undelivered: undelivered, alerts: detail.alerts,
                                                  timeline: detail.timeline, nextStep: next,
                                                  policyNote: detail.policy.flatMap { escalation.policyNote(of: detail.incident, copy: $0) }))
    }

    /// `incident 7 not found`, and with `retention:`, when a newer incident exists, why it
    /// may be gone (black-box round 41: `show` of a deleted incident said only that).
    private func notFound(_ id: Int64) async throws -> APIError {
        var text = "incident \(id) not found"
        if let retention, let newest = try await store.incidents(IncidentQuery(status: .all, limit: 1)).first, newest.id > id {
            text += " (retention \(DurationText.format(retention)) deletes incidents resolved before \(clock.now() - retention))"
        }
        return APIError(.notFound, text)
    }

    private static func action(_ request: Request, example: String = ActionBody.example) async throws -> ActionBody {
        let body = try await OperatorInput.decode(ActionBody.self, from: request, example: example)
        _ = try OperatorInput.checkBy(body.by)
        if let note = body.note, note.utf8.count > 8192 {
            throw APIError.badRequest("is longer than 8192 bytes", field: "note")
        }
        return body
    }
}
