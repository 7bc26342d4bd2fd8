import AlertBridgeCore
import AlertBridgeStore
import Foundation
import Hummingbird

/// Silences (maintenance windows): create, list, extend, expire.
struct SilenceRoutes {
    let store: any IncidentStore
    let clock: any WallClock
    /// Woken when a silence ends early: the incidents it held are due at once.
    let escalationWakeup: Wakeup

    /// `POST /api/v1/silences`. The end is `ends_at` or `duration` from the start, not both.
    struct NewSilenceBody: Decodable {
        var matchers: [String]
        var starts_at: String?
        var ends_at: String?
        var duration: String?
        var by: String
        var comment: String

        /// What a request without a body is told to send.
        static let example = #"{"matchers": ["pop = ICN1"], "duration": "2h", "by": "alice", "comment": "ICN1 fibre maintenance"}"#
    }

    /// `POST /api/v1/silences/{id}/extend`: a new end, `ends_at` or `duration` from the
    /// start (now for a silence that already started); `comment` keeps the old one if absent.
    struct ExtendBody: Decodable {
        var ends_at: String?
        var duration: String?
        var by: String
        var comment: String?

        static let example = #"{"duration": "1h", "by": "alice", "comment": "maintenance runs over"}"#
    }

    static let maxMatchers = 32
    /// How far in the past a start given with a duration may be and still mean "now".
    static let pastStartSlack: Duration = .seconds(60)

    func register(on router: some RouterMethods<AppRequestContext>) {
        router.get("/api/v1/silences") { request, _ in
            let params = request.uri.queryParameters
            try OperatorInput.refuseUnknown(params, of: "/api/v1/silences", takes: ["status", "limit"])
            let now = clock.now()
            var query = SilenceQuery(now: now)
            if let status = try OperatorInput.status(params.get("status"), as: SilenceQuery.StatusFilter.self) { query.status = status }
            if let limit = try OperatorInput.limit(params.get("limit")) { query.limit = limit }
            let silences = try await store.silences(query)
            return try JSONResponse.make(["silences": silences.map { SilenceJSON(silence: $0, now: now) }])
        }
        router.post("/api/v1/silences") { request, _ in
            let now = clock.now()
            let body = try await OperatorInput.decode(NewSilenceBody.self, from: request, example: NewSilenceBody.example)
            let silence = try Self.silence(from: body, now: now)
            let stored = try await store.createSilence(silence)
            return try JSONResponse.make(SilenceJSON(silence: stored, now: now), status: .created)
        }
        router.post("/api/v1/silences/:id/extend") { request, context in
            let id = try OperatorInput.id(context, of: "silence")
            let body = try await OperatorInput.decode(ExtendBody.self, from: request, example: ExtendBody.example)
            let end = try Self.end(ends_at: body.ends_at, duration: body.duration)
            let by = try OperatorInput.checkBy(body.by)
            if let comment = body.comment { try Self.checkComment(comment) }
            let now = clock.now()
            let extended: Silence
            do {
                extended = try await store.extendSilence(id: id, to: end, by: by, comment: body.comment, now: now)
            } catch let refusal as Silence.Refusal {
                switch refusal {
                case .alreadyExpired: throw APIError(.conflict, refusal.description)
                case .notLater, .tooLong: throw APIError.badRequest(refusal.description, field: body.duration == nil ? "ends_at" : "duration")
                }
            } catch StoreError.silenceNotFound {
                throw APIError(.notFound, "silence \(id) not found")
            }
            return try JSONResponse.make(SilenceJSON(silence: extended, now: now))
        }
        router.delete("/api/v1/silences/:id") { request, context in
            let id = try OperatorInput.id(context, of: "silence")
            let by = try OperatorInput.checkBy(request.uri.queryParameters.get("by"))
            let now = clock.now()
            let expired: Silence
            do {
                expired = try await store.expireSilence(id: id, by: by, now: now)
            } catch let refusal as Silence.Refusal {
                throw APIError(.conflict, refusal.description)
            } catch StoreError.silenceNotFound {
                throw APIError(.notFound, "silence \(id) not found")
            }
            escalationWakeup.signal()
            return try JSONResponse.make(SilenceJSON(silence: expired, now: now))
        }
    }

    /// `ends_at` or `duration`, exactly one.
    static func end(ends_at: String?, duration: String?) throws -> Silence.End {
        switch (ends_at, duration) {
        case (let text?, nil):
            guard let at = RFC3339.parse(text) else {
                throw APIError.badRequest("must be an RFC 3339 time such as 2026-11-30T04:00:00Z", field: "ends_at")
            }
            return .at(at)
        case (nil, let text?):
            guard let length = DurationText.parse(text), length > .zero else {
                throw APIError.badRequest("must be a duration such as 2h or 1h30m", field: "duration")
            }
            guard length <= DurationText.longest else { throw APIError.badRequest("must be at most 365d", field: "duration") }
            return .after(length)
        case (nil, nil):
            throw APIError.badRequest("give ends_at or duration", field: "ends_at")
        case (.some, .some):
            throw APIError.badRequest("give ends_at or duration, not both", field: "duration")
        }
    }

    static func checkComment(_ comment: String) throws {
        guard !comment.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, comment.utf8.count <= 1024 else {
            throw APIError.badRequest("must say why (1 to 1024 bytes)", field: "comment")
        }
    }

    /// Validates a new silence; every refusal names its field.
    static func silence(from body: NewSilenceBody, now: Timestamp) throws -> Silence {
        guard (1...maxMatchers).contains(body.matchers.count) else {
            throw APIError.badRequest("needs 1 to \(maxMatchers) matchers such as \"pop = ICN1\"", field: "matchers")
        }
        var matchers: [Matcher] = []
        for (i, text) in body.matchers.enumerated() {
            guard text.utf8.count <= 1024 else { throw APIError.badRequest("is longer than 1024 bytes", field: "matchers[\(i)]") }
            do {
                matchers.append(try Matcher(parsing: text))
            } catch {
                throw APIError.badRequest(error.description, field: "matchers[\(i)]")
            }
        }
        // As in Alertmanager: a silence whose matchers all hold for an alert without labels
        // would hold every alert, the one outage included.
        guard matchers.contains(where: { !$0.matches([:]) }) else {
            throw APIError.badRequest(Silence.holdsEveryAlert, field: "matchers")
        }
        var start = now
        if let text = body.starts_at {
            guard let at = RFC3339.parse(text) else {
                throw APIError.badRequest("must be an RFC 3339 time such as 2026-11-30T02:00:00Z", field: "starts_at")
            }
            // With a duration, a past start means a window that is (partly) over, usually a
            // pasted date: counting the duration from now would silence hours nobody asked
            // for. A minute's slack lets `--start "$(date -u +%FT%TZ)"` and skewed clocks through.
            if body.duration != nil, body.ends_at == nil, at < now - Self.pastStartSlack {
                throw APIError.badRequest("is in the past (\(text)); with duration, give a start from now on, or leave it out to start now",
                                          field: "starts_at")
            }
            start = max(at, now)  // a start in the past is now (with ends_at, the end still holds)
        }
        let end: Timestamp
        switch try Self.end(ends_at: body.ends_at, duration: body.duration) {
        case .at(let at):
            guard at > start else { throw APIError.badRequest("must be after the start", field: "ends_at") }
            end = at
        case .after(let length):
            end = start + length
        }
        guard end.milliseconds - start.milliseconds <= DurationText.longest.milliseconds else {
            throw APIError.badRequest("a silence lasts at most 365d", field: "ends_at")
        }
        let by = try OperatorInput.checkBy(body.by)
        try Self.checkComment(body.comment)
        return Silence(matchers: matchers, startsAt: start, endsAt: end, createdBy: by, comment: body.comment, createdAt: now)
    }
}

/// The wire shape of a silence. `status` is judged at the time of the answer.
struct SilenceJSON: Encodable {
    var silence: Silence
    var now: Timestamp

    enum Keys: String, CodingKey {
        case id, status, matchers, starts_at, ends_at, created_by, comment, created_at, expired_by, extended_by
    }

    func encode(to encoder: any Encoder) throws {
        let s = silence
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(s.id, forKey: .id)
        try c.encode(s.status(at: now).rawValue, forKey: .status)
        try c.encode(s.matchers.map(\.quoted), forKey: .matchers)
        try c.encode(s.startsAt, forKey: .starts_at)
        try c.encode(s.endsAt, forKey: .ends_at)
        try c.encode(s.createdBy, forKey: .created_by)
        try c.encode(s.comment, forKey: .comment)
        try c.encode(s.createdAt, forKey: .created_at)
        try c.encode(s.expiredBy, forKey: .expired_by)
        try c.encode(s.extendedBy, forKey: .extended_by)
    }
}
