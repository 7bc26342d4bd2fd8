import AlertBridgeCore
import AlertBridgeStore
import Foundation

/// `POST /v2/enqueue`: an event in PagerDuty's Events API v2 shape, so any tool that can
/// page PagerDuty (Grafana, Zabbix, Datadog, scripts) can page alertbridge instead.
struct PagerDutyEvent: Decodable {
    struct Payload: Decodable {
        var summary: String?
        var source: String?
        var severity: String?
        var timestamp: String?
        var component: String?
        var group: String?
        var `class`: String?
        var custom_details: JSONValue?
    }

    var routing_key: String?
    var event_action: String?
    var dedup_key: String?
    var payload: Payload?
    var client: String?
    var client_url: String?

    enum Action: String { case trigger, acknowledge, resolve }

    /// Every problem with the event, worded like PagerDuty's `errors` list.
    func problems(limits: IngestLimits) -> [String] {
        var errors: [String] = []
        if routing_key?.isEmpty ?? true { errors.append("'routing_key' is missing or blank") }
        guard let text = event_action else { return errors + ["'event_action' is missing"] }
        guard let action = Action(rawValue: text) else {
            return errors + ["'event_action' must be one of trigger, acknowledge, resolve (got \"\(text)\")"]
        }
        // Code points, as PagerDuty and the OpenAPI document count: at most 1,020 bytes,
        // which any index takes (a grapheme can be one letter and a thousand marks).
        if let key = dedup_key, key.isEmpty || key.unicodeScalars.count > 255 {
            errors.append("'dedup_key' must be 1 to 255 characters")
        }
        switch action {
        case .acknowledge, .resolve:
            if dedup_key == nil { errors.append("'dedup_key' is required to \(text)") }
        case .trigger:
            guard let p = payload else { return errors + ["'payload' is missing"] }
            if p.summary?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
                errors.append("'payload.summary' is missing or blank")
            }
            if p.source?.trimmingCharacters(in: .whitespaces).isEmpty ?? true { errors.append("'payload.source' is missing or blank") }
            if let s = p.severity {
                if Severity(rawValue: s) == nil {
                    errors.append("'payload.severity' must be one of critical, error, warning, info (got \"\(s)\")")
                }
            } else {
                errors.append("'payload.severity' is missing")
            }
            if let t = p.timestamp, Self.time(t) == nil {
                errors.append("'payload.timestamp' is not an ISO 8601 time: \"\(t)\"\(RFC3339.impossibleDate(t))")
            }
            for (name, value) in [("source", p.source), ("component", p.component), ("group", p.group), ("class", p.class)] {
                if let value, value.utf8.count > limits.maxLabelValueLength {
                    errors.append("'payload.\(name)' is longer than \(limits.maxLabelValueLength) bytes")
                }
            }
        }
        return errors
    }

    /// A trigger's annotations: each field of an object `custom_details` (other JSON as
    /// one `custom_details` text), `client` and `client_url`, kept within the annotation
    /// `limits:` rather than refused. Senders such as Grafana put a whole alert group in
    /// one field and do not retry a 400, so a long value is cut (ending in "…"), a long
    /// name too, and fields past the limit (in name order) are left out.
    private func annotations(limits: IngestLimits) -> Labels {
        var fields: [(String, String)] = []
        switch payload?.custom_details {
        case .object(let object)?:
            fields = object.map { ($0.key, $0.value.text) }.sorted { $0.0 < $1.0 }
        case let value?:
            fields = [("custom_details", value.text)]
        case nil:
            break
        }
        var annotations: Labels = [:]
        if let client { annotations["client"] = client }
        if let client_url { annotations["client_url"] = client_url }
        for (name, value) in fields where annotations.count < limits.maxAnnotations {
            // The top-level `client` and `client_url` win over details of the same name.
            let key = IngestLimits.cut(name, toBytes: limits.maxNameLength)
            if annotations[key] == nil { annotations[key] = value }
        }
        return annotations.mapValues { IngestLimits.cut($0, toBytes: limits.maxAnnotationValueLength) }
    }

    /// The alert a valid `trigger` stands for: one per key and sender (``fingerprint(key:sender:)``).
    func alert(dedupKey: String, sender: String, limits: IngestLimits) -> Alert {
        let p = payload!
        var labels: Labels = ["source": p.source!, "severity": p.severity!]
        if let v = p.component { labels["component"] = v }
        if let v = p.group { labels["group"] = v }
        if let v = p.class { labels["class"] = v }
        // Cut, not refused: PagerDuty allows 1024 characters, which senders (Alertmanager,
        // Grafana) trim to and do not retry a 400 for, and Hangul takes three bytes each.
        // The whole text stays in the `summary` annotation.
        let summary = IngestLimits.cut(p.summary!, toBytes: limits.maxSummaryLength)
        var annotations = annotations(limits: limits)
        if summary != p.summary! {
            // The event's own words win over a `custom_details` field of the same name (black-
            // box round 27: "all good, ignore" replaced the cut summary's full text).
            annotations["summary"] = IngestLimits.cut(p.summary!, toBytes: limits.maxAnnotationValueLength)
        }
        return Alert(source: p.source!, status: .firing, severity: Severity(rawValue: p.severity!)!, summary: summary,
                          labels: labels, annotations: annotations, dedupKey: dedupKey,
                          fingerprint: Self.fingerprint(key: dedupKey, sender: sender), startsAt: p.timestamp.flatMap(Self.time))
    }

    /// `payload.timestamp`: ISO 8601 with an offset, or without one read as UTC, as a
    /// Python script's `datetime.utcnow().isoformat()` writes it. Refused, the event was
    /// lost: such scripts do not retry a 400 (black-box round 23).
    static func time(_ text: String) -> Timestamp? {
        RFC3339.parse(text) ?? (text.count >= 19 && !text.hasSuffix("Z") ? RFC3339.parse(text + "Z") : nil)
    }

    /// The identity of the alert a key names: the key of one sender (its token's name, or
    /// `pagerduty` in protected mode), as a PagerDuty key belongs to one service. With the
    /// `/` it never equals a label fingerprint (hex), so an event cannot name another
    /// integration's alert; another sender's trigger of the same key is another alert.
    static func fingerprint(key: String, sender: String) -> String { "\(sender)/\(key)" }

    /// An alert a build before ``fingerprint(key:sender:)`` opened from an event: the bare
    /// key as its fingerprint, and only the labels an event gives.
    static func isBareKeyAlert(_ alert: StoredAlert) -> Bool {
        alert.labels["source"] == alert.source && alert.labels["severity"] != nil
            && alert.labels.keys.allSatisfy { ["source", "severity", "component", "group", "class"].contains($0) }
    }
}
