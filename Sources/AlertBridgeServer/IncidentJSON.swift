import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeStore
import Foundation

/// The wire shape of an incident (DESIGN.md §3). Absent values are explicit `null`s
/// so scripts can rely on every key being present.
struct IncidentJSON: Encodable {
    var incident: Incident
    /// Pages that reached nobody in this episode (``IncidentStore/undeliveredPages(of:)``).
    var undelivered = UndeliveredPages()
    /// How many distinct alerts it holds (``IncidentStore/distinctAlerts(of:)``); a detail's
    /// `alerts` say it.
    var distinctAlerts: Int?
    var alerts: [StoredAlert]?
    var timeline: [TimelineEntry]?
    /// What its policy does next if nobody acts (an incident's detail only).
    var nextStep: EscalationPlanner.NextStep?
    /// When the policy it goes by is not the one loaded now by that name, what it goes by
    /// (``EscalationContext/policyNote(of:copy:)``; an incident's detail only).
    var policyNote: String?

    enum Keys: String, CodingKey {
        case id, status, dedup_key, title, severity, labels, annotations, rule, policy, policy_note, tier, alert_count, distinct_alerts
        case firing_alerts, created_at, first_paged_at, last_alert_at, acknowledged_at, acknowledged_by, first_acknowledged_at
        case resolved_at, resolved_by, resolution
        case next_escalation_at, next_step, inhibit_wait_until, kept_open_until, paged, failed_pages, retrying_pages, escalation_ended, inhibited_by, sla_breaches, alerts,
             timeline
    }

    func encode(to encoder: any Encoder) throws {
        let i = incident
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(i.id, forKey: .id)
        try c.encode(i.status.rawValue, forKey: .status)
        try c.encode(i.dedupKey, forKey: .dedup_key)
        try c.encode(i.title, forKey: .title)
        try c.encode(i.severity.rawValue, forKey: .severity)
        try c.encode(i.labels, forKey: .labels)
        try c.encode(i.annotations, forKey: .annotations)
        try c.encode(i.rule, forKey: .rule)
        try c.encode(i.policy, forKey: .policy)
        try c.encode(i.tier, forKey: .tier)
        try c.encode(i.alertCount, forKey: .alert_count)
        try c.encode(distinctAlerts ?? alerts?.count ?? 0, forKey: .distinct_alerts)
        try c.encode(i.firingCount, forKey: .firing_alerts)
        try c.encode(i.createdAt, forKey: .created_at)
        try c.encode(i.firstPagedAt, forKey: .first_paged_at)
        try c.encode(i.lastAlertAt, forKey: .last_alert_at)
        try c.encode(i.acknowledgedAt, forKey: .acknowledged_at)
        try c.encode(i.acknowledgedBy, forKey: .acknowledged_by)
        try c.encode(i.escalation.firstAcknowledgedAt, forKey: .first_acknowledged_at)
        try c.encode(i.resolvedAt, forKey: .resolved_at)
        try c.encode(i.resolvedBy, forKey: .resolved_by)
        try c.encode(i.escalation.resolution?.rawValue, forKey: .resolution)
        try c.encode(i.nextEscalationAt, forKey: .next_escalation_at)
        try c.encode(i.escalation.inhibitWaitFrom == nil ? nil : i.escalation.heldUntil, forKey: .inhibit_wait_until)
        try c.encode(i.status.isOpen ? i.escalation.recovery?.resolvesAt : nil, forKey: .kept_open_until)
        try c.encode(i.escalation.hasPaged, forKey: .paged)
        try c.encode(undelivered.failed, forKey: .failed_pages)
        try c.encode(undelivered.retrying, forKey: .retrying_pages)
        try c.encode(i.escalation.ended, forKey: .escalation_ended)
        try c.encode(i.escalation.inhibitedBy.sorted(), forKey: .inhibited_by)
        var breaches: [String] = []
        if i.escalation.ackSLABreached { breaches.append("acknowledge") }
        if i.escalation.resolveSLABreached { breaches.append("resolve") }
        try c.encode(breaches, forKey: .sla_breaches)
        if let alerts {
            try c.encode(nextStep.map(NextStepJSON.init), forKey: .next_step)
            try c.encode(policyNote, forKey: .policy_note)
            try c.encode(alerts.map(AlertJSON.init), forKey: .alerts)
        }
        if let timeline { try c.encode(timeline.map(TimelineJSON.init), forKey: .timeline) }
    }
}

/// A listing: its incidents, and how far back resolved ones are kept (`retention:`), so a
/// report over a longer window can say it counts only those resolved since (black-box
/// round 41: `report --since 30d` with `retention: 2d` gave skewed counts and said nothing).
struct IncidentListJSON: Encodable {
    var incidents: [IncidentJSON]
    var retentionCutoff: Timestamp?
    enum Keys: String, CodingKey { case incidents, retention_cutoff }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(incidents, forKey: .incidents)
        try c.encode(retentionCutoff, forKey: .retention_cutoff)
    }
}

/// `{"action": "page", "tier": 2, "tier_name": "rnd", "at": …, "text": "tier 2 (rnd) is paged at …"}`:
/// the step a page's `Next:` line describes, for `show` and scripts.
struct NextStepJSON: Encodable {
    var step: EscalationPlanner.NextStep
    enum Keys: String, CodingKey { case action, tier, tier_name, at, window, timer, held_by, text }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let (action, tier, name): (String, Int?, String?) = switch step.action {
        case .page(let tier, let name): ("page", tier, name)
        case .repeatPolicy(let tier1, _, _): ("repeat", 1, tier1)
        case .end: ("end", nil, nil)
        case .ackTimeout(let tier1): ("ack_timeout", 1, tier1)
        case .waitsForAlert: ("waits_for_alert", nil, nil)
        case .waitsForInhibitor: ("waits_for_inhibitor", nil, nil)
        case .awaitsInhibitor(let tier1): ("inhibit_wait", 1, tier1)
        case .inhibitorsResolved(let tier1, _): ("inhibitors_resolved", 1, tier1)
        case .keptOpen: ("kept_open", nil, nil)
        }
        try c.encode(action, forKey: .action)
        try c.encode(tier, forKey: .tier)
        try c.encode(name, forKey: .tier_name)
        try c.encode(step.at, forKey: .at)
        try c.encode(step.window?.name, forKey: .window)
        try c.encode(DurationText.format(step.timer), forKey: .timer)
        try c.encode(step.heldBy, forKey: .held_by)
        try c.encode(PageText.next(step, in: PageText.utc), forKey: .text)
    }
}

struct TimelineJSON: Encodable {
    var entry: TimelineEntry
    enum Keys: String, CodingKey { case at, kind, by, detail }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(entry.at, forKey: .at)
        try c.encode(entry.kind.rawValue, forKey: .kind)
        try c.encode(entry.by, forKey: .by)
        try c.encode(entry.detail, forKey: .detail)
    }
}

struct AlertJSON: Encodable {
    var alert: StoredAlert
    enum Keys: String, CodingKey {
        case fingerprint, status, severity, summary, labels, annotations, source, value, threshold
        case starts_at, ends_at, first_seen_at, last_seen_at, received_count
    }

    func encode(to encoder: any Encoder) throws {
        let a = alert
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(a.fingerprint, forKey: .fingerprint)
        try c.encode(a.status.rawValue, forKey: .status)
        try c.encode(a.severity.rawValue, forKey: .severity)
        try c.encode(a.summary, forKey: .summary)
        try c.encode(a.labels, forKey: .labels)
        try c.encode(a.annotations, forKey: .annotations)
        try c.encode(a.source, forKey: .source)
        try c.encode(a.value, forKey: .value)
        try c.encode(a.threshold, forKey: .threshold)
        try c.encode(a.startsAt, forKey: .starts_at)
        try c.encode(a.endsAt, forKey: .ends_at)
        try c.encode(a.firstSeenAt, forKey: .first_seen_at)
        try c.encode(a.lastSeenAt, forKey: .last_seen_at)
        try c.encode(a.receivedCount, forKey: .received_count)
    }
}
