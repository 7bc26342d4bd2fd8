import AlertBridgeCore

extension IngestLimits {
    /// Checks one normalised alert; `path` is where it sits in the request (`[3]`, `alerts[0]`).
    /// - Parameter utf8Names: label names may be any UTF-8 without control characters, as
    ///   Prometheus 3 and Alertmanager 0.27 send them (`service.name`); else the classic
    ///   `[a-zA-Z_][a-zA-Z0-9_]*` that rules can match.
    func check(_ alert: Alert, at path: AlertPath, summaryField: String, utf8Names: Bool = false) throws(APIError) {
        // An empty value is no label, as in Prometheus: `{"alertname": ""}` would be an
        // incident without a name (black-box round 23).
        guard alert.labels.values.contains(where: { !$0.isEmpty }) else {
            throw .badRequest(alert.labels.isEmpty ? "needs at least one label" : "needs at least one label with a value (an empty value is no label)",
                              field: path.field("labels"))
        }
        try checkMap(alert.labels, at: path, "labels", max: maxLabels, maxValue: maxLabelValueLength,
                     validateNames: utf8Names ? .utf8 : .classic)
        try checkMap(alert.annotations, at: path, "annotations", max: maxAnnotations,
                     maxValue: maxAnnotationValueLength, validateNames: .any)
        if alert.summary.utf8.count > maxSummaryLength {
            throw .badRequest("is longer than \(maxSummaryLength) bytes", field: path.field(summaryField))
        }
        if let key = alert.dedupKey, key.utf8.count > maxDedupKeyLength {
            throw .badRequest("is longer than \(maxDedupKeyLength) bytes", field: path.field("dedup_key"))
        }
    }

    private enum Names { case classic, utf8, any }

    private func checkMap(_ map: Labels, at path: AlertPath, _ name: String, max: Int, maxValue: Int,
                          validateNames: Names) throws(APIError) {
        guard map.count <= max else {
            throw .badRequest("has \(map.count) entries, more than the limit of \(max)", field: path.field(name))
        }
        for (key, value) in map {
            // The length first: a name named in the answer (`labels.NAME`) is then at most that long.
            if key.utf8.count > maxNameLength {
                throw .badRequest("name is longer than \(maxNameLength) bytes", field: "\(path.field(name)).\(key.prefix(32))")
            }
            switch validateNames {
            case .classic where !Matcher.isValidLabelName(key):
                throw .badRequest("\"\(key)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", field: "\(path.field(name)).\(key)")
            case .utf8 where key.isEmpty || key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }):
                throw .badRequest("is not a valid name (empty, or with control characters)", field: "\(path.field(name)).\(key)")
            default: break
            }
            if value.utf8.count > maxValue {
                throw .badRequest("is longer than \(maxValue) bytes", field: "\(path.field(name)).\(key)")
            }
        }
    }
}
