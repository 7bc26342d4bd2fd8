import AlertBridgeCore
import Logging
import PostgresNIO

/// Policy snapshots, pages and the escalation engine's transaction.
extension PostgresStore {
    /// The incidents of a batch share a few policies (a batch routes with one loaded set,
    /// so a name is one policy): each is encoded and sent once, with the ids of its
    /// incidents. Encoding it per incident was the largest cost of a storm of new incidents.
    enum WriteSnapshot: PreparedSQL {
        static let sql = "UPDATE incidents SET policy_snapshot = $1::jsonb WHERE id = ANY($2::bigint[])"
    }

    static func writeSnapshots(_ db: PostgresConnection, _ snapshots: [Int64: EscalationPolicy], logger: Logger) async throws {
        for incidents in Dictionary(grouping: snapshots, by: \.value.name).values {
            _ = try await db.execute(WriteSnapshot.self, try json(incidents[0].value), incidents.map(\.key), logger: logger)
        }
    }

    enum Snapshots: PreparedSQL {
        static let sql = "SELECT id, policy_snapshot::text FROM incidents WHERE id = ANY($1::bigint[]) AND policy_snapshot IS NOT NULL"
    }

    public func policiesInUse() async throws -> [PolicyInUse] {
        let logger = self.logger
        return try await withConnection { db in
            var out: [PolicyInUse] = []
            for try await (text, ids) in try await db.query("""
                SELECT policy_snapshot::text, array_agg(id ORDER BY id) FROM incidents
                WHERE policy_snapshot IS NOT NULL AND status IN ('triggered', 'acknowledged')
                    AND coalesce((escalation->>'step')::int, 0) > coalesce((escalation->>'episodeStart')::int, 0)
                GROUP BY policy_snapshot::text ORDER BY MIN(id)
                """, logger: logger).decode((String, [Int64]).self) {
                if let policy = PolicySnapshot.decode(text) { out.append(PolicyInUse(policy: policy, incidents: ids)) }
            }
            return out
        }
    }

    public func rekey(_ id: Int64, to key: String, because why: String, now: Timestamp) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            guard let incident = try await Self.incidentForUpdate(db, id, logger: logger), incident.status.isOpen else { return false }
            for try await _ in try await db.query("""
                SELECT 1 FROM incidents WHERE dedup_key = \(key) AND (status <> 'resolved' OR id > \(id))
                """, logger: logger) {
                return false
            }
            _ = try await db.query("UPDATE incidents SET dedup_key = \(key) WHERE id = \(id)", logger: logger)
            try await Self.append(db, timeline: [TimelineEntry(incidentID: id, at: now, kind: .alert, by: EscalationPlanner.engine,
                                                               detail: why)], logger: logger)
            return true
        }
    }

    static func snapshots(_ db: PostgresConnection, of ids: [Int64], logger: Logger) async throws -> [Int64: EscalationPolicy] {
        guard !ids.isEmpty else { return [:] }
        var out: [Int64: EscalationPolicy] = [:]
        for try await row in try await db.execute(Snapshots.self, ids, logger: logger) {
            let (id, text) = try row.decode((Int64, String).self)
            if let policy = PolicySnapshot.decode(text) { out[id] = policy }
        }
        return out
    }

    /// One outbox row per target of each page, all due now. A page already written for
    /// its step is ignored: the unique key makes writing a step idempotent, even if two
    /// instances ever decided the same step.
    static func enqueue(_ db: PostgresConnection, _ pages: [EscalationPlanner.Page], now: Timestamp, logger: Logger) async throws {
        guard !pages.isEmpty else { return }
        _ = try await db.execute(EnqueuePages.self, JSONWriter.outbox(pages, now: now), logger: logger)
    }

    enum EnqueuePages: PreparedSQL {
        static let sql = """
            INSERT INTO outbox (incident_id, step, event, tier, tier_name, target, connector, recipients,
                                status, attempts, next_attempt_at, created_at)
            SELECT incident_id, step, event, tier, tier_name, target, connector, recipients, 'pending', 0, at, at
            FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
                            AS (incident_id bigint, step bigint, event text, tier bigint, tier_name text, target bigint,
                                connector text, recipients jsonb, at bigint))
                 WITH ORDINALITY AS j(incident_id, step, event, tier, tier_name, target, connector, recipients, at, n)
            ORDER BY n
            ON CONFLICT (incident_id, step, event, tier, target) DO NOTHING
            """
    }

    /// Resolve or acknowledge notices for incidents that just changed, from their snapshots.
    static func notify(_ db: PostgresConnection, _ incidents: [Incident], event: EscalationPlanner.PageReason,
                       now: Timestamp, logger: Logger) async throws {
        let paged = incidents.filter(\.escalation.hasPaged)
        guard !paged.isEmpty else { return }
        let policies = try await snapshots(db, of: paged.map(\.id), logger: logger)
        let pages = paged.flatMap { incident in
            policies[incident.id].map { EscalationPlanner.notices(for: incident, policy: $0, event: event) } ?? []
        }
        try await enqueue(db, pages, now: now, logger: logger)
    }

    public func escalate(id: Int64, by: String, note: String?, now: Timestamp, context: EscalationContext) async throws -> Incident {
        let logger = self.logger
        return try await transaction { db in
            guard let incident = try await Self.incidentForUpdate(db, id, logger: logger) else { throw StoreError.notFound(id) }
            guard let copy = try await Self.snapshots(db, of: [id], logger: logger)[id] else {
                throw EscalationPlanner.Refusal.resolved
            }
            let (decision, adopted) = try context.escalateNow(incident, copy: copy, now: now, by: by, note: note)
            try await Self.apply(db, decision, now: now, logger: logger)
            try await Self.writeSnapshots(db, adopted.map { [id: $0] } ?? [:], logger: logger)
            return decision.incident
        }
    }

    public func retime(_ id: Int64, from old: Timestamp?, to new: Timestamp?) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            var changed = false
            for try await _ in try await db.query("""
                UPDATE incidents SET next_escalation_at = \(new?.milliseconds) WHERE id = \(id) AND status <> 'resolved'
                    AND next_escalation_at IS NOT DISTINCT FROM \(old?.milliseconds) RETURNING id
                """, logger: logger).decode(Int64.self) {
                changed = true
            }
            return changed
        }
    }

    public func nextEscalationDue() async throws -> Timestamp? {
        let logger = self.logger
        return try await withConnection { db in
            var due: Int64?
            for try await value in try await db.query(
                "SELECT MIN(next_escalation_at) FROM incidents WHERE next_escalation_at IS NOT NULL", logger: logger
            ).decode(Int64?.self) {
                due = value
            }
            return due.map(Timestamp.init(milliseconds:))
        }
    }

    /// Claims due incidents with `FOR NO KEY UPDATE SKIP LOCKED`: an incident another instance is
    /// advancing (or an ingest is merging into) is left to it, and once that commits its
    /// due time has moved on, so every step fires exactly once across all instances.
    public func advanceEscalations(now: Timestamp, limit: Int, context: EscalationContext) async throws -> EscalationReport {
        let logger = self.logger
        return try await transaction { db in
            var due: [(Incident, String?)] = []
            for try await row in try await db.query("""
                SELECT \(unescaped: Self.incidentColumns), policy_snapshot::text AS policy_snapshot FROM incidents
                WHERE next_escalation_at IS NOT NULL AND next_escalation_at <= \(now.milliseconds)
                ORDER BY next_escalation_at LIMIT \(limit)
                FOR NO KEY UPDATE SKIP LOCKED
                """, logger: logger) {
                due.append((try Self.decodeIncident(row), try row.makeRandomAccess()["policy_snapshot"].decode(String?.self)))
            }
            var report = EscalationReport()
            var decisions: [EscalationPlanner.Decision] = []
            var unpoliced: [Incident] = []
            var adoptedSnapshots: [Int64: EscalationPolicy] = [:]
            let silences = due.isEmpty ? [] : try await Self.activeSilences(db, at: now, logger: logger)
            // Each firing alert's labels where they decide: a silence must hold every one of an
            // unpaged incident's, and an inhibitor every one of a paging or held incident's.
            let inhibitable = due.map(\.0).filter { EscalationContext.holdsSteps(of: $0) || EscalationContext.heldByInhibitors($0) }
            let unpaged = due.map(\.0).filter { !$0.escalation.hasPaged && (!silences.isEmpty || $0.escalation.inhibitWaitFrom != nil) }.map(\.id)
            let firing = try await Self.firingLabels(db, of: Array(Set(unpaged + inhibitable.map(\.id))), logger: logger)
            let inhibitorIDs = due.flatMap { $0.0.escalation.inhibitedBy }
            let inhibitors = inhibitorIDs.isEmpty ? [:] : Dictionary(
                try await Self.incidentRows(db, "SELECT \(unescaped: Self.incidentColumns) FROM incidents WHERE id = ANY(\(inhibitorIDs)::bigint[])",
                                            logger: logger).map { ($0.id, $0) },
                uniquingKeysWith: { a, _ in a })
            // Incidents already paging, at the end of an inhibit wait, or held by inhibitors: the
            // open incidents of the rules that may inhibit any of their firing alerts now.
            let sourceRules = Set(inhibitable.flatMap { incident in
                ([incident.labels] + (firing[incident.id] ?? [])).flatMap {
                    context.rules.inhibitCandidates(of: $0, rule: incident.rule).map(\.sourceRule)
                }
            })
            let sources = Dictionary(grouping: try await Self.openIncidents(db, rules: Array(sourceRules), logger: logger), by: \.rule)
            // Incidents at the end of an inhibit wait (among `inhibitable`, so their rules' open
            // incidents are in `sources`): also the sources resolved lately.
            var lately = sources
            if let since = due.map(\.0).filter(\.status.isOpen).compactMap(EscalationContext.awaitedSince).min() {
                for source in try await Self.resolvedIncidents(db, rules: Array(sourceRules), since: since, logger: logger) {
                    lately[source.rule, default: []].append(source)
                }
            }
            for (incident, text) in due {
                guard let text, let policy = PolicySnapshot.decode(text) else {
                    var stopped = incident
                    stopped.nextEscalationAt = nil
                    unpoliced.append(stopped)
                    continue
                }
                let named = incident.escalation.inhibitedBy.compactMap { inhibitors[$0] }
                let current = if let since = EscalationContext.awaitedSince(incident), incident.status.isOpen {
                    // At the end of its inhibit wait: what inhibits every alert of it, lately.
                    context.awaitedInhibitors(of: incident, firing: firing[incident.id] ?? [], since: since) { lately[$0] ?? [] }
                } else if EscalationContext.holdsSteps(of: incident) {
                    // Paging already: whatever inhibits every alert of it now (and, to name them, those that did).
                    context.inhibiting(incident, firing: firing[incident.id] ?? []) { sources[$0] ?? [] } + named.filter { !$0.status.isOpen }
                } else {
                    named
                }
                // Held since it opened: by what inhibits every alert of it now.
                let holding = EscalationContext.heldByInhibitors(incident)
                    ? context.inhibiting(incident, firing: firing[incident.id] ?? []) { sources[$0] ?? [] } : nil
                let (decision, adopted) = context.advance(incident, snapshot: policy, now: now, silences: silences,
                                                          firingLabels: firing[incident.id] ?? [], inhibitors: current, holding: holding)
                decisions.append(decision)
                if let adopted { adoptedSnapshots[incident.id] = adopted }
            }
            try await Self.write(db, incidents: decisions.map(\.incident) + unpoliced, logger: logger)
            try await Self.writeSnapshots(db, adoptedSnapshots, logger: logger)
            try await Self.append(db, timeline: decisions.flatMap(\.timeline)
                                  + unpoliced.map { TimelineEntry.unreadableSnapshot(incidentID: $0.id, at: now) }, logger: logger)
            try await Self.enqueue(db, decisions.flatMap(\.pages), now: now, logger: logger)
            let autoResolved = decisions.map(\.incident).filter { $0.status == .resolved }
            try await Self.markAlertsResolved(db, incidentIDs: autoResolved.map(\.id), logger: logger)
            try await Self.notify(db, autoResolved, event: .resolved, now: now, logger: logger)
            report.advanced = due.count
            report.pages = decisions.reduce(0) { $0 + $1.tierPages }
            report.slaBreaches = decisions.flatMap(\.slaBreaches)
            report.inhibitWaits = decisions.compactMap(\.inhibitWait)
            return report
        }
    }

    /// The labels of the firing alerts of incidents: a silence must hold each of them for
    /// an incident to stay held.
    static func firingLabels(_ db: PostgresConnection, of ids: [Int64], logger: Logger) async throws -> [Int64: [Labels]] {
        guard !ids.isEmpty else { return [:] }
        var out: [Int64: [Labels]] = [:]
        for try await (id, text) in try await db.query(
            "SELECT incident_id, labels::text FROM alerts WHERE incident_id = ANY(\(ids)::bigint[]) AND status = 'firing'",
            logger: logger
        ).decode((Int64, String).self) {
            out[id, default: []].append(labels(text))
        }
        return out
    }

    static func apply(_ db: PostgresConnection, _ decision: EscalationPlanner.Decision, now: Timestamp,
                      logger: Logger) async throws {
        try await write(db, incidents: [decision.incident], logger: logger)
        try await append(db, timeline: decision.timeline, logger: logger)
        try await enqueue(db, decision.pages, now: now, logger: logger)
    }
}
