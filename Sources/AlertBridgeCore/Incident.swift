/// Where an incident is in its life. Only moves forward, except an explicit reopen.
public enum IncidentStatus: String, Sendable, Codable, CaseIterable {
    case triggered, acknowledged, resolved

    public var isOpen: Bool { self != .resolved }
}

/// What closed an incident. `report` times only the first two as responses: an
/// auto-resolve closes an incident nobody fixed, as long after its last alert as the
/// policy says.
public enum Resolution: String, Sendable, Codable, CaseIterable {
    /// Its monitor said it recovered: every alert resolved (the first, under `resolve: any`).
    case alerts
    /// An operator resolved it (`alertbridge resolve`, the API).
    case `operator`
    /// `auto_resolve_after`: its alerts went quiet and nothing recovered.
    case autoResolve = "auto_resolve"
}

/// An incident ticket: one per open dedup key, holding every alert merged into it.
public struct Incident: Sendable, Equatable {
    public var id: Int64
    public var dedupKey: String
    public var status: IncidentStatus
    public var title: String
    public var severity: Severity
    public var labels: Labels
    public var annotations: Labels
    public var rule: String
    public var policy: String
    public var tier: Int
    /// Firing alerts received (first and duplicates).
    public var alertCount: Int
    /// Distinct alerts (by fingerprint) currently firing.
    public var firingCount: Int
    public var createdAt: Timestamp
    public var lastAlertAt: Timestamp
    public var acknowledgedAt: Timestamp?
    public var acknowledgedBy: String?
    public var resolvedAt: Timestamp?
    public var resolvedBy: String?
    /// When the escalation engine must next look at this incident. Never later than
    /// the next thing actually due; an early look just finds nothing to do.
    public var nextEscalationAt: Timestamp?
    public var escalation: EscalationState

    public init(
        id: Int64, dedupKey: String, status: IncidentStatus, title: String, severity: Severity,
        labels: Labels, annotations: Labels, rule: String, policy: String, tier: Int = 1,
        alertCount: Int, firingCount: Int, createdAt: Timestamp, lastAlertAt: Timestamp,
        acknowledgedAt: Timestamp? = nil, acknowledgedBy: String? = nil,
        resolvedAt: Timestamp? = nil, resolvedBy: String? = nil, nextEscalationAt: Timestamp? = nil,
        escalation: EscalationState = EscalationState()
    ) {
        self.id = id
        self.dedupKey = dedupKey
        self.status = status
        self.title = title
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
        self.rule = rule
        self.policy = policy
        self.tier = tier
        self.alertCount = alertCount
        self.firingCount = firingCount
        self.createdAt = createdAt
        self.lastAlertAt = lastAlertAt
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.nextEscalationAt = nextEscalationAt
        self.escalation = escalation
    }
}

/// One line of an incident's history: what happened, when, and who did it.
public struct TimelineEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case created, alert, paged, escalated, acknowledged, resolved, reopened, note
        case deliveryFailed = "delivery_failed"
        case slaBreached = "sla_breached"
    }

    public var incidentID: Int64
    public var at: Timestamp
    public var kind: Kind
    public var by: String?
    public var detail: String?

    public init(incidentID: Int64, at: Timestamp, kind: Kind, by: String? = nil, detail: String? = nil) {
        self.incidentID = incidentID
        self.at = at
        self.kind = kind
        self.by = by
        self.detail = detail
    }
}

/// What ingesting one alert did, as the ingest endpoints answer it.
public struct IngestOutcome: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case created, merged, resolved, reopened, suppressed
    }

    /// `nil` only for a recovery of something alertbridge never saw firing.
    public var incidentID: Int64?
    public var dedupKey: String
    public var kind: Kind
    /// A merge that paged: the incident was created while inhibited (or without a policy)
    /// and this alert arrived uninhibited. Pages were written, as for `created`.
    public var startedPaging: Bool
    /// The engine must look now: a merge into an incident that had fallen quiet
    /// (`auto_resolve_after`; after a start it waited for this alert) or that was kept open
    /// after its recovery (`keep_open_for`) made its overdue step due, or a recovery that
    /// keeps its incident open set the time it resolves.
    public var stepDueNow: Bool
    /// Tiers this commit paged for the incident (a new incident's first page, a reopen, a
    /// rise in severity), on the incident's last outcome of the batch, for
    /// `alertbridge_escalation_pages_total`: the engine counts the pages it decides, and
    /// without these the metric missed most first pages (black-box round 34).
    public var tierPages = 0

    public init(incidentID: Int64?, dedupKey: String, kind: Kind, startedPaging: Bool = false, stepDueNow: Bool = false) {
        self.incidentID = incidentID
        self.dedupKey = dedupKey
        self.kind = kind
        self.startedPaging = startedPaging
        self.stepDueNow = stepDueNow
    }
}

extension Incident {
    /// Ends the current episode, at `at`, by `by`: nothing fires and nothing is due any
    /// more, and no `keep_open_for` runs on. What every resolve sets (its alerts' recovery,
    /// the end of a keep-open, auto-resolve, an operator), in one place.
    public mutating func resolve(at: Timestamp, by: String, _ resolution: Resolution) {
        status = .resolved
        resolvedAt = at
        resolvedBy = by
        escalation.resolution = resolution
        escalation.recovery = nil
        firingCount = 0
        nextEscalationAt = nil
    }
}

extension Incident {
    /// When the incident was first paged, and so when its SLA clocks started: nobody can be
    /// late for an incident nobody was paged for (a silence or an inhibition held it).
    /// A row stored before `firstPagedAt` existed was paged at its creation if it paged.
    public var firstPagedAt: Timestamp? {
        escalation.firstPagedAt ?? (escalation.step > 0 ? createdAt : nil)
    }

    /// When `acknowledge_within` counts from: the first page, or a reopened episode's
    /// (``EscalationState/ackClockFrom``).
    public var acknowledgeSLAFrom: Timestamp? {
        escalation.ackClockFrom ?? firstPagedAt
    }
}
