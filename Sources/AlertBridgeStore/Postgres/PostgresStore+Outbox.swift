import AlertBridgeCore
import Foundation
import Logging
import PostgresNIO

/// The notification outbox: claim, deliver, record.
extension PostgresStore {
    /// `$5` is the claiming instance's lock key, 0 while it holds none (``InstanceLock``).
    enum ClaimDeliveries: PreparedSQL {
        static let sql = """
            UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, backoff_until = NULL,
                              claimed_by = NULLIF($5, 0), claimed_at = $2
            WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2
                         AND connector <> ALL($4::text[])
                         ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING id, incident_id, step, event, tier, tier_name, connector, recipients::text AS recipients,
                      attempts, created_at, last_error
            """
    }

    /// The lock keys of other instances that have pages claimed and no session holding
    /// their lock (``InstanceLock``). A short scan: the index holds only pages in flight.
    enum MissingClaimers: PreparedSQL {
        static let sql = """
            SELECT DISTINCT claimed_by FROM outbox
            WHERE status = 'pending' AND claimed_by IS NOT NULL AND claimed_by <> $1
              AND claimed_by NOT IN (SELECT key FROM (\(InstanceLock.heldSQL)) held)
            """
    }

    /// Makes due again the pages of instances found dead: due at the time they were
    /// claimed, so they go before pages that fell due since. Rows another claim holds are
    /// skipped, never waited for.
    enum TakeBackClaims: PreparedSQL {
        static let sql = """
            UPDATE outbox SET next_attempt_at = claimed_at, claimed_by = NULL, claimed_at = NULL
            WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND claimed_by = ANY($1::bigint[])
                         FOR UPDATE SKIP LOCKED)
            RETURNING id, incident_id
            """
    }

    /// Claims with `FOR UPDATE SKIP LOCKED`: two dispatchers (on one instance or many)
    /// never receive the same row, and neither waits for the other. First takes back the
    /// pages of instances that died while sending them (``AbsentInstances``), while this
    /// one holds its own lock, so that a connection trouble of its own never makes it
    /// take back the others'.
    public func claimDeliveries(now: Timestamp, lease: Duration, limit: Int, quota: ClaimQuota) async throws -> [Delivery] {
        let logger = self.logger
        let leaseEnd = (now + lease).milliseconds
        let stamp = await instance.stamp()
        let look = stamp != nil && absent.withLock { $0.shouldLook(at: now) }
        return try await transaction { [self] db in
            if let stamp, look {
                var missing = Set<Int64>()
                for try await row in try await db.execute(MissingClaimers.self, stamp, logger: logger) {
                    missing.insert(try row.decode(Int64.self))
                }
                let dead = absent.withLock { $0.seenMissing(missing, at: now) }
                if !dead.isEmpty {
                    var pages: [(id: Int64, incident: Int64)] = []
                    for try await row in try await db.execute(TakeBackClaims.self, dead, logger: logger) {
                        pages.append(try row.decode((Int64, Int64).self))
                    }
                    if !pages.isEmpty {
                        logger.notice("taking back pages claimed by an instance that is gone (its lock has been released for \(DurationText.format(AbsentInstances.grace)) or more)",
                                      metadata: [
                                          "pages": "\(pages.map(\.id).sorted().map(String.init).joined(separator: ","))",
                                          "incidents": "\(Set(pages.map(\.incident)).sorted().map(String.init).joined(separator: ","))",
                                          "instances": "\(dead.map(String.init).joined(separator: ","))",
                                      ])
                    }
                }
            }
            var out: [Delivery] = []
            for try await row in try await db.execute(ClaimDeliveries.self, leaseEnd, now.milliseconds, quota.limit(limit), quota.full,
                                                          stamp ?? 0, logger: logger) {
                let r = row.makeRandomAccess()
                out.append(Delivery(
                    id: try r["id"].decode(Int64.self),
                    incidentID: try r["incident_id"].decode(Int64.self),
                    step: try r["step"].decode(Int.self),
                    event: EscalationPlanner.PageReason(rawValue: try r["event"].decode(String.self)) ?? .triggered,
                    tier: try r["tier"].decode(Int.self),
                    tierName: try r["tier_name"].decode(String.self),
                    connector: try r["connector"].decode(String.self),
                    recipients: Delivery.recipients(json: try r["recipients"].decode(String.self)),
                    attempts: try r["attempts"].decode(Int.self),
                    createdAt: Timestamp(milliseconds: try r["created_at"].decode(Int64.self)),
                    lastError: try r["last_error"].decode(String?.self)))
            }
            return out.sorted { $0.id < $1.id }
        }
    }

    /// Marks delivered rows sent, also one another instance closed after its lease ran out
    /// (it did go out); returns those whose failures were on the timeline, which now gets
    /// how they ended (`last_error` stays: it is what the row went through).
    enum MarkSent: PreparedSQL {
        static let sql = """
            WITH sent AS (
                UPDATE outbox SET status = 'sent', sent_at = $1 WHERE id = ANY($2::bigint[]) AND status <> 'sent'
                RETURNING incident_id, connector, tier, event, recipients::text AS recipients, attempts, last_error)
            SELECT incident_id, connector, tier, event, recipients, attempts FROM sent WHERE last_error IS NOT NULL
            """
    }

    /// Makes due the pages waiting out a back-off of the connectors that delivered these
    /// rows (one probe of a partial index that is empty unless a connector failed).
    enum EndBackoffs: PreparedSQL {
        static let sql = """
            UPDATE outbox SET next_attempt_at = $1, backoff_until = NULL
            WHERE backoff_until IS NOT NULL AND status = 'pending'
              AND connector IN (SELECT connector FROM outbox WHERE id = ANY($2::bigint[]))
            RETURNING id
            """
    }

    /// One transaction for the batch; all deliveries that succeeded in one statement.
    @discardableResult
    public func recordDeliveries(_ outcomes: [DeliveryRecord], now: Timestamp) async throws -> Int {
        guard !outcomes.isEmpty else { return 0 }
        let logger = self.logger
        return try await transaction { db in
            var entries: [TimelineEntry] = []
            let sent = outcomes.compactMap { $0.outcome == .delivered ? $0.id : nil }
            if !sent.isEmpty {
                for try await row in try await db.execute(MarkSent.self, now.milliseconds, sent, logger: logger) {
                    let (incident, connector, tier, event, recipients, attempts) =
                        try row.decode((Int64, String, Int, String, String, Int).self)
                    entries.append(.deliveredAfterFailing(incidentID: incident, tier: tier, connector: connector, event: event,
                                                          recipients: Delivery.recipients(json: recipients),
                                                          attempts: attempts, at: now))
                }
            }
            for record in outcomes {
                switch record.outcome {
                case .delivered:
                    continue
                case .partlyDelivered(let refused, let retry):
                    let reason = Delivery.refusedPrefix + refused.joined(separator: ", ")
                    // Refused for now: the row stays pending, addressed to those only.
                    let update: PostgresQuery = if let retry {
                        """
                        UPDATE outbox SET recipients = \(JSONWriter.text { $0.value(retry.recipients) })::jsonb,
                            next_attempt_at = \(retry.at.milliseconds), last_error = \(reason), claimed_by = NULL, claimed_at = NULL
                        WHERE id = \(record.id) AND status = 'pending'
                        RETURNING incident_id, connector, tier, event
                        """
                    } else {
                        """
                        UPDATE outbox SET status = 'sent', sent_at = \(now.milliseconds), last_error = \(reason)
                        WHERE id = \(record.id) AND status = 'pending'
                        RETURNING incident_id, connector, tier, event
                        """
                    }
                    for try await (incident, connector, tier, event) in try await db.query(update, logger: logger)
                        .decode((Int64, String, Int, String).self) {
                        entries.append(.recipientsRefused(incidentID: incident, tier: tier, connector: connector, event: event,
                                                          refused: refused, retrying: retry?.recipients ?? [], at: now))
                    }
                case .retry(let at, let reason):
                    // As in the SQLite store: the first failure of a page (the one that finds
                    // no `last_error`) goes on the timeline, its retries do not.
                    for try await (incident, connector, tier, event, first) in try await db.query("""
                        WITH before AS (SELECT id, last_error IS NULL AS first FROM outbox WHERE id = \(record.id) FOR UPDATE)
                        UPDATE outbox o SET next_attempt_at = \(at.milliseconds),
                            backoff_until = \(record.waitsOutBackoff ? at.milliseconds : nil), last_error = \(reason),
                            claimed_by = NULL, claimed_at = NULL
                        FROM before WHERE o.id = before.id AND o.status = 'pending'
                        RETURNING o.incident_id, o.connector, o.tier, o.event, before.first
                        """, logger: logger).decode((Int64, String, Int, String, Bool).self) where first {
                        entries.append(.deliveryFailed(incidentID: incident, tier: tier, connector: connector, event: event,
                                                       reason: reason, retrying: true, at: now))
                    }
                case .cancelled(let reason):
                    // As in the SQLite store: `last_error` stays.
                    for try await (incident, connector, tier, event, recipients, lastError) in try await db.query("""
                        UPDATE outbox SET status = 'cancelled' WHERE id = \(record.id) AND status = 'pending'
                        RETURNING incident_id, connector, tier, event, recipients::text, last_error
                        """, logger: logger).decode((Int64, String, Int, String, String, String?).self) {
                        entries.append(.pageCancelled(incidentID: incident, tier: tier, connector: connector, event: event,
                                                      reason: reason,
                                                      recipients: Delivery.recipients(json: recipients), lastError: lastError,
                                                      at: now))
                    }
                case .failed(let reason):
                    for try await (incident, connector, tier, event) in try await db.query("""
                        UPDATE outbox SET status = \(unescaped: Delivery.failedStatusSQL), last_error = \(reason)
                        WHERE id = \(record.id) AND status = 'pending'
                        RETURNING incident_id, connector, tier, event
                        """, logger: logger).decode((Int64, String, Int, String).self) {
                        entries.append(.deliveryFailed(incidentID: incident, tier: tier, connector: connector, event: event,
                                                       reason: reason, retrying: false, at: now))
                    }
                }
            }
            try await Self.append(db, timeline: entries, logger: logger)
            let delivered = outcomes.filter(\.outcome.reachedItsConnector).map(\.id)
            guard !delivered.isEmpty else { return 0 }
            var ended = 0
            for try await _ in try await db.execute(EndBackoffs.self, now.milliseconds, delivered, logger: logger) { ended += 1 }
            return ended
        }
    }

    public func outboxBacklog() async throws -> OutboxBacklog {
        let logger = self.logger
        return try await withConnection { db in
            var backlog = OutboxBacklog(pending: 0, oldest: nil)
            for try await (count, oldest) in try await db.query(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'", logger: logger
            ).decode((Int, Int64?).self) {
                backlog = OutboxBacklog(pending: count, oldest: oldest.map(Timestamp.init(milliseconds:)))
            }
            return backlog
        }
    }

    public func undeliveredPages(of incidents: [Incident]) async throws -> [Int64: UndeliveredPages] {
        // Failed since the current tier was last paged, retrying in this episode (see the SQLite store).
        let paged = incidents.filter { $0.escalation.tierPagedAt != nil }
        guard !paged.isEmpty else { return [:] }
        let logger = self.logger
        let ids = paged.map(\.id)
        let starts = paged.map { $0.escalation.tierPagedAt!.milliseconds }
        let tiers = paged.map { Int64($0.tier) }
        let episodes = paged.map { Int64($0.escalation.episodeStart) }
        return try await withConnection { db in
            var out: [Int64: UndeliveredPages] = [:]
            for try await (id, failed, retrying) in try await db.query("""
                SELECT o.incident_id, COUNT(*) FILTER (WHERE o.status = 'failed' AND o.created_at >= e.start AND o.tier = e.tier),
                       COUNT(*) FILTER (WHERE \(unescaped: Delivery.retryingSQL) AND o.step > e.episode)
                FROM outbox o
                JOIN unnest(\(ids)::bigint[], \(starts)::bigint[], \(tiers)::bigint[], \(episodes)::bigint[]) AS e(id, start, tier, episode)
                  ON o.incident_id = e.id
                WHERE o.event NOT IN (\(unescaped: EscalationPlanner.PageReason.noticesSQL))
                AND ((o.status = 'failed' AND o.created_at >= e.start AND o.tier = e.tier) OR (\(unescaped: Delivery.retryingSQL) AND o.step > e.episode))
                GROUP BY o.incident_id
                """, logger: logger).decode((Int64, Int, Int).self) {
                out[id] = UndeliveredPages(failed: failed, retrying: retrying)
            }
            return out
        }
    }

    public func distinctAlerts(of ids: [Int64]) async throws -> [Int64: Int] {
        guard !ids.isEmpty else { return [:] }
        let logger = self.logger
        return try await withConnection { db in
            var out: [Int64: Int] = [:]
            for try await (id, count) in try await db.query(
                "SELECT incident_id, COUNT(*)::bigint FROM alerts WHERE incident_id = ANY(\(ids)::bigint[]) GROUP BY incident_id", logger: logger
            ).decode((Int64, Int).self) {
                out[id] = count
            }
            return out
        }
    }

    public func nextDeliveryDue(excluding: [String]) async throws -> Timestamp? {
        let logger = self.logger
        return try await withConnection { db in
            var due: Int64?
            for try await value in try await db.query(
                // In index order, stopping at the first row it may take (see SQLite's).
                """
                SELECT next_attempt_at FROM outbox WHERE status = 'pending' AND connector <> ALL(\(excluding)::text[])
                ORDER BY next_attempt_at LIMIT 1
                """,
                logger: logger
            ).decode(Int64?.self) {
                due = value
            }
            return due.map(Timestamp.init(milliseconds:))
        }
    }
}
