import AlertBridgeCore
import Logging
import PostgresNIO

/// `retention:`: what is deleted once it is older than the configured age.
extension PostgresStore {
    /// Rows another instance is deleting are skipped (`SKIP LOCKED`): instances of a fleet
    /// share the work instead of waiting on each other. PostgreSQL's sequences never give
    /// an id twice; the newest incident, page and silence are kept all the same, so that
    /// both stores keep the same rows.
    public func deleteExpired(before cutoff: Timestamp, limit: Int) async throws -> RetentionReport {
        let logger = self.logger
        return try await transaction { db in
            var ids: [Int64] = []
            for try await id in try await db.query("""
                SELECT id FROM incidents i WHERE status = 'resolved' AND resolved_at < \(cutoff.milliseconds)
                    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = i.id AND o.status = 'pending')
                    AND id < (SELECT MAX(id) FROM incidents)
                    AND id IS DISTINCT FROM (SELECT incident_id FROM outbox ORDER BY id DESC LIMIT 1)
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """, logger: logger).decode(Int64.self) {
                ids.append(id)
            }
            if !ids.isEmpty {
                for table in ["alerts", "timeline", "outbox"] {
                    _ = try await db.query("DELETE FROM \(unescaped: table) WHERE incident_id = ANY(\(ids))", logger: logger)
                }
                _ = try await db.query("DELETE FROM incidents WHERE id = ANY(\(ids))", logger: logger)
            }
            var silences = 0
            for try await _ in try await db.query("""
                DELETE FROM silences WHERE id IN (
                    SELECT id FROM silences WHERE ends_at < \(cutoff.milliseconds) AND id < (SELECT MAX(id) FROM silences)
                    ORDER BY ends_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                silences += 1
            }
            return RetentionReport(incidents: ids.count, silences: silences)
        }
    }
}
