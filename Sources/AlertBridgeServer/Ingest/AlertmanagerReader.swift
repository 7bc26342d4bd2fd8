import AlertBridgeCore

/// `POST /api/v1/alertmanager`: Prometheus Alertmanager's webhook, payload version 4,
/// read straight from the body. Only `version`, `alerts` and `truncatedAlerts` are used;
/// `receiver` and `status` are type-checked as they always were, every other member
/// (`groupLabels`, `commonLabels`, `externalURL`, …) is only checked to be JSON.
///
/// Each alert keeps Alertmanager's own fingerprint as its identity, so the two edge
/// hosts of one PoP stay two alerts inside one incident, and the incident resolves
/// only when both have (see `shared/fixtures/alertmanager`).
///
/// Like ``NativeAlertReader`` it answers what the `JSONDecoder` decoding it replaced
/// answered: malformed JSON first, then the first decoding problem in declaration order
/// (`version`, `receiver`, `status`, `truncatedAlerts`, `alerts`, and inside `alerts` in array order), then
/// the version, the number of alerts and the first invalid alert.
enum AlertmanagerReader {
    /// `truncatedAlerts` before `alerts`: a problem of `truncatedAlerts` is named before one
    /// of `alerts` (whose alerts are then only checked to be JSON).
    private enum Field: Int { case version, receiver, status, truncatedAlerts, alerts }

    private static let names = FieldNames(["version", "receiver", "status", "truncatedAlerts", "alerts"])

    static func read(_ body: UnsafeBufferPointer<UInt8>, limits: IngestLimits) throws(APIError) -> [Alert] {
        var reader = JSONReader(body)
        let kind = try reader.nextKind()
        guard kind == .object else {
            try reader.skipValue()
            try reader.expectEnd()
            throw .badRequest("expected an object, found \(kind.named)")
        }
        var problem = DecodingProblem()
        var version: String?
        var batch = Batch()
        var truncated = 0.0
        let seen = try reader.readFields(names) { reader, i throws(APIError) in
            switch Field(rawValue: i) {
            case .version: version = try reader.requiredString(&problem, i, names[i])
            case .receiver, .status: try reader.checkOptionalString(&problem, i, names[i])
            case .alerts: try batch.read(&reader, &problem, order: i, limits: limits)
            case .truncatedAlerts: truncated = try reader.optionalDouble(&problem, i, names[i]) ?? 0
            case nil: try reader.skipValue()
            }
        }
        try reader.expectEnd()
        if !seen.contains(Field.version.rawValue) { problem.note(Field.version.rawValue, .badRequest("is required", field: "version")) }
        if !seen.contains(Field.alerts.rawValue) { problem.note(Field.alerts.rawValue, .badRequest("is required", field: "alerts")) }
        if let error = problem.error { throw error }
        guard let version, version == "4" else {
            throw .badRequest("unsupported webhook payload version \"\(version ?? "")\" (expected \"4\")", field: "version")
        }
        if let invalid = batch.invalid { throw invalid }
        // A group over `max_alerts_per_request` is cut as the receiver's `max_alerts` cuts it:
        // refused, the whole group was lost, every notification of it (black-box round 27).
        let over = max(0, batch.alerts.count - limits.maxAlertsPerRequest)
        if over > 0 { batch.alerts.removeLast(over) }
        if truncated >= 1 || over > 0 {
            // The group was cut: its recoveries cannot resolve an incident that may hold
            // alerts left out (black-box round 23).
            let leftOut = truncated < Double(Int.max - over) ? Int(truncated) + over : Int.max
            for i in batch.alerts.indices { batch.alerts[i].groupLeftOut = leftOut }
        }
        return batch.alerts
    }

    /// The `alerts` array: each item is validated as soon as it is read, but its problem
    /// only kept, since a later decoding problem or the version would be reported first.
    private struct Batch {
        var alerts: [Alert] = []
        var count = 0
        var invalid: APIError?

        mutating func read(_ reader: inout JSONReader, _ problem: inout DecodingProblem, order: Int,
                           limits: IngestLimits) throws(APIError) {
            switch try reader.nextKind() {
            case .array: break
            case .null:
                try reader.readNull()
                return problem.null(order, expected: "an array", field: "alerts")
            default:
                try reader.skipValue()
                return problem.mismatch(order, expected: "an array", field: "alerts")
            }
            var more = try reader.enterArray()
            while more {
                let path = AlertPath(container: "alerts", index: count)
                count += 1
                if problem.error != nil {
                    // Only the syntax of the rest still matters.
                    try reader.skipValue()
                } else {
                    switch try reader.nextKind() {
                    case .object:
                        switch try WebhookAlertFields.read(&reader, at: path) {
                        case .success(let item) where invalid == nil:
                            do { alerts.append(try item.alert(at: path, limits: limits)) } catch { invalid = error }
                        case .success:
                            break
                        case .failure(let error):
                            problem.note(order, error)
                        }
                    case .null:
                        try reader.readNull()
                        problem.null(order, expected: "an object", field: path.prefix)
                    default:
                        try reader.skipValue()
                        problem.mismatch(order, expected: "an object", field: path.prefix)
                    }
                }
                more = try reader.nextElement()
            }
        }
    }
}

/// One alert of the webhook as read, before validation.
struct WebhookAlertFields {
    var status = ""
    var labels: Labels = [:]
    var annotations: Labels?
    var startsAt = WebhookTime.absent
    var endsAt = WebhookTime.absent
    var generatorURL: String?
    var fingerprint: String?

    /// A time as read; validated with the rest of the alert.
    enum WebhookTime {
        /// Absent, `null`, or Go's zero time (`0001-01-01T00:00:00Z`): Alertmanager's "no end".
        case absent
        case time(Timestamp)
        case invalid(String)
    }

    /// The members, in the declaration order that decides which problem is reported.
    private enum Field: Int {
        case status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint

        static let required = [status, labels]
    }

    private static let names = FieldNames(["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                                           "fingerprint"])

    /// Reads the object that is the reader's next value.
    static func read(_ reader: inout JSONReader, at path: AlertPath) throws(APIError) -> Result<Self, APIError> {
        var f = Self()
        var problem = DecodingProblem()
        let seen = try reader.readFields(names) { reader, i throws(APIError) in
            guard let field = Field(rawValue: i) else { return try reader.skipValue() }
            let name = names[i]
            switch field {
            case .status: f.status = try reader.requiredString(&problem, i, path.field(name)) ?? ""
            case .labels: f.labels = try reader.stringMap(&problem, i, required: true, at: path, name) ?? [:]
            case .annotations: f.annotations = try reader.stringMap(&problem, i, required: false, at: path, name)
            case .startsAt: f.startsAt = try time(&reader, &problem, i, path.field(name))
            case .endsAt: f.endsAt = try time(&reader, &problem, i, path.field(name))
            case .generatorURL: f.generatorURL = try reader.optionalString(&problem, i, path.field(name))
            case .fingerprint: f.fingerprint = try reader.optionalString(&problem, i, path.field(name))
            }
        }
        for field in Field.required where !seen.contains(field.rawValue) {
            problem.note(field.rawValue, .badRequest("is required", field: path.field(names[field.rawValue])))
        }
        if let error = problem.error { return .failure(error) }
        return .success(f)
    }

    /// Validates and normalises.
    func alert(at path: AlertPath, limits: IngestLimits) throws(APIError) -> Alert {
        guard let status = AlertStatus(rawValue: status) else {
            throw .badRequest("unknown status \"\(self.status)\" (expected firing or resolved)", field: path.field("status"))
        }
        let startsAt = try Self.timestamp(startsAt, field: path.field("startsAt"))
        let endsAt = try Self.timestamp(endsAt, field: path.field("endsAt"))
        var annotations = annotations ?? [:]
        // The graph of the rule's expression: where the person paged looks first. Kept as
        // the annotation `generator_url` (a page's `Source:`), unless the alert has its own.
        if let url = generatorURL, !url.isBlank, annotations["generator_url"] == nil { annotations["generator_url"] = url }
        if let fp = fingerprint, fp.isEmpty || fp.utf8.count > 64 {
            throw .badRequest("must be Alertmanager's 16-digit hex fingerprint", field: path.field("fingerprint"))
        }
        let alert = Alert(
            source: "alertmanager", status: status,
            severity: Severity.of(labels: labels),
            summary: limits.derivedSummary(annotations["summary"], annotations["description"], labels["alertname"]),
            labels: labels, annotations: annotations, fingerprint: fingerprint,
            startsAt: startsAt, endsAt: endsAt)
        // Alertmanager does not retry a 400: over-long values are cut, not refused, and
        // Prometheus 3's UTF-8 label names are taken.
        var fitted = limits.fitted(alert)
        try limits.check(fitted, at: path, summaryField: "annotations.summary", utf8Names: true)
        fitted.dropEmptyLabels()
        fitted.dropsLateRecoveries = true
        fitted.fingerprintCoversLabels = true  // Alertmanager's fingerprint is a hash of the labels
        return fitted
    }

    private static func timestamp(_ time: WebhookTime, field: @autoclosure () -> String) throws(APIError) -> Timestamp? {
        switch time {
        case .absent: return nil
        case .time(let t): return t
        case .invalid(let text): throw .badRequest(RFC3339.refusal(text), field: field())
        }
    }

    private static let goZeroDate = Array("0001-01-01".utf8)

    /// A `String?` holding a time, parsed straight from the body.
    private static func time(_ reader: inout JSONReader, _ problem: inout DecodingProblem, _ order: Int,
                             _ field: @autoclosure () -> String) throws(APIError) -> WebhookTime {
        switch try reader.nextKind() {
        case .string:
            return try reader.withString { bytes in
                if bytes.starts(with: goZeroDate) {
                    // The check was `String.hasPrefix`, which compares characters: only a
                    // non-ASCII byte after the date could join its last digit and differ.
                    if bytes.count == goZeroDate.count || bytes[goZeroDate.count] < 0x80
                        || String(decoding: bytes, as: UTF8.self).hasPrefix("0001-01-01") {
                        return .absent
                    }
                }
                return RFC3339.parse(utf8: bytes).map(WebhookTime.time) ?? .invalid(String(decoding: bytes, as: UTF8.self))
            }
        case .null:
            try reader.readNull()
        default:
            try reader.skipValue()
            problem.mismatch(order, expected: "a string", field: field())
        }
        return .absent
    }
}
