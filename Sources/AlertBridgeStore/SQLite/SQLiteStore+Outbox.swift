import AlertBridgeCore
import Foundation
import SQLiteNIO

/// The notification outbox: claim, deliver, record.
///
/// Claims and delivery records commit without an fsync of their own (`durable: false`).
/// Delivery is at least once, and losing either in a power cut only means a page goes
/// out again: a lost claim leaves the row due, a lost record leaves it leased until the
/// lease ends. During a storm of new incidents these commits outnumber ingest's, and
/// their fsyncs were time the single writer did not spend on alerts.
extension SQLiteStore {
    /// `LIMIT ? + 0`: SQLite plans with the value bound to a plain `LIMIT ?`, so the
    /// statement was compiled again whenever the dispatcher asked for a different number
    /// of rows (1.3% of the writer's time in a storm of new incidents). It does not plan
    /// with the value of an expression.
    /// The full connectors left out are one JSON array, so the statement stays one compiled statement.
    public func claimDeliveries(now: Timestamp, lease: Duration, limit: Int, quota: ClaimQuota) async throws -> [Delivery] {
        let full = quota.full
        let skipped = JSONWriter.text { $0.value(full) }
        return try await writer.transaction(durable: false) { db in
            try db.rows("""
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, backoff_until = NULL
                WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
                             \(full.isEmpty ? "" : "AND connector NOT IN (SELECT value FROM json_each(?))")
                             ORDER BY next_attempt_at, id LIMIT ? + 0)
                RETURNING id, incident_id, step, event, tier, tier_name, connector, recipients, attempts, created_at, last_error
                """, [.integer(Int((now + lease).milliseconds)), .integer(Int(now.milliseconds))]
                + (full.isEmpty ? [] : [.text(skipped)]) + [.integer(quota.limit(limit))]
            ).map { row in
                Delivery(
                    id: Int64(row.column("id")!.integer!),
                    incidentID: Int64(row.column("incident_id")!.integer!),
                    step: row.column("step")!.integer!,
                    event: EscalationPlanner.PageReason(rawValue: row.column("event")!.string!) ?? .triggered,
                    tier: row.column("tier")!.integer!,
                    tierName: row.column("tier_name")!.string!,
                    connector: row.column("connector")!.string!,
                    recipients: Delivery.recipients(json: row.column("recipients")?.string),
                    attempts: row.column("attempts")!.integer!,
                    createdAt: Timestamp(milliseconds: Int64(row.column("created_at")!.integer!)),
                    lastError: row.column("last_error")?.string)
            }.sorted { $0.id < $1.id }
        }
    }

    /// One transaction for the batch.
    @discardableResult
    public func recordDeliveries(_ outcomes: [DeliveryRecord], now: Timestamp) async throws -> Int {
        guard !outcomes.isEmpty else { return 0 }
        return try await writer.transaction(durable: false) { db in
            for record in outcomes { try db.record(record, now: now) }
            let delivered = outcomes.filter(\.outcome.reachedItsConnector).map(\.id)
            // One probe of a partial index that is empty unless a connector failed: a storm's
            // records find no page waiting out a back-off, and look up nothing more.
            guard !delivered.isEmpty, !(try db.rows("SELECT 1 AS waiting FROM outbox WHERE backoff_until IS NOT NULL LIMIT 1")).isEmpty
            else { return 0 }
            return try db.rows("""
                UPDATE outbox SET next_attempt_at = ?1, backoff_until = NULL
                WHERE backoff_until IS NOT NULL AND status = 'pending'
                  AND connector IN (SELECT connector FROM outbox WHERE id IN (SELECT value FROM json_each(?2)))
                RETURNING id
                """, [.integer(Int(now.milliseconds)), .text("[\(delivered.map(String.init).joined(separator: ","))]")]).count
        }
    }

    public func outboxBacklog() async throws -> OutboxBacklog {
        try await reader.run { db in
            let row = try db.rows("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'").first
            return OutboxBacklog(pending: row?.column("n")?.integer ?? 0, oldest: SQLiteSession.time(row?.column("oldest")))
        }
    }

    /// One probe per incident of the outbox's unique key, which starts with `incident_id`.
    public func undeliveredPages(of incidents: [Incident]) async throws -> [Int64: UndeliveredPages] {
        // Failed: since the current tier was last paged (a tier paged again, by a repeat or
        // an ack timeout, whose new page went out is reached, whatever its earlier page
        // did). Retrying: any tier's in this episode, since they are still on their way.
        let paged = incidents.compactMap { i in
            i.escalation.tierPagedAt.map { (i.id, Int($0.milliseconds), i.tier, i.escalation.episodeStart) }
        }
        guard !paged.isEmpty else { return [:] }
        return try await reader.run { db in
            let count = try db.prepare("""
                SELECT COALESCE(SUM(status = 'failed' AND created_at >= ?2 AND tier = ?3), 0) AS failed,
                       COALESCE(SUM(\(Delivery.retryingSQL) AND step > ?4), 0) AS retrying
                FROM outbox WHERE incident_id = ?1 AND event NOT IN (\(EscalationPlanner.PageReason.noticesSQL))
                """)
            var out: [Int64: UndeliveredPages] = [:]
            for (id, since, tier, episodeStart) in paged {
                let row = try db.rows(count, [.integer(Int(id)), .integer(since), .integer(tier), .integer(episodeStart)]).first
                let pages = UndeliveredPages(failed: row?.column("failed")?.integer ?? 0, retrying: row?.column("retrying")?.integer ?? 0)
                if pages != UndeliveredPages() { out[id] = pages }
            }
            return out
        }
    }

    public func distinctAlerts(of ids: [Int64]) async throws -> [Int64: Int] {
        guard !ids.isEmpty else { return [:] }
        return try await reader.run { db in
            var out: [Int64: Int] = [:]
            for row in try db.rows(
                "SELECT incident_id, COUNT(*) AS n FROM alerts WHERE incident_id IN (SELECT value FROM json_each(?)) GROUP BY incident_id",
                [.text("[\(ids.map(String.init).joined(separator: ","))]")]) {
                if let id = row.column("incident_id")?.integer, let n = row.column("n")?.integer { out[Int64(id)] = n }
            }
            return out
        }
    }

    /// `MIN` with a plain `status` term is one probe of the index; with the connectors left
    /// out it would read every pending row (a storm's backlog, on every pass), so that one
    /// walks the index in order and stops at the first row it may take.
    public func nextDeliveryDue(excluding: [String]) async throws -> Timestamp? {
        let skipped = JSONWriter.text { $0.value(excluding) }
        return try await reader.run { db in
            let row = excluding.isEmpty
                ? try db.rows("SELECT MIN(next_attempt_at) AS due FROM outbox WHERE status = 'pending'").first
                : try db.rows("""
                    SELECT next_attempt_at AS due FROM outbox
                    WHERE status = 'pending' AND connector NOT IN (SELECT value FROM json_each(?))
                    ORDER BY next_attempt_at LIMIT 1
                    """, [.text(skipped)]).first
            return SQLiteSession.time(row?.column("due"))
        }
    }
}

extension SQLiteSession {
    /// At start: every pending page is due now. Those the last process was sending when it
    /// died would otherwise wait out their lease, and only one process opens the file
    /// (``FileLock``), so no other dispatcher can hold them. A lease cannot be told from a
    /// receiver's `Retry-After` in the row, so pages waiting for one (or out a back-off)
    /// are tried once more at start too: one early attempt after a restart, where a page
    /// held for minutes in an outage that just ended would be worse.
    func releaseInterruptedDeliveries(now: Timestamp) throws {
        try run("UPDATE outbox SET next_attempt_at = ?1, backoff_until = NULL WHERE status = 'pending' AND next_attempt_at > ?1",
                [Self.data(now)])
    }

    /// A delivery's outcome, inside the caller's transaction.
    func record(_ record: DeliveryRecord, now: Timestamp) throws {
        let id = record.id
        switch record.outcome {
        case .delivered:
            // `last_error` stays: it is what the row went through, and a row with one had
            // its failure on the timeline, which now gets how it ended.
            // Also a row another outcome closed (a lease that ran out): it did go out.
            let row = try rows("""
                UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ? AND status <> 'sent'
                RETURNING incident_id, connector, tier, event, recipients, attempts, last_error IS NOT NULL AS failed_before
                """, [.integer(Int(now.milliseconds)), .integer(Int(id))]).first
            if let row, row.column("failed_before")?.integer == 1 {
                let r = OutboxRow(row)
                try append(timeline: [.deliveredAfterFailing(
                    incidentID: r.incident, tier: r.tier, connector: r.connector, event: r.event,
                    recipients: Delivery.recipients(json: row.column("recipients")?.string), attempts: row.column("attempts")!.integer!,
                    at: now)])
            }
        case .partlyDelivered(let refused, let retry):
            let reason = SQLiteData.text(Delivery.refusedPrefix + refused.joined(separator: ", "))
            // Refused for now: the row stays pending, addressed to those only.
            let row = try retry.map { retry in
                try rows("""
                    UPDATE outbox SET recipients = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'
                    RETURNING incident_id, connector, tier, event
                    """, [.text(JSONWriter.text { $0.value(retry.recipients) }), .integer(Int(retry.at.milliseconds)),
                          reason, .integer(Int(id))]).first
            } ?? rows("""
                UPDATE outbox SET status = 'sent', sent_at = ?, last_error = ? WHERE id = ? AND status = 'pending'
                RETURNING incident_id, connector, tier, event
                """, [.integer(Int(now.milliseconds)), reason, .integer(Int(id))]).first
            if let row {
                let r = OutboxRow(row)
                try append(timeline: [.recipientsRefused(
                    incidentID: r.incident, tier: r.tier, connector: r.connector, event: r.event,
                    refused: refused, retrying: retry?.recipients ?? [], at: now)])
            }
        case .retry(let at, let reason):
            // The first failure of a page goes on the timeline; its retries do not, so an
            // outage of a chat service does not flood every incident's history. The first
            // is the one that finds no `last_error` (not attempt 1: an attempt cut short
            // by a crash records nothing).
            let firstFailure = try rows("SELECT last_error IS NULL AS first FROM outbox WHERE id = ?", [.integer(Int(id))])
                .first?.column("first")?.integer == 1
            let row = try rows("""
                UPDATE outbox SET next_attempt_at = ?, backoff_until = ?, last_error = ? WHERE id = ? AND status = 'pending'
                RETURNING incident_id, connector, tier, event
                """, [.integer(Int(at.milliseconds)), record.waitsOutBackoff ? .integer(Int(at.milliseconds)) : .null,
                      .text(reason), .integer(Int(id))]).first
            if let row, firstFailure {
                let r = OutboxRow(row)
                try append(timeline: [.deliveryFailed(
                    incidentID: r.incident, tier: r.tier, connector: r.connector, event: r.event, reason: reason,
                    retrying: true, at: now)])
            }
        case .cancelled(let reason):
            // `last_error` stays: whether the row was partly delivered words its line.
            let row = try rows("""
                UPDATE outbox SET status = 'cancelled' WHERE id = ? AND status = 'pending'
                RETURNING incident_id, connector, tier, event, recipients, last_error
                """, [.integer(Int(id))]).first
            if let row {
                let r = OutboxRow(row)
                try append(timeline: [.pageCancelled(
                    incidentID: r.incident, tier: r.tier, connector: r.connector, event: r.event, reason: reason,
                    recipients: Delivery.recipients(json: row.column("recipients")?.string),
                    lastError: row.column("last_error")?.string, at: now)])
            }
        case .failed(let reason):
            // A row left for recipients a mail server refused for now was delivered to the
            // others: giving up on those leaves it sent, not a failed page (the tier was
            // paged; `show` counted one, black-box round 29). Its line names who missed it.
            let row = try rows("""
                UPDATE outbox SET status = \(Delivery.failedStatusSQL), last_error = ? WHERE id = ? AND status = 'pending'
                RETURNING incident_id, connector, tier, event
                """, [.text(reason), .integer(Int(id))]).first
            if let row {
                let r = OutboxRow(row)
                try append(timeline: [.deliveryFailed(
                    incidentID: r.incident, tier: r.tier, connector: r.connector, event: r.event, reason: reason,
                    retrying: false, at: now)])
            }
        }
    }
}

/// What every timeline line of a delivery names, from `RETURNING incident_id, connector,
/// tier, event`.
private struct OutboxRow {
    let incident: Int64
    let tier: Int
    let connector: String
    let event: String

    init(_ row: SQLiteResultRow) {
        incident = Int64(row.column("incident_id")!.integer!)
        tier = row.column("tier")!.integer!
        connector = row.column("connector")!.string!
        event = row.column("event")?.string ?? ""
    }
}
