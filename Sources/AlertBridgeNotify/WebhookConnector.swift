import AlertBridgeCore
import AlertBridgeStore

/// Posts a JSON document of the incident and the event to any HTTP(S) endpoint,
/// signed so the receiver can tell it came from alertbridge and is fresh.
///
/// Signature scheme (see README, "Connectors"):
///
///     X-Alertbridge-Timestamp: <unix seconds when this attempt was sent>
///     X-Alertbridge-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
///
/// A receiver recomputes the HMAC over the timestamp header, a dot and the body bytes
/// exactly as received, compares in constant time, and rejects timestamps more than a
/// few minutes from its own clock (replays). `X-Alertbridge-Delivery` is the same on
/// every attempt of one page, so a receiver can drop the repeats at-least-once
/// delivery may bring.
public struct WebhookConnector: Connector {
    public let url: String
    let secret: String?
    let poster: WebhookPoster
    let clock: any WallClock
    /// Every event reaches a webhook, also a page that an acknowledgement overtook: the
    /// system behind it may keep its own state from them.
    public var dropsOvertakenPages: Bool { false }

    public init(url: String, secret: String?, transport: CurlTransport = CurlTransport(),
                clock: any WallClock = SystemClock()) {
        self.url = url
        self.secret = secret.flatMap { $0.isEmpty ? nil : $0 }
        self.clock = clock
        poster = WebhookPoster(transport: transport, clock: clock)
    }

    public func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        let body = WebhookDocument.payload(page).encoded()
        let timestamp = clock.now().milliseconds / 1000
        var headers = [
            ("X-Alertbridge-Event", page.delivery.event.rawValue),
            ("X-Alertbridge-Delivery", "\(page.delivery.id)"),
            ("X-Alertbridge-Timestamp", "\(timestamp)"),
        ]
        if let secret {
            headers.append(("X-Alertbridge-Signature", WebhookSignature.sign(body: body, timestamp: timestamp, secret: secret)))
        }
        try await poster.post(url: url, headers: headers, body: body)
        return .toAll
    }
}

/// HMAC-SHA256 over `"<timestamp>.<body>"`, as `sha256=<hex>`.
public enum WebhookSignature {
    public static func sign(body: [UInt8], timestamp: Int64, secret: String) -> String {
        let signed = Array("\(timestamp).".utf8) + body
        return "sha256=" + Hex.string(HMACSHA256.authenticationCode(for: signed, key: Array(secret.utf8)))
    }

    /// What a receiver does: the signature matches and the timestamp is within
    /// `tolerance` seconds of `now` (unix seconds).
    public static func verify(body: [UInt8], timestamp: String, signature: String, secret: String, now: Int64,
                              tolerance: Int64 = 300) -> Bool {
        guard let ts = Int64(timestamp), abs(now - ts) <= tolerance else { return false }
        let expected = Array(sign(body: body, timestamp: ts, secret: secret).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The webhook body: a pure function of the page.
public enum WebhookDocument {
    public static let version: Int64 = 1

    public static func payload(_ page: PageMessage) -> JSONValue {
        let i = page.incident.incident
        let d = page.delivery
        var breaches: [JSONValue] = []
        if i.escalation.ackSLABreached { breaches.append("acknowledge") }
        if i.escalation.resolveSLABreached { breaches.append("resolve") }
        let listed = listed(page.incident.alerts)
        let incident: JSONValue = [
            "id": .integer(i.id),
            "status": .string(i.status.rawValue),
            "dedup_key": .string(i.dedupKey),
            "title": .string(i.title),
            "severity": .string(i.severity.rawValue),
            "labels": strings(i.labels),
            "annotations": strings(i.annotations),
            "rule": .string(i.rule),
            "policy": .string(i.policy),
            "tier": .integer(Int64(i.tier)),
            "alert_count": .integer(Int64(i.alertCount)),
            "firing_alerts": .integer(Int64(i.firingCount)),
            "created_at": time(i.createdAt),
            "last_alert_at": time(i.lastAlertAt),
            "acknowledged_at": time(i.acknowledgedAt),
            "acknowledged_by": JSONValue(i.acknowledgedBy),
            "resolved_at": time(i.resolvedAt),
            "resolved_by": JSONValue(i.resolvedBy),
            "sla_breaches": .array(breaches),
            "alerts": .array(listed.map(alert)),
            "alerts_omitted": .integer(Int64(page.incident.alerts.count - listed.count)),
        ]
        return [
            "version": .integer(version),
            "event": .string(d.event.rawValue),
            "subject": .string(PageText.subject(page)),
            "text": .string(PageText.body(page)),
            "incident": incident,
            "delivery": [
                "id": .integer(d.id),
                "connector": .string(d.connector),
                "tier": .integer(Int64(d.tier)),
                "tier_name": .string(d.tierName),
                "step": .integer(Int64(d.step)),
                "attempt": .integer(Int64(d.attempts)),
                "recipients": .array(d.recipients.map(JSONValue.string)),
                "created_at": time(d.createdAt),
            ],
        ]
    }

    /// The most alerts a document lists. A PoP's storm can hold thousands: at ~600 bytes
    /// each, every event of it would be megabytes, which a receiver behind a proxy's
    /// default 1 MB limit refuses (a 413 is not retried).
    public static let maxAlerts = 100

    /// The alerts a document lists: the firing ones first, at most ``maxAlerts``.
    static func listed(_ alerts: [StoredAlert]) -> ArraySlice<StoredAlert> {
        (alerts.filter { $0.status == .firing } + alerts.filter { $0.status != .firing }).prefix(maxAlerts)
    }

    static func alert(_ a: StoredAlert) -> JSONValue {
        [
            "fingerprint": .string(a.fingerprint),
            "status": .string(a.status.rawValue),
            "severity": .string(a.severity.rawValue),
            "summary": .string(a.summary),
            "labels": strings(a.labels),
            "source": .string(a.source),
            "value": a.value.map(JSONValue.number) ?? .null,
            "threshold": a.threshold.map(JSONValue.number) ?? .null,
            "starts_at": time(a.startsAt),
            "first_seen_at": time(a.firstSeenAt),
            "last_seen_at": time(a.lastSeenAt),
            "received_count": .integer(Int64(a.receivedCount)),
        ]
    }

    static func strings(_ map: [String: String]) -> JSONValue { .object(map.mapValues(JSONValue.string)) }
    static func time(_ t: Timestamp?) -> JSONValue { t.map { .string(RFC3339.format($0)) } ?? .null }
}

/// POSTs JSON and turns the answer into success or a classified ``DeliveryError``.
struct WebhookPoster: Sendable {
    let transport: CurlTransport
    let clock: any WallClock

    func post(url: String, headers: [(String, String)] = [], body: [UInt8]) async throws(DeliveryError) {
        let response: HTTPResponse
        do throws(TransportError) {
            response = try await transport.post(
                url: url, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: body)
        } catch {
            throw DeliveryClassifier.classify(error)
        }
        if let failure = DeliveryClassifier.classify(response, now: clock.now()) { throw failure }
    }
}
