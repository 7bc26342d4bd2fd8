/// One alert as every ingest format normalises it: the only shape the core sees.
public struct Alert: Sendable, Equatable {
    public var source: String
    public var status: AlertStatus
    public var severity: Severity
    public var summary: String
    public var labels: Labels
    public var annotations: Labels
    /// A key chosen by the sender (native `dedup_key`, PagerDuty `dedup_key`).
    public var dedupKey: String?
    /// Identity of this alert inside its incident; Alertmanager sends its own.
    public var fingerprint: String
    public var startsAt: Timestamp?
    public var endsAt: Timestamp?
    public var value: Double?
    public var threshold: Double?
    /// Whether a firing copy that started before this alert's recorded end is a late copy
    /// of the ended episode, and dropped: Alertmanager retries and HA pairs deliver out of
    /// order. A PagerDuty trigger is not: after a resolve it is the problem back, whatever
    /// its `timestamp` says, as in PagerDuty.
    public var dropsLateCopies = true

    public init(
        source: String, status: AlertStatus, severity: Severity, summary: String,
        labels: Labels, annotations: Labels = [:], dedupKey: String? = nil,
        fingerprint: String? = nil, startsAt: Timestamp? = nil, endsAt: Timestamp? = nil,
        value: Double? = nil, threshold: Double? = nil
    ) {
        self.source = source
        self.status = status
        self.severity = severity
        self.summary = summary
        self.labels = labels
        self.annotations = annotations
        self.dedupKey = dedupKey
        self.fingerprint = fingerprint ?? Fingerprint.of(labels)
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.value = value
        self.threshold = threshold
    }

    /// A short name for this alert inside an incident's timeline.
    public var displayName: String {
        labels["instance"] ?? labels["host"] ?? fingerprint
    }
}
