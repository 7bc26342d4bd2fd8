import AlertBridgeCore

extension IngestLimits {
    /// Checks one normalised alert; `path` is where it sits in the request (`[3]`, `alerts[0]`).
    func check(_ alert: Alert, at path: AlertPath, summaryField: String) throws(APIError) {
        guard !alert.labels.isEmpty else { throw .badRequest("needs at least one label", field: path.field("labels")) }
        try checkMap(alert.labels, at: path, "labels", max: maxLabels, maxValue: maxLabelValueLength, validateNames: true)
        try checkMap(alert.annotations, at: path, "annotations", max: maxAnnotations,
                     maxValue: maxAnnotationValueLength, validateNames: false)
        if alert.summary.utf8.count > maxSummaryLength {
            throw .badRequest("is longer than \(maxSummaryLength) bytes", field: path.field(summaryField))
        }
        if let key = alert.dedupKey, key.utf8.count > maxDedupKeyLength {
            throw .badRequest("is longer than \(maxDedupKeyLength) bytes", field: path.field("dedup_key"))
        }
    }

    private func checkMap(_ map: Labels, at path: AlertPath, _ name: String, max: Int, maxValue: Int,
                          validateNames: Bool) throws(APIError) {
        guard map.count <= max else {
            throw .badRequest("has \(map.count) entries, more than the limit of \(max)", field: path.field(name))
        }
        for (key, value) in map {
            // The length first: a name named in the answer (`labels.NAME`) is then at most that long.
            if key.utf8.count > maxNameLength {
                throw .badRequest("name is longer than \(maxNameLength) bytes", field: "\(path.field(name)).\(key.prefix(32))")
            }
            if validateNames && !Matcher.isValidLabelName(key) {
                throw .badRequest("\"\(key)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", field: "\(path.field(name)).\(key)")
            }
            if value.utf8.count > maxValue {
                throw .badRequest("is longer than \(maxValue) bytes", field: "\(path.field(name)).\(key)")
            }
        }
    }
}
