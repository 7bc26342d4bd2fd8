import AlertBridgeCore

/// `POST /api/v1/alerts`: alertbridge's own alert format (DESIGN.md §3), one or an array.
struct NativeAlertPayload: Decodable {
    var source: String?
    var status: String?
    var severity: String?
    var summary: String?
    var labels: [String: String]
    var annotations: [String: String]?
    var dedup_key: String?
    var starts_at: Timestamp?
    var ends_at: Timestamp?
    var value: Double?
    var threshold: Double?

    /// Validates and normalises; `prefix` is this alert's path in the request.
    func alert(at prefix: String, limits: IngestLimits) throws(APIError) -> Alert {
        func field(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }
        let status: AlertStatus
        switch self.status {
        case nil: status = .firing
        case let text?:
            guard let s = AlertStatus(rawValue: text) else {
                throw .badRequest("unknown status \"\(text)\" (expected firing or resolved)", field: field("status"))
            }
            status = s
        }
        let severity: Severity
        if let text = self.severity {
            guard let s = Severity(rawValue: text) else {
                throw .badRequest("unknown severity \"\(text)\" (expected critical, error, warning or info)",
                                  field: field("severity"))
            }
            severity = s
        } else {
            severity = labels["severity"].flatMap(Severity.init(rawValue:)) ?? .warning
        }
        if let key = dedup_key, key.isEmpty {
            throw .badRequest("must not be empty (omit it or use null)", field: field("dedup_key"))
        }
        if let source, source.utf8.count > limits.maxNameLength {
            throw .badRequest("is longer than \(limits.maxNameLength) bytes", field: field("source"))
        }
        let annotations = self.annotations ?? [:]
        let alert = Alert(
            source: source ?? "api", status: status, severity: severity,
            summary: summary ?? annotations["summary"] ?? labels["alertname"] ?? "alert",
            labels: labels, annotations: annotations, dedupKey: dedup_key,
            startsAt: starts_at, endsAt: ends_at, value: value, threshold: threshold)
        try limits.check(alert, at: prefix, summaryField: "summary")
        return alert
    }
}
