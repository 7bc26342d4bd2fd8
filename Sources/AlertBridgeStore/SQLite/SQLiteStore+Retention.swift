import AlertBridgeCore
import SQLiteNIO

/// `retention:`: what is deleted once it is older than the configured age.
extension SQLiteStore {
    public func deleteExpired(before cutoff: Timestamp, limit: Int) async throws -> RetentionReport {
        let cache = self.cache
        return try await writer.transaction { db in
            // Oldest first by id: `incidents_status` holds resolved ones in id order. Never the
            // newest incident, nor the one of the newest page: SQLite gives a new row the
            // largest id plus one, and a webhook receiver drops a page whose delivery id it saw
            // (black-box round 41: a new incident's first page had a deleted notice's id).
            let rows = try db.rows("""
                SELECT id, dedup_key FROM incidents i WHERE status = 'resolved' AND resolved_at < ?1
                    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.incident_id = i.id AND o.status = 'pending')
                    AND id < (SELECT MAX(id) FROM incidents) AND id IS NOT (SELECT incident_id FROM outbox ORDER BY id DESC LIMIT 1)
                ORDER BY id LIMIT ?2
                """, [.integer(Int(cutoff.milliseconds)), .integer(limit)])
            var report = RetentionReport()
            if !rows.isEmpty {
                let ids: [SQLiteData] = [.text("[\(rows.compactMap { $0.column("id")?.integer }.map(String.init).joined(separator: ","))]")]
                for table in ["alerts", "timeline", "outbox"] {
                    try db.run("DELETE FROM \(table) WHERE incident_id IN (SELECT value FROM json_each(?))", ids)
                }
                try db.run("DELETE FROM incidents WHERE id IN (SELECT value FROM json_each(?))", ids)
                // Nothing of them stays in the writer's memory. (Its key's next alert opens a new
                // incident either way: `retention` is longer than any `reopen_within`.)
                for row in rows { if let key = row.column("dedup_key")?.string { cache.forget(key) } }
                report.incidents = rows.count
            }
            // Nor the newest silence: its id would be given to the next, which a kept timeline names.
            try db.run("""
                DELETE FROM silences WHERE id IN (
                    SELECT id FROM silences WHERE ends_at < ?1 AND id < (SELECT MAX(id) FROM silences) ORDER BY ends_at LIMIT ?2)
                """,
                       [.integer(Int(cutoff.milliseconds)), .integer(limit)])
            report.silences = try db.rows("SELECT changes() AS n").first?.column("n")?.integer ?? 0
            return report
        }
    }
}
