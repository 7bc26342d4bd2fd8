/// Bounds on what one request and one alert may carry, from `limits:` in alertbridge.yaml.
/// Anything over is refused with a 400 that names the field and the limit, so a broken
/// sender cannot bloat the store or the pages.
public struct IngestLimits: Sendable, Equatable {
    public var maxAlertsPerRequest = 10_000
    public var maxLabels = 64
    public var maxAnnotations = 64
    public var maxNameLength = 128
    public var maxLabelValueLength = 1024
    public var maxAnnotationValueLength = 8192
    public var maxSummaryLength = 1024
    public var maxDedupKeyLength = 512

    public init() {}

    /// A summary taken from an annotation or a label rather than sent as one: the first of
    /// `candidates` that is not blank (an empty `summary` annotation titled pages with
    /// nothing at all: black-box round 24), else "alert"; cut to ``maxSummaryLength`` bytes
    /// at a character boundary, ending in "…". The sender did not write it as a summary, so
    /// its length is no reason to refuse the alert (Alertmanager does not retry a 400); the
    /// whole text stays in the annotation.
    public func derivedSummary(_ candidates: String?...) -> String {
        Self.cut(candidates.lazy.compactMap { $0 }.first { !$0.isBlank } ?? "alert", toBytes: maxSummaryLength)
    }

    /// An alert from a sender that does not retry a 400 (Alertmanager): a refusal would lose
    /// its whole group, so values over their limits are cut (ending in "…") rather than
    /// refused, and of more labels or annotations than the limits (or a name over
    /// ``maxNameLength``) those that fit are kept (black-box round 27: one alert of 67 labels
    /// refused its group, every notification of it). Alertmanager sends its own fingerprint,
    /// so a cut label value or a label left out does not change which alert it is.
    public func fitted(_ alert: Alert) -> Alert {
        var alert = alert
        alert.labels = Self.fit(alert.labels, max: maxLabels, maxName: maxNameLength, first: ["alertname", "severity"])
            .mapValues { Self.cut($0, toBytes: maxLabelValueLength) }
        alert.annotations = Self.fit(alert.annotations, max: maxAnnotations, maxName: maxNameLength,
                                     first: ["summary", "description", "runbook_url", "generator_url"])
            .mapValues { Self.cut($0, toBytes: maxAnnotationValueLength) }
        return alert
    }

    /// The entries whose names fit in `maxName` bytes, at most `max` of them: those named in
    /// `first`, then the shortest names: the labels rules and dedup keys are written with
    /// (`pop`, `service`, `instance`) are short, those a crowded alert carries in bulk
    /// (`label_app_kubernetes_io_name`) long.
    static func fit(_ map: Labels, max: Int, maxName: Int, first: [String]) -> Labels {
        let named = map.filter { $0.key.utf8.count <= maxName }
        guard named.count > max else { return named }
        let rest = named.keys.filter { !first.contains($0) }.sorted { ($0.utf8.count, $0) < ($1.utf8.count, $1) }
        let order = first.filter { named[$0] != nil } + rest
        return Labels(uniqueKeysWithValues: order.prefix(max).map { ($0, named[$0]!) })
    }

    /// `text` if it fits in `limit` UTF-8 bytes, else its start, cut at a character
    /// boundary, ending in "…", within the limit.
    public static func cut(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        let ellipsis = "…"
        guard limit > ellipsis.utf8.count else { return text.prefix(utf8Bytes: limit) }
        return text.prefix(utf8Bytes: limit - ellipsis.utf8.count) + ellipsis
    }

    /// The YAML keys, each with the property it sets, for the config loader and the docs.
    public static var keys: [(key: String, path: WritableKeyPath<IngestLimits, Int>)] { [
        ("max_alerts_per_request", \.maxAlertsPerRequest),
        ("max_labels", \.maxLabels),
        ("max_annotations", \.maxAnnotations),
        ("max_label_value_bytes", \.maxLabelValueLength),
        ("max_annotation_value_bytes", \.maxAnnotationValueLength),
        ("max_summary_bytes", \.maxSummaryLength),
        ("max_dedup_key_bytes", \.maxDedupKeyLength),
    ] }
}

extension String {
    /// Empty, or only whitespace: no text a person could read.
    public var isBlank: Bool { allSatisfy(\.isWhitespace) }
}
