import AlertBridgeCore
import Foundation
import SQLiteNIO

/// The statements behind ``SQLiteStore``, run on its writer's or reader's thread.
///
/// Rows are written one prepared statement execution each: with no hop per statement
/// and no re-preparing, that is cheaper than any set-based trick (`json_each` over a
/// JSON parameter cost more in JSON parsing than it saved).
extension SQLiteSession {
    static let incidentColumns = """
        id, dedup_key, status, title, severity, labels, annotations, rule, policy, tier, alert_count, \
        firing_count, created_at, last_alert_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, \
        next_escalation_at, escalation
        """

    func incident(_ id: Int64) throws -> Incident? {
        try rows("SELECT \(Self.incidentColumns) FROM incidents WHERE id = ?", [.integer(Int(id))])
            .first.map(Self.decodeIncident)
    }

    /// The newest incident of each key that has one, open or resolved (resolved ones
    /// matter for reopening), with the state of each of its alerts.
    func latestIncidents(keys: [String]) throws -> [String: IngestCache.Entry] {
        let latest = try prepare("SELECT \(Self.incidentColumns) FROM incidents WHERE dedup_key = ? ORDER BY id DESC LIMIT 1")
        let alertStates = try prepare("SELECT fingerprint, status, starts_at, ends_at FROM alerts WHERE incident_id = ?")
        var out: [String: IngestCache.Entry] = [:]
        for key in keys {
            guard let incident = try rows(latest, [.text(key)]).first.map(Self.decodeIncident) else { continue }
            var alerts: [String: IngestCache.AlertState] = [:]
            for row in try rows(alertStates, [.integer(Int(incident.id))]) {
                alerts[row.column("fingerprint")!.string!] = IngestCache.AlertState(
                    status: AlertStatus(rawValue: row.column("status")!.string!) ?? .firing,
                    startsAt: Self.time(row.column("starts_at")), endsAt: Self.time(row.column("ends_at")))
            }
            out[key] = IngestCache.Entry(incident: incident, alerts: alerts)
        }
        return out
    }

    /// Open incidents of the given rules: the sources that may inhibit alerts in a batch.
    func openIncidents(rules: [String]) throws -> [Incident] {
        var out: [Incident] = []
        for rule in rules {
            out += try rows("SELECT \(Self.incidentColumns) FROM incidents WHERE status <> 'resolved' AND rule = ?",
                            [.text(rule)]).map(Self.decodeIncident)
        }
        return out
    }

    /// Incidents of the given rules resolved at or after `since`: the sources an incident at
    /// the end of its inhibit wait looks at besides the open ones.
    func resolvedIncidents(rules: [String], since: Timestamp) throws -> [Incident] {
        var out: [Incident] = []
        for rule in rules {
            out += try rows("SELECT \(Self.incidentColumns) FROM incidents WHERE status = 'resolved' AND rule = ? AND resolved_at >= ?",
                            [.text(rule), .integer(Int(since.milliseconds))]).map(Self.decodeIncident)
        }
        return out
    }

    /// Upserts incidents. Ids from `firstNewID` up are new rows and carry their policy
    /// snapshot; the others are updates, with a snapshot when they reopened. An incident
    /// that only merged alerts since `before` (by dedup key) updates just its counters.
    /// - Parameter bodies: the writer's encoded snapshots, reused across batches.
    /// - Returns: the new incidents' labels and annotations as written, for their alerts' rows.
    @discardableResult
    func write(incidents: [Incident], firstNewID: Int64 = .max, snapshots: [Int64: EscalationPolicy] = [:],
               before: [String: Incident] = [:], bodies: SnapshotBodies = SnapshotBodies()) throws -> WrittenMaps {
        var written = WrittenMaps()
        guard !incidents.isEmpty else { return written }
        var snapshotIDs: [String: SQLiteData] = [:]
        func snapshot(_ id: Int64) throws -> SQLiteData {
            guard let policy = snapshots[id] else { return .null }
            if let known = snapshotIDs[policy.name] { return known }
            let known = try snapshotID(bodies.body(of: policy))
            snapshotIDs[policy.name] = known
            return known
        }
        let counters = try prepare("UPDATE incidents SET severity = ?2, alert_count = ?3, firing_count = ?4, last_alert_at = ?5 WHERE id = ?1")
        let insert = try prepare("""
            INSERT INTO incidents (\(Self.incidentColumns), policy_snapshot_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let update = try prepare("""
            UPDATE incidents SET status = ?2, title = ?3, severity = ?4, tier = ?5, alert_count = ?6, firing_count = ?7,
                last_alert_at = ?8, acknowledged_at = ?9, acknowledged_by = ?10, resolved_at = ?11, resolved_by = ?12,
                next_escalation_at = ?13, escalation = ?14, policy = ?15
            WHERE id = ?1
            """)
        // The incidents a batch creates share one escalation state (paged at the same
        // instant), so its JSON is written once per distinct state, not once per row.
        var lastEscalation: (state: EscalationState, text: SQLiteData)?
        for i in incidents {
            if let old = before[i.dedupKey], old.id == i.id, snapshots[i.id] == nil, Self.onlyCountersDiffer(old, i) {
                try run(counters, [
                    .integer(Int(i.id)), .text(i.severity.rawValue), .integer(i.alertCount), .integer(i.firingCount),
                    Self.data(i.lastAlertAt),
                ])
                try expectOneRowChanged(incident: i.id)
                continue
            }
            let escalation: SQLiteData
            if let last = lastEscalation, last.state == i.escalation {
                escalation = last.text
            } else {
                escalation = .text(JSONWriter.text { $0.value(i.escalation) })
                lastEscalation = (i.escalation, escalation)
            }
            if i.id >= firstNewID {
                let (labels, annotations) = written.write(i)
                try run(insert, [
                        .integer(Int(i.id)), .text(i.dedupKey), .text(i.status.rawValue), .text(i.title), .text(i.severity.rawValue),
                        .text(labels), .text(annotations),
                        .text(i.rule), .text(i.policy), .integer(i.tier), .integer(i.alertCount), .integer(i.firingCount),
                        Self.data(i.createdAt), Self.data(i.lastAlertAt), Self.data(i.acknowledgedAt), Self.data(i.acknowledgedBy),
                        Self.data(i.resolvedAt), Self.data(i.resolvedBy), Self.data(i.nextEscalationAt), escalation,
                        try snapshot(i.id),
                    ])
                continue
            }
            try run(update, [
                    .integer(Int(i.id)), .text(i.status.rawValue), .text(i.title), .text(i.severity.rawValue), .integer(i.tier),
                    .integer(i.alertCount), .integer(i.firingCount), Self.data(i.lastAlertAt), Self.data(i.acknowledgedAt),
                    Self.data(i.acknowledgedBy), Self.data(i.resolvedAt), Self.data(i.resolvedBy), Self.data(i.nextEscalationAt),
                    escalation, .text(i.policy),
                ])
            try expectOneRowChanged(incident: i.id)
            if snapshots[i.id] != nil {
                try run("UPDATE incidents SET policy_snapshot_id = ? WHERE id = ?", [try snapshot(i.id), .integer(Int(i.id))])
            }
        }
        return written
    }

    /// The labels and annotations of the incidents a batch created, as their rows hold them.
    ///
    /// A new incident takes the maps of the alert that opened it, and that alert's row,
    /// written next, takes this text instead of writing the same maps again: writing them
    /// was about a twentieth of the writer's work where every alert opens an incident
    /// (bench/README.md). An alert whose maps differ (a later alert of the incident, or one
    /// the planner changed) has them written for it; an unchanged map shares its storage
    /// with the incident's, which `==` compares first.
    struct WrittenMaps {
        private var byIncident: [Int64: (labels: Labels, labelsText: String, annotations: Labels, annotationsText: String)] = [:]

        /// Writes a new incident's maps and keeps them for its alerts.
        mutating func write(_ incident: Incident) -> (labels: String, annotations: String) {
            let labels = JSONWriter.text { $0.value(incident.labels) }
            let annotations = JSONWriter.text { $0.value(incident.annotations) }
            byIncident[incident.id] = (incident.labels, labels, incident.annotations, annotations)
            return (labels, annotations)
        }

        func labels(of alert: Alert, in incidentID: Int64) -> String {
            if let kept = byIncident[incidentID], kept.labels == alert.labels { return kept.labelsText }
            return JSONWriter.text { $0.value(alert.labels) }
        }

        func annotations(of alert: Alert, in incidentID: Int64) -> String {
            if let kept = byIncident[incidentID], kept.annotations == alert.annotations { return kept.annotationsText }
            return JSONWriter.text { $0.value(alert.annotations) }
        }
    }

    /// The row of a policy snapshot, written the first time that exact policy is used.
    private func snapshotID(_ body: SQLiteData) throws -> SQLiteData {
        if let id = try rows("SELECT id FROM policy_snapshots WHERE body = ?", [body]).first?.column("id") { return id }
        return try rows("INSERT INTO policy_snapshots (body) VALUES (?) RETURNING id", [body]).first?.column("id") ?? .null
    }

    /// An update of an incident the writer believes stored must find it; anything else
    /// is a bug, and failing the transaction is better than losing the write.
    private func expectOneRowChanged(incident id: Int64) throws {
        guard changes == 1 else { throw SQLiteFailure(code: -1, message: "incident \(id) is not in the store") }
    }

    /// Whether a merge changed nothing but the counters, severity and last-alert time.
    static func onlyCountersDiffer(_ old: Incident, _ new: Incident) -> Bool {
        var counters = new
        counters.severity = old.severity
        counters.alertCount = old.alertCount
        counters.firingCount = old.firingCount
        counters.lastAlertAt = old.lastAlertAt
        return counters == old
    }

    /// Upserts alert rows. A row already `stored` updates in place without rewriting its
    /// labels when its fingerprint is a hash of them (they cannot have changed); a
    /// PagerDuty key's or a heartbeat's labels are written again.
    /// - Parameter incidentMaps: the maps of the batch's new incidents, as written.
    func write(alerts: [IngestPlanner.AlertChange], stored: [IngestPlanner.AlertKey: AlertStatus] = [:],
               incidentMaps: WrittenMaps = WrittenMaps()) throws {
        guard !alerts.isEmpty else { return }
        let update = try prepare("""
            UPDATE alerts SET status = ?3,
                severity = CASE WHEN ?3 = 'resolved' THEN severity ELSE ?4 END,
                summary = CASE WHEN ?3 = 'resolved' THEN summary ELSE ?5 END,
                annotations = CASE WHEN ?3 = 'resolved' THEN annotations ELSE ?6 END, source = ?7,
                value = COALESCE(?8, CASE WHEN ?3 = 'resolved' THEN value END),
                threshold = COALESCE(?9, CASE WHEN ?3 = 'resolved' THEN threshold END),
                starts_at = COALESCE(?10, CASE WHEN ?3 = 'resolved' THEN starts_at END),
                ends_at = ?11, last_seen_at = ?12, received_count = received_count + ?13
            WHERE incident_id = ?1 AND fingerprint = ?2
            """)
        let upsert = try prepare("""
            INSERT INTO alerts (incident_id, fingerprint, status, severity, summary, labels, annotations, source,
                                value, threshold, starts_at, ends_at, first_seen_at, last_seen_at, received_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (incident_id, fingerprint) DO UPDATE SET \(AlertRowSQL.onConflictSet)
            """)
        for c in alerts {
            let a = c.alert
            if a.fingerprintCoversLabels, stored[IngestPlanner.AlertKey(incidentID: c.incidentID, fingerprint: a.fingerprint)] != nil {
                try run(update, [
                        .integer(Int(c.incidentID)), .text(a.fingerprint), .text(a.status.rawValue), .text(a.severity.rawValue),
                        .text(a.summary), .text(JSONWriter.text { $0.value(a.annotations) }), .text(a.source),
                        a.value.map { .float($0) } ?? .null, a.threshold.map { .float($0) } ?? .null,
                        Self.data(a.startsAt), Self.data(a.endsAt), Self.data(c.lastSeenAt), .integer(c.received),
                    ])
                if changes == 1 { continue }
            }
            try run(upsert, [
                    .integer(Int(c.incidentID)), .text(a.fingerprint), .text(a.status.rawValue), .text(a.severity.rawValue),
                    .text(a.summary), .text(incidentMaps.labels(of: a, in: c.incidentID)),
                    .text(incidentMaps.annotations(of: a, in: c.incidentID)), .text(a.source),
                    a.value.map { .float($0) } ?? .null, a.threshold.map { .float($0) } ?? .null,
                    Self.data(a.startsAt), Self.data(a.endsAt), Self.data(c.firstSeenAt), Self.data(c.lastSeenAt),
                    .integer(c.received),
                ])
        }
    }

    func markAlertsResolved(incidentIDs: [Int64]) throws {
        for id in incidentIDs {
            try run("UPDATE alerts SET status = 'resolved' WHERE status = 'firing' AND incident_id = ?", [.integer(Int(id))])
        }
    }

    func append(timeline: [TimelineEntry]) throws {
        guard !timeline.isEmpty else { return }
        let insert = try prepare("INSERT INTO timeline (incident_id, at, kind, by, detail) VALUES (?, ?, ?, ?, ?)")
        for t in timeline {
            try run(insert, [
                .integer(Int(t.incidentID)), Self.data(t.at), .text(t.kind.rawValue), Self.data(t.by), Self.data(t.detail),
            ])
        }
    }

    /// The JSON body of each policy's snapshot, by policy name, as last encoded.
    ///
    /// Every batch that creates incidents names its policies' snapshots, and encoding a
    /// policy with `JSONEncoder` cost more than looking its row up; the policies change
    /// only on a restart, so the writer encodes each once. Only a pure function of the
    /// policy is kept here, never a row id, so a rolled-back batch leaves nothing stale.
    /// Not thread-safe: only the writer's closures use it.
    final class SnapshotBodies: @unchecked Sendable {
        private var bodies: [String: (policy: EscalationPolicy, body: SQLiteData)] = [:]

        func body(of policy: EscalationPolicy) throws -> SQLiteData {
            if let known = bodies[policy.name], known.policy == policy { return known.body }
            let body = SQLiteData.text(String(decoding: try SQLiteSession.encoder.encode(policy), as: UTF8.self))
            bodies[policy.name] = (policy, body)
            return body
        }
    }

    // MARK: - Binding values

    static func data(_ time: Timestamp?) -> SQLiteData { time.map { .integer(Int($0.milliseconds)) } ?? .null }
    static func data(_ text: String?) -> SQLiteData { text.map { .text($0) } ?? .null }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    // MARK: - Decoding rows

    static func decodeIncident(_ row: SQLiteResultRow) -> Incident {
        Incident(
            id: Int64(row.column("id")!.integer!),
            dedupKey: row.column("dedup_key")!.string!,
            status: IncidentStatus(rawValue: row.column("status")!.string!) ?? .triggered,
            title: row.column("title")!.string!,
            severity: Severity(rawValue: row.column("severity")!.string!) ?? .critical,
            labels: labels(row.column("labels")),
            annotations: labels(row.column("annotations")),
            rule: row.column("rule")!.string!,
            policy: row.column("policy")!.string!,
            tier: row.column("tier")!.integer!,
            alertCount: row.column("alert_count")!.integer!,
            firingCount: row.column("firing_count")!.integer!,
            createdAt: time(row.column("created_at"))!,
            lastAlertAt: time(row.column("last_alert_at"))!,
            acknowledgedAt: time(row.column("acknowledged_at")),
            acknowledgedBy: row.column("acknowledged_by")?.string,
            resolvedAt: time(row.column("resolved_at")),
            resolvedBy: row.column("resolved_by")?.string,
            nextEscalationAt: time(row.column("next_escalation_at")),
            escalation: row.column("escalation")?.string.flatMap {
                try? JSONDecoder().decode(EscalationState.self, from: Data($0.utf8))
            } ?? EscalationState())
    }

    static func decodeAlert(_ row: SQLiteResultRow) -> StoredAlert {
        StoredAlert(
            fingerprint: row.column("fingerprint")!.string!,
            status: AlertStatus(rawValue: row.column("status")!.string!) ?? .firing,
            severity: Severity(rawValue: row.column("severity")!.string!) ?? .critical,
            summary: row.column("summary")!.string!,
            labels: labels(row.column("labels")),
            annotations: labels(row.column("annotations")),
            source: row.column("source")!.string!,
            value: row.column("value")?.double,
            threshold: row.column("threshold")?.double,
            startsAt: time(row.column("starts_at")),
            endsAt: time(row.column("ends_at")),
            firstSeenAt: time(row.column("first_seen_at"))!,
            lastSeenAt: time(row.column("last_seen_at"))!,
            receivedCount: row.column("received_count")!.integer!)
    }

    static func decodeTimeline(_ row: SQLiteResultRow) -> TimelineEntry {
        TimelineEntry(
            incidentID: Int64(row.column("incident_id")!.integer!),
            at: time(row.column("at"))!,
            kind: TimelineEntry.Kind(rawValue: row.column("kind")!.string!) ?? .note,
            by: row.column("by")?.string,
            detail: row.column("detail")?.string)
    }

    static func time(_ data: SQLiteData?) -> Timestamp? {
        guard let data, !data.isNull, let ms = data.integer else { return nil }
        return Timestamp(milliseconds: Int64(ms))
    }

    static func labels(_ data: SQLiteData?) -> Labels {
        guard let text = data?.string else { return [:] }
        return StringMapJSON.decode(text) ?? (try? JSONDecoder().decode(Labels.self, from: Data(text.utf8))) ?? [:]
    }
}
