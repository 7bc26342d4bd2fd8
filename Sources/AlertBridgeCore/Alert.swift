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
    /// Whether the fingerprint is a hash of the labels (ours, or Alertmanager's), so a
    /// copy with the same fingerprint has the same labels. A PagerDuty key or a heartbeat
    /// name is not: its labels may change from one event to the next.
    public var fingerprintCoversLabels: Bool
    public var startsAt: Timestamp?
    public var endsAt: Timestamp?
    public var value: Double?
    public var threshold: Double?
    /// Whether a firing copy that started before this alert's recorded end is a late copy
    /// of the ended episode, and dropped: a heartbeat's miss decided before the ping that
    /// recovered it. Nobody else's is: a script that sends the same `starts_at` again, a
    /// PagerDuty trigger after a resolve (whatever its `timestamp` says, as in PagerDuty),
    /// and an Alertmanager alert fired again from its first `startsAt` are the problem back.
    /// Alertmanager resolves an alert whose `endsAt` passes without news from Prometheus
    /// and fires it again, with the start it had, when Prometheus is back (black-box round
    /// 27: dropped as late, every notification after, and the outage paged nobody).
    public var dropsLateCopies = false
    /// Whether a recovery that ended before the alert's current episode started is a late
    /// copy of an earlier one, and dropped: Alertmanager's (retries and HA pairs deliver
    /// out of order).
    public var dropsLateRecoveries = false
    /// How many alerts of its Alertmanager group the webhook left out (`truncatedAlerts`,
    /// the receiver's `max_alerts`). A recovery in such a webhook does not resolve its
    /// incident: an alert left out may still fire, and the webhook cannot say.
    public var groupLeftOut = 0

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
        self.fingerprintCoversLabels = fingerprint == nil
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.value = value
        self.threshold = threshold
    }

    /// This alert as its recovery leaves it: the recovery's status, end, source and labels;
    /// what fired (summary, severity, annotations; its value and start where the recovery
    /// has none) stays, as the stores keep it on the row (`AlertRowSQL`).
    public func recovered(by recovery: Alert) -> Alert {
        var alert = recovery
        alert.summary = summary
        alert.severity = severity
        alert.annotations = annotations
        alert.value = recovery.value ?? value
        alert.threshold = recovery.threshold ?? threshold
        alert.startsAt = recovery.startsAt ?? startsAt
        return alert
    }

    /// Drops the labels with an empty value, as Prometheus does: `{pop: ""}` and no `pop`
    /// are one alert (they were two incidents, and a recovery without `pop` closed only
    /// one; black-box round 24). A fingerprint of the labels is taken again; a sender's own
    /// (Alertmanager's) stays.
    public mutating func dropEmptyLabels() {
        guard labels.values.contains(where: \.isEmpty) else { return }
        labels = labels.filter { !$0.value.isEmpty }
        if fingerprintCoversLabels { fingerprint = Fingerprint.of(labels) }
    }

    /// A short name for this alert inside an incident's timeline.
    public var displayName: String {
        labels["instance"] ?? labels["host"] ?? fingerprint
    }

    /// What a recovery line adds to a name that is only a fingerprint (a probe's alert has
    /// no host): `: SIN1 unreachable from probe sydney`, as its firing line says. It read
    /// `3933af168f5ceee8 recovered`, and nobody could tell which probe (black-box round 25).
    /// Nothing when the recovery sent no summary of its own (its summary is then its name,
    /// `Probe`, which said less than the firing line).
    public var recoveryGloss: String {
        (labels["instance"] ?? labels["host"]) != nil || summary.isBlank || summary == labels["alertname"] ? "" : ": \(summary)"
    }
}
