import AlertBridgeCore
import Foundation
import SQLiteNIO

/// The notification outbox: claim, deliver, record.
extension SQLiteStore {
    public func claimDeliveries(now: Timestamp, lease: Duration, limit: Int) async throws -> [Delivery] {
        try await transaction {
            let rows = try await writer.rows("""
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?
                WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
                             ORDER BY next_attempt_at, id LIMIT ?)
                RETURNING id, incident_id, step, event, tier, tier_name, connector, recipients, attempts, created_at
                """, [.integer(Int((now + lease).milliseconds)), .integer(Int(now.milliseconds)), .integer(limit)])
            return rows.map { row in
                Delivery(
                    id: Int64(row.column("id")!.integer!),
                    incidentID: Int64(row.column("incident_id")!.integer!),
                    step: row.column("step")!.integer!,
                    event: EscalationPlanner.PageReason(rawValue: row.column("event")!.string!) ?? .triggered,
                    tier: row.column("tier")!.integer!,
                    tierName: row.column("tier_name")!.string!,
                    connector: row.column("connector")!.string!,
                    recipients: (try? JSONDecoder().decode([String].self, from: Data(row.column("recipients")!.string!.utf8))) ?? [],
                    attempts: row.column("attempts")!.integer!,
                    createdAt: Timestamp(milliseconds: Int64(row.column("created_at")!.integer!)))
            }.sorted { $0.id < $1.id }
        }
    }

    /// One transaction for the batch; all deliveries that succeeded in one statement.
    public func recordDeliveries(_ outcomes: [DeliveryRecord], now: Timestamp) async throws {
        guard !outcomes.isEmpty else { return }
        try await transaction {
            let sent = outcomes.compactMap { $0.outcome == .delivered ? $0.id : nil }
            if !sent.isEmpty {
                _ = try await writer.rows("""
                    UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL
                    WHERE id IN (SELECT value FROM json_each(?))
                    """, [.integer(Int(now.milliseconds)), try Self.json(sent)])
            }
            for record in outcomes where record.outcome != .delivered {
                try await recordFailure(record.id, record.outcome, now: now)
            }
        }
    }

    /// A retry or a permanent failure, inside the caller's transaction.
    private func recordFailure(_ id: Int64, _ outcome: DeliveryOutcome, now: Timestamp) async throws {
        switch outcome {
        case .delivered:
            break
        case .retry(let at, let reason):
            let rows = try await writer.rows("""
                UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'
                RETURNING incident_id, connector, tier, attempts
                """, [.integer(Int(at.milliseconds)), .text(reason), .integer(Int(id))])
            // The first failure of a page goes on the timeline; its retries do not, so an
            // outage of a chat service does not flood every incident's history.
            if let row = rows.first, row.column("attempts")?.integer == 1 {
                try await append(timeline: [.deliveryFailed(
                    incidentID: Int64(row.column("incident_id")!.integer!), tier: row.column("tier")!.integer!,
                    connector: row.column("connector")!.string!, reason: reason, retrying: true, at: now)])
            }
        case .failed(let reason):
            let rows = try await writer.rows("""
                UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'pending'
                RETURNING incident_id, connector, tier
                """, [.text(reason), .integer(Int(id))])
            if let row = rows.first {
                try await append(timeline: [.deliveryFailed(
                    incidentID: Int64(row.column("incident_id")!.integer!), tier: row.column("tier")!.integer!,
                    connector: row.column("connector")!.string!, reason: reason, retrying: false, at: now)])
            }
        }
    }

    public func nextDeliveryDue() async throws -> Timestamp? {
        let row = try await reader.rows("SELECT MIN(next_attempt_at) AS due FROM outbox WHERE status = 'pending'").first
        return row?.column("due")?.integer.map { Timestamp(milliseconds: Int64($0)) }
    }
}
