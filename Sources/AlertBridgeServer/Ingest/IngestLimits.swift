import AlertBridgeCore

extension IngestLimits {
    /// Checks one normalised alert; `prefix` is its path in the request (`[3]`, `alerts[0]`).
    func check(_ alert: Alert, at prefix: String, summaryField: String) throws(APIError) {
        func field(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }
        guard !alert.labels.isEmpty else { throw .badRequest("needs at least one label", field: field("labels")) }
        try checkMap(alert.labels, field: field("labels"), max: maxLabels, maxValue: maxLabelValueLength, validateNames: true)
        try checkMap(alert.annotations, field: field("annotations"), max: maxAnnotations,
                     maxValue: maxAnnotationValueLength, validateNames: false)
        if alert.summary.utf8.count > maxSummaryLength {
            throw .badRequest("is longer than \(maxSummaryLength) bytes", field: field(summaryField))
        }
        if let key = alert.dedupKey, key.utf8.count > maxDedupKeyLength {
            throw .badRequest("is longer than \(maxDedupKeyLength) bytes", field: field("dedup_key"))
        }
    }

    private func checkMap(_ map: Labels, field: String, max: Int, maxValue: Int, validateNames: Bool) throws(APIError) {
        guard map.count <= max else { throw .badRequest("has \(map.count) entries, more than the limit of \(max)", field: field) }
        for (name, value) in map {
            if validateNames && !Matcher.isValidLabelName(name) {
                throw .badRequest("\"\(name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", field: field)
            }
            if name.utf8.count > maxNameLength {
                throw .badRequest("name is longer than \(maxNameLength) bytes", field: "\(field).\(name.prefix(32))")
            }
            if value.utf8.count > maxValue {
                throw .badRequest("is longer than \(maxValue) bytes", field: "\(field).\(name)")
            }
        }
    }
}
