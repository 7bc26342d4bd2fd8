import AlertBridgeCore

/// `POST /api/v1/alertmanager`: Prometheus Alertmanager's webhook, payload version 4.
///
/// Each alert keeps Alertmanager's own fingerprint as its identity, so the two edge
/// hosts of one PoP stay two alerts inside one incident, and the incident resolves
/// only when both have (see `shared/fixtures/alertmanager`).
struct AlertmanagerPayload: Decodable {
    struct Item: Decodable {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]?
        var startsAt: String?
        var endsAt: String?
        var generatorURL: String?
        var fingerprint: String?
    }

    var version: String
    var receiver: String?
    var status: String?
    var alerts: [Item]

    func normalised(limits: IngestLimits) throws(APIError) -> [Alert] {
        guard version == "4" else {
            throw .badRequest("unsupported webhook payload version \"\(version)\" (expected \"4\")", field: "version")
        }
        guard alerts.count <= limits.maxAlertsPerRequest else {
            throw .badRequest("has \(alerts.count) alerts, more than the limit of \(limits.maxAlertsPerRequest)", field: "alerts")
        }
        var out: [Alert] = []
        out.reserveCapacity(alerts.count)
        for (index, item) in alerts.enumerated() {
            let prefix = "alerts[\(index)]"
            guard let status = AlertStatus(rawValue: item.status) else {
                throw .badRequest("unknown status \"\(item.status)\" (expected firing or resolved)", field: "\(prefix).status")
            }
            let startsAt = try Self.time(item.startsAt, field: "\(prefix).startsAt")
            let endsAt = try Self.time(item.endsAt, field: "\(prefix).endsAt")
            let annotations = item.annotations ?? [:]
            if let fp = item.fingerprint, fp.isEmpty || fp.utf8.count > 64 {
                throw .badRequest("must be Alertmanager's 16-digit hex fingerprint", field: "\(prefix).fingerprint")
            }
            let alert = Alert(
                source: "alertmanager", status: status,
                severity: item.labels["severity"].flatMap(Severity.init(rawValue:)) ?? .warning,
                summary: annotations["summary"] ?? annotations["description"] ?? item.labels["alertname"] ?? "alert",
                labels: item.labels, annotations: annotations, fingerprint: item.fingerprint,
                startsAt: startsAt, endsAt: endsAt)
            try limits.check(alert, at: prefix, summaryField: "annotations.summary")
            out.append(alert)
        }
        return out
    }

    /// Alertmanager sends Go's zero time (`0001-01-01T00:00:00Z`) for "no end".
    private static func time(_ text: String?, field: String) throws(APIError) -> Timestamp? {
        guard let text, !text.hasPrefix("0001-01-01") else { return nil }
        guard let t = RFC3339.parse(text) else { throw .badRequest("not an RFC 3339 time: \"\(text)\"", field: field) }
        return t
    }
}
