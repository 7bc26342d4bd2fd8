import AlertBridgeCore
import Foundation
import SQLiteNIO

/// Policy snapshots, pages and the escalation engine's transaction.
extension SQLiteStore {
    /// Each distinct policy is encoded once per batch, however many incidents it starts.
    func writeSnapshots(_ snapshots: [Int64: EscalationPolicy]) async throws {
        guard !snapshots.isEmpty else { return }
        var policies: [String: EscalationPolicy] = [:]
        var rows: [[String: String]] = []
        for (id, policy) in snapshots {
            policies[policy.name] = policy
            rows.append(["id": String(id), "policy": policy.name])
        }
        _ = try await writer.rows("""
            UPDATE incidents SET policy_snapshot = p.value
            FROM json_each(?1) j, json_each(?2) p
            WHERE incidents.id = CAST(j.value->>'id' AS INTEGER) AND p.key = j.value->>'policy'
            """, [try Self.json(rows), try Self.json(policies)])
    }

    func snapshots(of ids: [Int64]) async throws -> [Int64: EscalationPolicy] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await writer.rows("""
            SELECT id, policy_snapshot FROM incidents
            WHERE id IN (SELECT value FROM json_each(?)) AND policy_snapshot IS NOT NULL
            """, [try Self.json(ids)])
        var out: [Int64: EscalationPolicy] = [:]
        for row in rows {
            guard let id = row.column("id")?.integer, let text = row.column("policy_snapshot")?.string,
                  let policy = try? JSONDecoder().decode(EscalationPolicy.self, from: Data(text.utf8)) else { continue }
            out[Int64(id)] = policy
        }
        return out
    }

    /// One outbox row per target of each page, all due now. A page already written for
    /// its step is ignored: the unique key makes writing a step idempotent.
    func enqueue(_ pages: [EscalationPlanner.Page], now: Timestamp) async throws {
        guard !pages.isEmpty else { return }
        _ = try await writer.rows("""
            INSERT OR IGNORE INTO outbox (incident_id, step, event, tier, tier_name, target, connector, recipients,
                                          status, attempts, next_attempt_at, created_at)
            SELECT j.value->>'incident_id', j.value->>'step', j.value->>'event', j.value->>'tier', j.value->>'tier_name',
                   j.value->>'target', j.value->>'connector', j.value->'recipients', 'pending', 0, j.value->>'at', j.value->>'at'
            FROM json_each(?) j
            """, [.text(JSONRowWriter.outbox(pages, now: now))])
    }

    /// Resolve or acknowledge notices for incidents that just changed, from their snapshots.
    func notify(_ incidents: [Incident], event: EscalationPlanner.PageReason, now: Timestamp) async throws {
        let paged = incidents.filter { $0.escalation.step > 0 }
        guard !paged.isEmpty else { return }
        let policies = try await snapshots(of: paged.map(\.id))
        let pages = paged.flatMap { incident in
            policies[incident.id].map { EscalationPlanner.notices(for: incident, policy: $0, event: event) } ?? []
        }
        try await enqueue(pages, now: now)
    }

    public func escalate(id: Int64, by: String, now: Timestamp) async throws -> Incident {
        try await transaction {
            guard let incident = try await incidentForUpdate(id) else { throw StoreError.notFound(id) }
            guard let policy = try await snapshots(of: [id])[id] else { throw EscalationPlanner.Refusal.resolved }
            let decision = try EscalationPlanner.escalateNow(incident, policy: policy, now: now, by: by)
            try await apply(decision, now: now)
            return decision.incident
        }
    }

    public func nextEscalationDue() async throws -> Timestamp? {
        let row = try await reader.rows(
            "SELECT MIN(next_escalation_at) AS due FROM incidents WHERE next_escalation_at IS NOT NULL").first
        return row?.column("due")?.integer.map { Timestamp(milliseconds: Int64($0)) }
    }

    public func advanceEscalations(now: Timestamp, limit: Int) async throws -> EscalationReport {
        try await transaction {
            let due = try await writer.rows("""
                SELECT \(Self.incidentColumns), policy_snapshot FROM incidents
                WHERE next_escalation_at IS NOT NULL AND next_escalation_at <= ?
                ORDER BY next_escalation_at LIMIT ?
                """, [.integer(Int(now.milliseconds)), .integer(limit)])
            var report = EscalationReport()
            var decisions: [EscalationPlanner.Decision] = []
            var unpoliced: [Incident] = []
            for row in due {
                var incident = Self.decodeIncident(row)
                guard let text = row.column("policy_snapshot")?.string,
                      let policy = try? JSONDecoder().decode(EscalationPolicy.self, from: Data(text.utf8)) else {
                    incident.nextEscalationAt = nil
                    unpoliced.append(incident)
                    continue
                }
                decisions.append(EscalationPlanner.advance(incident, policy: policy, now: now))
            }
            try await write(incidents: decisions.map(\.incident) + unpoliced)
            try await append(timeline: decisions.flatMap(\.timeline))
            try await enqueue(decisions.flatMap(\.pages), now: now)
            let autoResolved = decisions.map(\.incident).filter { $0.status == .resolved }
            try await markAlertsResolved(incidentIDs: autoResolved.map(\.id))
            try await notify(autoResolved, event: .resolved, now: now)
            report.advanced = due.count
            report.pages = decisions.reduce(0) { $0 + $1.pages.count }
            report.slaBreaches = decisions.flatMap(\.slaBreaches)
            return report
        }
    }

    func apply(_ decision: EscalationPlanner.Decision, now: Timestamp) async throws {
        try await write(incidents: [decision.incident])
        try await append(timeline: decision.timeline)
        try await enqueue(decision.pages, now: now)
    }

    func incidentForUpdate(_ id: Int64) async throws -> Incident? {
        try await writer.rows("SELECT \(Self.incidentColumns) FROM incidents WHERE id = ?", [.integer(Int(id))])
            .first.map(Self.decodeIncident)
    }
}
