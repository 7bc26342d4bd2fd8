import AlertBridgeCore
import SQLiteNIO

/// Policy snapshots, pages and the escalation engine's transaction.
extension SQLiteStore {
    public func escalate(id: Int64, by: String, note: String?, now: Timestamp, context: EscalationContext) async throws -> Incident {
        let cache = self.cache
        return try await writer.transaction { db in
            guard let incident = try db.incident(id) else { throw StoreError.notFound(id) }
            cache.forget(incident.dedupKey)
            guard let copy = try db.snapshots(of: [id])[id] else { throw EscalationPlanner.Refusal.resolved }
            let (decision, adopted) = try context.escalateNow(incident, copy: copy, now: now, by: by, note: note)
            try db.write(incidents: [decision.incident], snapshots: adopted.map { [id: $0] } ?? [:])
            try db.append(timeline: decision.timeline)
            try db.enqueue(decision.pages, now: now)
            return decision.incident
        }
    }

    public func policiesInUse() async throws -> [PolicyInUse] {
        try await reader.run { db in
            try db.rows("""
                SELECT p.body AS body, group_concat(i.id) AS ids FROM incidents i
                JOIN policy_snapshots p ON p.id = i.policy_snapshot_id
                WHERE i.status IN ('triggered', 'acknowledged')
                    AND coalesce(json_extract(i.escalation, '$.step'), 0) > coalesce(json_extract(i.escalation, '$.episodeStart'), 0)
                GROUP BY i.policy_snapshot_id ORDER BY MIN(i.id)
                """).compactMap { row in
                guard let policy = SQLiteSession.policy(row.column("body")) else { return nil }
                let ids = (row.column("ids")?.string ?? "").split(separator: ",").compactMap { Int64($0) }
                return PolicyInUse(policy: policy, incidents: ids.sorted())
            }
        }
    }

    public func rekey(_ id: Int64, to key: String, because why: String, now: Timestamp) async throws -> Bool {
        let cache = self.cache
        return try await writer.transaction { db in
            guard let incident = try db.incident(id), incident.status.isOpen, try db.rows(
                "SELECT 1 FROM incidents WHERE dedup_key = ? AND (status <> 'resolved' OR id > ?)", [.text(key), .integer(Int(id))]
            ).isEmpty else { return false }
            cache.forget(incident.dedupKey)
            cache.forget(key)
            try db.run("UPDATE incidents SET dedup_key = ? WHERE id = ?", [.text(key), .integer(Int(id))])
            try db.append(timeline: [TimelineEntry(incidentID: id, at: now, kind: .alert, by: EscalationPlanner.engine, detail: why)])
            return true
        }
    }

    public func retime(_ id: Int64, from old: Timestamp?, to new: Timestamp?) async throws -> Bool {
        let cache = self.cache
        return try await writer.transaction { db in
            guard let incident = try db.incident(id), incident.status.isOpen, incident.nextEscalationAt == old else { return false }
            cache.forget(incident.dedupKey)
            try db.run("UPDATE incidents SET next_escalation_at = ? WHERE id = ?",
                       [new.map { .integer(Int($0.milliseconds)) } ?? .null, .integer(Int(id))])
            return true
        }
    }

    public func nextEscalationDue() async throws -> Timestamp? {
        try await reader.run { db in
            SQLiteSession.time(try db.rows(
                "SELECT MIN(next_escalation_at) AS due FROM incidents WHERE next_escalation_at IS NOT NULL").first?.column("due"))
        }
    }

    public func advanceEscalations(now: Timestamp, limit: Int, context: EscalationContext) async throws -> EscalationReport {
        let cache = self.cache
        return try await writer.transaction { db in
            let due = try db.rows("""
                SELECT \(SQLiteSession.incidentColumns),
                       (SELECT body FROM policy_snapshots p WHERE p.id = policy_snapshot_id) AS policy_snapshot
                FROM incidents WHERE next_escalation_at IS NOT NULL AND next_escalation_at <= ?
                ORDER BY next_escalation_at LIMIT ?
                """, [.integer(Int(now.milliseconds)), .integer(limit)])
            var report = EscalationReport()
            var decisions: [EscalationPlanner.Decision] = []
            var unpoliced: [Incident] = []
            var adoptedSnapshots: [Int64: EscalationPolicy] = [:]
            let silences = due.isEmpty ? [] : try db.activeSilences(at: now)
            var sourcesByRule: [String: [Incident]] = [:]
            func openIncidents(of rule: String) throws -> [Incident] {
                if let known = sourcesByRule[rule] { return known }
                let found = try db.openIncidents(rules: [rule])
                sourcesByRule[rule] = found
                return found
            }
            // Incidents at the end of an inhibit wait also look at sources resolved lately.
            let decoded = due.map(SQLiteSession.decodeIncident)
            let resolvedSince = decoded.compactMap(EscalationContext.awaitedSince).min()
            var resolvedByRule: [String: [Incident]] = [:]
            func recentIncidents(of rule: String) throws -> [Incident] {
                guard let resolvedSince else { return try openIncidents(of: rule) }
                if resolvedByRule[rule] == nil { resolvedByRule[rule] = try db.resolvedIncidents(rules: [rule], since: resolvedSince) }
                return try openIncidents(of: rule) + (resolvedByRule[rule] ?? [])
            }
            for (row, decoded) in zip(due, decoded) {
                var incident = decoded
                cache.forget(incident.dedupKey)
                guard let policy = SQLiteSession.policy(row.column("policy_snapshot")) else {
                    incident.nextEscalationAt = nil
                    unpoliced.append(incident)
                    continue
                }
                let awaitedSince = EscalationContext.awaitedSince(incident)
                // Each firing alert's labels where they decide: a silence must hold every one of
                // an unpaged incident's, and an inhibitor every one of a paging incident's.
                let holdsSteps = EscalationContext.holdsSteps(of: incident)
                let heldByInhibitors = EscalationContext.heldByInhibitors(incident)
                let firing = holdsSteps || heldByInhibitors || !incident.escalation.hasPaged && (!silences.isEmpty || awaitedSince != nil)
                    ? try db.firingLabels(of: incident.id) : []
                let named = try incident.escalation.inhibitedBy.compactMap(db.incident)
                let inhibitors = if let awaitedSince {
                    // At the end of its inhibit wait: what inhibits every alert of it, lately.
                    try context.awaitedInhibitors(of: incident, firing: firing, since: awaitedSince, sources: recentIncidents)
                } else if holdsSteps {
                    // Paging already: whatever inhibits every alert of it now (and, to name them, those that did).
                    try context.inhibiting(incident, firing: firing, sources: openIncidents) + named.filter { !$0.status.isOpen }
                } else {
                    named
                }
                // Held since it opened: by what inhibits every alert of it now.
                let holding = heldByInhibitors ? try context.inhibiting(incident, firing: firing, sources: openIncidents) : nil
                let (decision, adopted) = context.advance(incident, snapshot: policy, now: now, silences: silences,
                                                          firingLabels: firing, inhibitors: inhibitors, holding: holding)
                decisions.append(decision)
                if let adopted { adoptedSnapshots[incident.id] = adopted }
            }
            try db.write(incidents: decisions.map(\.incident) + unpoliced, snapshots: adoptedSnapshots)
            try db.append(timeline: decisions.flatMap(\.timeline)
                          + unpoliced.map { TimelineEntry.unreadableSnapshot(incidentID: $0.id, at: now) })
            try db.enqueue(decisions.flatMap(\.pages), now: now)
            let autoResolved = decisions.map(\.incident).filter { $0.status == .resolved }
            try db.markAlertsResolved(incidentIDs: autoResolved.map(\.id))
            try db.notify(autoResolved, event: .resolved, now: now)
            report.advanced = due.count
            report.pages = decisions.reduce(0) { $0 + $1.tierPages }
            report.slaBreaches = decisions.flatMap(\.slaBreaches)
            report.inhibitWaits = decisions.compactMap(\.inhibitWait)
            return report
        }
    }
}

extension SQLiteSession {
    func snapshots(of ids: [Int64]) throws -> [Int64: EscalationPolicy] {
        var out: [Int64: EscalationPolicy] = [:]
        for id in ids {
            let row = try rows("""
                SELECT p.body AS policy_snapshot FROM incidents i JOIN policy_snapshots p ON p.id = i.policy_snapshot_id
                WHERE i.id = ?
                """, [.integer(Int(id))]).first
            if let policy = Self.policy(row?.column("policy_snapshot")) { out[id] = policy }
        }
        return out
    }

    /// The labels of an incident's firing alerts: a silence must hold each of them for the
    /// incident to stay held.
    func firingLabels(of id: Int64) throws -> [Labels] {
        try rows("SELECT labels FROM alerts WHERE incident_id = ? AND status = 'firing'", [.integer(Int(id))])
            .map { Self.labels($0.column("labels")) }
    }

    static func policy(_ data: SQLiteData?) -> EscalationPolicy? {
        data?.string.flatMap(PolicySnapshot.decode)
    }

    /// One outbox row per target of each page, all due now. A page already written for
    /// its step is ignored: the unique key makes writing a step idempotent.
    func enqueue(_ pages: [EscalationPlanner.Page], now: Timestamp) throws {
        guard !pages.isEmpty else { return }
        let insert = try prepare("""
            INSERT OR IGNORE INTO outbox (incident_id, step, event, tier, tier_name, target, connector, recipients,
                                          status, attempts, next_attempt_at, created_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?9)
            """)
        for page in pages {
            for (index, target) in page.targets.enumerated() {
                try run(insert, [
                        .integer(Int(page.incidentID)), .integer(page.step), .text(page.reason.rawValue), .integer(page.tier),
                        .text(page.tierName), .integer(page.firstTarget + index), .text(target.connector),
                        .text(JSONWriter.text { $0.value(target.to) }), .integer(Int(now.milliseconds)),
                    ])
            }
        }
    }

    /// Resolve or acknowledge notices for incidents that just changed, from their snapshots.
    func notify(_ incidents: [Incident], event: EscalationPlanner.PageReason, now: Timestamp) throws {
        let paged = incidents.filter(\.escalation.hasPaged)
        guard !paged.isEmpty else { return }
        let policies = try snapshots(of: paged.map(\.id))
        let pages = paged.flatMap { incident in
            policies[incident.id].map { EscalationPlanner.notices(for: incident, policy: $0, event: event) } ?? []
        }
        try enqueue(pages, now: now)
    }
}
