import AlertBridgeCore
@testable import AlertBridgeServer
import Foundation
import Hummingbird

/// The ingest decoding that ``IngestJSON`` replaced, kept as the reference of the
/// differential tests: `JSONDecoder` into `Codable` structs, `DecodingErrors` for the
/// messages, then the same validation as before. Rules that came later are here too:
/// `\u0000` reads as U+FFFD (through ``JSONBody``, as the `JSONDecoder` endpoints do), a
/// summary taken from an annotation or label is cut (``IngestLimits/derivedSummary(_:)``),
/// and an invalid label name is named as `labels.NAME`, once its length is checked.
enum JSONDecoderReference {
    static func native(_ body: [UInt8], limits: IngestLimits = IngestLimits()) -> Result<[Alert], APIError> {
        let data = JSONBody.data(ByteBuffer(bytes: body))
        let isArray = body.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "[")
        do {
            if isArray {
                let payloads = try decoder.decode([NativeAlertPayload].self, from: data)
                guard !payloads.isEmpty else { throw APIError.badRequest("the array holds no alert") }
                guard payloads.count <= limits.maxAlertsPerRequest else {
                    throw APIError.badRequest("has \(payloads.count) alerts, more than the limit of \(limits.maxAlertsPerRequest)")
                }
                return .success(try payloads.enumerated().map { try $1.alert(at: "[\($0)]", limits: limits) })
            }
            return .success([try decoder.decode(NativeAlertPayload.self, from: data).alert(at: "", limits: limits)])
        } catch {
            return .failure(DecodingErrors.apiError(error))
        }
    }

    static func alertmanager(_ body: [UInt8], limits: IngestLimits = IngestLimits()) -> Result<[Alert], APIError> {
        do {
            return .success(try decoder.decode(AlertmanagerPayload.self, from: JSONBody.data(ByteBuffer(bytes: body)))
                .normalised(limits: limits))
        } catch {
            return .failure(DecodingErrors.apiError(error))
        }
    }

    private static let decoder = JSONDecoder()

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
                severity = Severity.of(labels: labels)
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
                summary: summary.flatMap { $0.isBlank ? nil : $0 } ?? limits.derivedSummary(annotations["summary"], labels["alertname"]),
                labels: labels, annotations: annotations, dedupKey: dedup_key,
                startsAt: starts_at, endsAt: ends_at, value: value, threshold: threshold)
            try check(alert, at: prefix, summaryField: "summary", limits: limits)
            var kept = alert
            kept.dropEmptyLabels()
            return kept
        }
    }

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
        var truncatedAlerts: Double?
        var alerts: [Item]

        func normalised(limits: IngestLimits) throws(APIError) -> [Alert] {
            guard version == "4" else {
                throw .badRequest("unsupported webhook payload version \"\(version)\" (expected \"4\")", field: "version")
            }
            var out: [Alert] = []
            for (index, item) in alerts.enumerated() {
                let prefix = "alerts[\(index)]"
                guard let status = AlertStatus(rawValue: item.status) else {
                    throw .badRequest("unknown status \"\(item.status)\" (expected firing or resolved)", field: "\(prefix).status")
                }
                let startsAt = try Self.time(item.startsAt, field: "\(prefix).startsAt")
                let endsAt = try Self.time(item.endsAt, field: "\(prefix).endsAt")
                var annotations = item.annotations ?? [:]
                if let url = item.generatorURL, !url.isBlank, annotations["generator_url"] == nil { annotations["generator_url"] = url }
                if let fp = item.fingerprint, fp.isEmpty || fp.utf8.count > 64 {
                    throw .badRequest("must be Alertmanager's 16-digit hex fingerprint", field: "\(prefix).fingerprint")
                }
                let alert = Alert(
                    source: "alertmanager", status: status,
                    severity: Severity.of(labels: item.labels),
                    summary: limits.derivedSummary(annotations["summary"], annotations["description"], item.labels["alertname"]),
                    labels: item.labels, annotations: annotations, fingerprint: item.fingerprint,
                    startsAt: startsAt, endsAt: endsAt)
                // Alertmanager's: fitted, not refused (it does not retry a 400).
                var fitted = limits.fitted(alert)
                try check(fitted, at: prefix, summaryField: "annotations.summary", limits: limits, utf8Names: true)
                fitted.dropEmptyLabels()
                fitted.dropsLateRecoveries = true
                fitted.fingerprintCoversLabels = true
                out.append(fitted)
            }
            // Over the limit: cut, as `truncatedAlerts` says the receiver's `max_alerts` cut it.
            let over = max(0, out.count - limits.maxAlertsPerRequest)
            out.removeLast(over)
            let truncated = truncatedAlerts.map { $0 >= 1 ? ($0 < Double(Int.max - over) ? Int($0) : Int.max - over) : 0 } ?? 0
            if truncated + over > 0 {
                for i in out.indices { out[i].groupLeftOut = truncated + over }
            }
            return out
        }

        private static func time(_ text: String?, field: String) throws(APIError) -> Timestamp? {
            guard let text, !text.hasPrefix("0001-01-01") else { return nil }
            guard let t = RFC3339.parse(text) else {
                throw .badRequest("not an RFC 3339 time: \"\(text)\"\(RFC3339.impossibleDate(text))", field: field)
            }
            return t
        }
    }

    static func check(_ alert: Alert, at prefix: String, summaryField: String, limits: IngestLimits,
                      utf8Names: Bool = false) throws(APIError) {
        func field(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }
        guard !alert.labels.isEmpty else { throw .badRequest("needs at least one label", field: field("labels")) }
        guard alert.labels.values.contains(where: { !$0.isEmpty }) else {
            throw .badRequest("needs at least one label with a value (an empty value is no label)", field: field("labels"))
        }
        try checkMap(alert.labels, field: field("labels"), max: limits.maxLabels, maxValue: limits.maxLabelValueLength,
                     validateNames: !utf8Names, limits: limits)
        if utf8Names, let bad = alert.labels.keys.first(where: { $0.isEmpty || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            throw .badRequest("is not a valid name (empty, or with control characters)", field: "\(field("labels")).\(bad)")
        }
        try checkMap(alert.annotations, field: field("annotations"), max: limits.maxAnnotations,
                     maxValue: limits.maxAnnotationValueLength, validateNames: false, limits: limits)
        if alert.summary.utf8.count > limits.maxSummaryLength {
            throw .badRequest("is longer than \(limits.maxSummaryLength) bytes", field: field(summaryField))
        }
        if let key = alert.dedupKey, key.utf8.count > limits.maxDedupKeyLength {
            throw .badRequest("is longer than \(limits.maxDedupKeyLength) bytes", field: field("dedup_key"))
        }
    }

    private static func checkMap(_ map: Labels, field: String, max: Int, maxValue: Int, validateNames: Bool,
                                 limits: IngestLimits) throws(APIError) {
        guard map.count <= max else { throw .badRequest("has \(map.count) entries, more than the limit of \(max)", field: field) }
        for (name, value) in map {
            if name.utf8.count > limits.maxNameLength {
                throw .badRequest("name is longer than \(limits.maxNameLength) bytes", field: "\(field).\(name.prefix(32))")
            }
            if validateNames && !Matcher.isValidLabelName(name) {
                throw .badRequest("\"\(name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", field: "\(field).\(name)")
            }
            if value.utf8.count > maxValue {
                throw .badRequest("is longer than \(maxValue) bytes", field: "\(field).\(name)")
            }
        }
    }
}
