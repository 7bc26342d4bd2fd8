import AlertBridgeCore

/// `POST /api/v1/alerts`: alertbridge's own alert format (DESIGN.md §3), one object or an
/// array of them, read straight from the body.
///
/// It answers what the `JSONDecoder` decoding it replaced answered: the same checks,
/// messages and field paths, and of several problems the same one: malformed JSON
/// anywhere first, then the first decoding problem (in array order, then in the order
/// the alert's properties were declared), then the array's size, then the first invalid
/// alert.
enum NativeAlertReader {
    /// The alerts of a body, and whether it was an array (the answer is one in kind).
    static func read(_ body: UnsafeBufferPointer<UInt8>, limits: IngestLimits) throws(APIError) -> (alerts: [Alert], isArray: Bool) {
        var reader = JSONReader(body)
        switch reader.peek() {
        case UInt8(ascii: "["):
            return (try readArray(&reader, limits: limits), true)
        case UInt8(ascii: "{"):
            let fields = try NativeAlertFields.read(&reader, at: AlertPath())
            try reader.expectEnd()
            return ([try fields.get().alert(at: AlertPath(), limits: limits)], false)
        default:
            // Well-formed JSON of another kind: not "malformed", which sends a sender to
            // look for a syntax error that is not there.
            let kind = try reader.nextKind()
            try reader.skipValue()
            try reader.expectEnd()
            throw .badRequest("expected an object or an array of objects, found \(kind.named)")
        }
    }

    private static func readArray(_ reader: inout JSONReader, limits: IngestLimits) throws(APIError) -> [Alert] {
        var alerts: [Alert] = []
        var count = 0
        var decoding: APIError?
        var invalid: APIError?
        var more = try reader.enterArray()
        while more {
            let path = AlertPath(index: count)
            count += 1
            if decoding != nil {
                // Only the syntax of the rest still matters.
                try reader.skipValue()
            } else {
                switch try reader.nextKind() {
                case .object:
                    switch try NativeAlertFields.read(&reader, at: path) {
                    case .success(let fields) where invalid == nil:
                        do { alerts.append(try fields.alert(at: path, limits: limits)) } catch { invalid = error }
                    case .success:
                        break
                    case .failure(let error):
                        decoding = error
                    }
                case .null:
                    try reader.readNull()
                    decoding = .badRequest("expected an object, found null", field: path.prefix)
                default:
                    try reader.skipValue()
                    decoding = .badRequest("expected an object", field: path.prefix)
                }
            }
            more = try reader.nextElement()
        }
        try reader.expectEnd()
        if let decoding { throw decoding }
        guard count > 0 else { throw .badRequest("the array holds no alert") }
        guard count <= limits.maxAlertsPerRequest else {
            throw .badRequest("has \(count) alerts, more than the limit of \(limits.maxAlertsPerRequest)")
        }
        if let invalid { throw invalid }
        return alerts
    }
}

/// One native alert object as read, before validation. Optional properties are nil when
/// absent or `null`.
struct NativeAlertFields {
    var source: String?
    var status: String?
    var severity: String?
    var summary: String?
    var labels: Labels = [:]
    var annotations: Labels?
    var dedupKey: String?
    var startsAt: Timestamp?
    var endsAt: Timestamp?
    var value: Double?
    var threshold: Double?

    /// The members, in the declaration order that decides which problem is reported.
    private enum Field: Int {
        case source, status, severity, summary, labels, annotations, dedupKey, startsAt, endsAt, value, threshold
    }

    private static let names = FieldNames(["source", "status", "severity", "summary", "labels", "annotations",
                                           "dedup_key", "starts_at", "ends_at", "value", "threshold"])

    /// Reads the object that is the reader's next value.
    static func read(_ reader: inout JSONReader, at path: AlertPath) throws(APIError) -> Result<Self, APIError> {
        var f = Self()
        var problem = DecodingProblem()
        let seen = try reader.readFields(names) { reader, i throws(APIError) in
            guard let field = Field(rawValue: i) else { return try reader.skipValue() }
            let name = names[i]
            switch field {
            case .source: f.source = try reader.optionalString(&problem, i, path.field(name))
            case .status: f.status = try reader.optionalString(&problem, i, path.field(name))
            case .severity: f.severity = try reader.optionalString(&problem, i, path.field(name))
            case .summary: f.summary = try reader.optionalString(&problem, i, path.field(name))
            case .labels: f.labels = try reader.stringMap(&problem, i, required: true, at: path, name) ?? [:]
            case .annotations: f.annotations = try reader.stringMap(&problem, i, required: false, at: path, name)
            case .dedupKey: f.dedupKey = try reader.optionalString(&problem, i, path.field(name))
            case .startsAt: f.startsAt = try reader.optionalTimestamp(&problem, i, path.field(name))
            case .endsAt: f.endsAt = try reader.optionalTimestamp(&problem, i, path.field(name))
            case .value: f.value = try reader.optionalDouble(&problem, i, path.field(name))
            case .threshold: f.threshold = try reader.optionalDouble(&problem, i, path.field(name))
            }
        }
        if !seen.contains(Field.labels.rawValue) { problem.note(Field.labels.rawValue, .badRequest("is required", field: path.field("labels"))) }
        if let error = problem.error { return .failure(error) }
        return .success(f)
    }

    /// Validates and normalises.
    func alert(at path: AlertPath, limits: IngestLimits) throws(APIError) -> Alert {
        let status: AlertStatus
        switch self.status {
        case nil: status = .firing
        case let text?:
            guard let s = AlertStatus(rawValue: text) else {
                throw .badRequest("unknown status \"\(text)\" (expected firing or resolved)", field: path.field("status"))
            }
            status = s
        }
        let severity: Severity
        if let text = self.severity {
            guard let s = Severity(rawValue: text) else {
                throw .badRequest("unknown severity \"\(text)\" (expected critical, error, warning or info)",
                                  field: path.field("severity"))
            }
            severity = s
        } else {
            severity = Severity.of(labels: labels)
        }
        if let key = dedupKey, key.isEmpty {
            throw .badRequest("must not be empty (omit it or use null)", field: path.field("dedup_key"))
        }
        if let source, source.utf8.count > limits.maxNameLength {
            throw .badRequest("is longer than \(limits.maxNameLength) bytes", field: path.field("source"))
        }
        let annotations = self.annotations ?? [:]
        let alert = Alert(
            source: source ?? "api", status: status, severity: severity,
            summary: summary.flatMap { $0.isBlank ? nil : $0 } ?? limits.derivedSummary(annotations["summary"], labels["alertname"]),
            labels: labels, annotations: annotations, dedupKey: dedupKey,
            startsAt: startsAt, endsAt: endsAt, value: value, threshold: threshold)
        try limits.check(alert, at: path, summaryField: "summary")
        var kept = alert
        kept.dropEmptyLabels()
        return kept
    }
}
