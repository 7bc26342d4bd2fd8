import AlertBridgeCore

/// The row documents of the PostgreSQL store's batch statements: each batch sends its
/// incidents, alerts, timeline and outbox rows as one JSON array per table, which
/// `jsonb_to_recordset` fans out, so a batch is a fixed handful of round trips.
extension JSONWriter {
    static func incidents(_ incidents: [Incident]) -> String {
        array(incidents) { w, i in
            w.field("id", i.id)
            w.field("dedup_key", i.dedupKey)
            w.field("status", i.status.rawValue)
            w.field("title", i.title)
            w.field("severity", i.severity.rawValue)
            w.field("labels", i.labels)
            w.field("annotations", i.annotations)
            w.field("rule", i.rule)
            w.field("policy", i.policy)
            w.field("tier", i.tier)
            w.field("alert_count", i.alertCount)
            w.field("firing_count", i.firingCount)
            w.field("created_at", i.createdAt.milliseconds)
            w.field("last_alert_at", i.lastAlertAt.milliseconds)
            w.field("acknowledged_at", i.acknowledgedAt?.milliseconds)
            w.field("acknowledged_by", i.acknowledgedBy)
            w.field("resolved_at", i.resolvedAt?.milliseconds)
            w.field("resolved_by", i.resolvedBy)
            w.field("next_escalation_at", i.nextEscalationAt?.milliseconds)
            w.key("escalation")
            w.value(i.escalation)
        }
    }

    static func alerts(_ changes: [IngestPlanner.AlertChange]) -> String {
        array(changes) { w, c in
            let a = c.alert
            w.field("incident_id", c.incidentID)
            w.field("fingerprint", a.fingerprint)
            w.field("status", a.status.rawValue)
            w.field("severity", a.severity.rawValue)
            w.field("summary", a.summary)
            w.field("labels", a.labels)
            w.field("annotations", a.annotations)
            w.field("source", a.source)
            w.field("value", a.value)
            w.field("threshold", a.threshold)
            w.field("starts_at", a.startsAt?.milliseconds)
            w.field("ends_at", a.endsAt?.milliseconds)
            w.field("first_seen_at", c.firstSeenAt.milliseconds)
            w.field("last_seen_at", c.lastSeenAt.milliseconds)
            w.field("received", c.received)
        }
    }

    /// One outbox row per target of each page, all due at `now`.
    static func outbox(_ pages: [EscalationPlanner.Page], now: Timestamp) -> String {
        let rows = pages.flatMap { page in page.targets.enumerated().map { (page, page.firstTarget + $0.offset, $0.element) } }
        return array(rows) { w, row in
            let (page, index, target) = row
            w.field("incident_id", page.incidentID)
            w.field("step", page.step)
            w.field("event", page.reason.rawValue)
            w.field("tier", page.tier)
            w.field("tier_name", page.tierName)
            w.field("target", index)
            w.field("connector", target.connector)
            w.field("recipients", target.to)
            w.field("at", now.milliseconds)
        }
    }

    static func timeline(_ entries: [TimelineEntry]) -> String {
        array(entries) { w, t in
            w.field("incident_id", t.incidentID)
            w.field("at", t.at.milliseconds)
            w.field("kind", t.kind.rawValue)
            w.field("by", t.by)
            w.field("detail", t.detail)
        }
    }
}
