import AlertBridgeCore
import Foundation
import Logging
import PostgresNIO

/// The statements behind ``PostgresStore``: batch reads and writes with one JSONB
/// parameter fanned out by `jsonb_to_recordset`, so each batch is a constant number
/// of statements whatever its size. The JSON documents are written by hand (`JSONWriter+Rows.swift`).
extension PostgresStore {
    static let incidentColumns = """
        id, dedup_key, status, title, severity, labels::text AS labels, annotations::text AS annotations, rule, policy, \
        tier, alert_count, firing_count, created_at, last_alert_at, acknowledged_at, acknowledged_by, resolved_at, \
        resolved_by, next_escalation_at, escalation::text AS escalation
        """

    static let alertColumns = """
        fingerprint, status, severity, summary, labels::text AS labels, annotations::text AS annotations, source, \
        value, threshold, starts_at, ends_at, first_seen_at, last_seen_at, received_count
        """

    static func incidentRows(_ db: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> [Incident] {
        try await decodeIncidents(db.query(query, logger: logger))
    }

    static func decodeIncidents<Rows: AsyncSequence>(_ rows: Rows) async throws -> [Incident] where Rows.Element == PostgresRow {
        var out: [Incident] = []
        for try await row in rows {
            out.append(try decodeIncident(row))
        }
        return out
    }

    enum LatestIncidents: PreparedSQL {
        static let sql = """
            SELECT \(incidentColumns) FROM incidents WHERE id IN (
                SELECT MAX(id) FROM incidents WHERE dedup_key = ANY($1::text[]) GROUP BY dedup_key)
            ORDER BY id FOR NO KEY UPDATE
            """
    }

    /// The newest incident of each key, open or resolved (resolved ones matter for
    /// reopening), locked so an operator action cannot change it under the planner.
    static func latestIncidents(_ db: PostgresConnection, keys: [String], logger: Logger) async throws -> [String: Incident] {
        let rows = try await decodeIncidents(db.execute(LatestIncidents.self, keys, logger: logger))
        var out: [String: Incident] = [:]
        for incident in rows { out[incident.dedupKey] = incident }
        return out
    }

    enum OpenIncidentsOfRules: PreparedSQL {
        static let sql = "SELECT \(incidentColumns) FROM incidents WHERE status <> 'resolved' AND rule = ANY($1::text[])"
    }

    /// Open incidents of the given rules: the sources that may inhibit alerts in a batch.
    static func openIncidents(_ db: PostgresConnection, rules: [String], logger: Logger) async throws -> [Incident] {
        guard !rules.isEmpty else { return [] }
        return try await decodeIncidents(db.execute(OpenIncidentsOfRules.self, rules, logger: logger))
    }

    /// Incidents of the given rules resolved at or after `since`: the sources an incident at
    /// the end of its inhibit wait looks at besides the open ones.
    static func resolvedIncidents(_ db: PostgresConnection, rules: [String], since: Timestamp, logger: Logger) async throws -> [Incident] {
        guard !rules.isEmpty else { return [] }
        return try await incidentRows(db, """
            SELECT \(unescaped: incidentColumns) FROM incidents
            WHERE status = 'resolved' AND rule = ANY(\(rules)::text[]) AND resolved_at >= \(since.milliseconds)
            """, logger: logger)
    }

    enum AlertStatuses: PreparedSQL {
        static let sql = """
            SELECT a.incident_id, a.fingerprint, a.status, a.starts_at, a.ends_at
            FROM unnest($1::bigint[], $2::text[]) AS p(incident_id, fingerprint)
            JOIN alerts a ON a.incident_id = p.incident_id AND a.fingerprint = p.fingerprint
            """
    }

    /// The stored status of the given alerts, when the resolved ones ended (to spot stale
    /// copies) and when the firing ones started (to spot stale recoveries).
    static func alertStatuses(_ db: PostgresConnection, _ pairs: [IngestPlanner.AlertKey], logger: Logger) async throws
        -> (status: [IngestPlanner.AlertKey: AlertStatus], ends: [IngestPlanner.AlertKey: Timestamp],
            starts: [IngestPlanner.AlertKey: Timestamp]) {
        guard !pairs.isEmpty else { return ([:], [:], [:]) }
        let ids = pairs.map(\.incidentID)
        let fingerprints = pairs.map(\.fingerprint)
        var status: [IngestPlanner.AlertKey: AlertStatus] = [:]
        var ends: [IngestPlanner.AlertKey: Timestamp] = [:]
        var starts: [IngestPlanner.AlertKey: Timestamp] = [:]
        for try await row in try await db.execute(AlertStatuses.self, ids, fingerprints, logger: logger) {
            let (id, fingerprint, text, startsAt, endsAt) = try row.decode((Int64, String, String, Int64?, Int64?).self)
            let key = IngestPlanner.AlertKey(incidentID: id, fingerprint: fingerprint)
            status[key] = AlertStatus(rawValue: text)
            if status[key] == .resolved, let endsAt { ends[key] = Timestamp(milliseconds: endsAt) }
            if status[key] == .firing, let startsAt { starts[key] = Timestamp(milliseconds: startsAt) }
        }
        return (status, ends, starts)
    }

    enum WriteIncidents: PreparedSQL {
        static let sql = """
            INSERT INTO incidents (id, dedup_key, status, title, severity, labels, annotations, rule, policy, tier,
                                   alert_count, firing_count, created_at, last_alert_at, acknowledged_at, acknowledged_by,
                                   resolved_at, resolved_by, next_escalation_at, escalation)
            SELECT id, dedup_key, status, title, severity, labels, annotations, rule, policy, tier,
                   alert_count, firing_count, created_at, last_alert_at, acknowledged_at, acknowledged_by,
                   resolved_at, resolved_by, next_escalation_at, escalation
            FROM jsonb_to_recordset($1::jsonb) AS j(
                id bigint, dedup_key text, status text, title text, severity text, labels jsonb, annotations jsonb,
                rule text, policy text, tier bigint, alert_count bigint, firing_count bigint, created_at bigint,
                last_alert_at bigint, acknowledged_at bigint, acknowledged_by text, resolved_at bigint,
                resolved_by text, next_escalation_at bigint, escalation jsonb)
            ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, title = excluded.title, severity = excluded.severity,
                policy = excluded.policy, tier = excluded.tier, alert_count = excluded.alert_count, firing_count = excluded.firing_count,
                last_alert_at = excluded.last_alert_at, acknowledged_at = excluded.acknowledged_at,
                acknowledged_by = excluded.acknowledged_by, resolved_at = excluded.resolved_at,
                resolved_by = excluded.resolved_by, next_escalation_at = excluded.next_escalation_at,
                escalation = excluded.escalation
            """
    }

    static func write(_ db: PostgresConnection, incidents: [Incident], logger: Logger) async throws {
        guard !incidents.isEmpty else { return }
        _ = try await db.execute(WriteIncidents.self, JSONWriter.incidents(incidents), logger: logger)
    }

    enum WriteAlerts: PreparedSQL {
        static let sql = """
            INSERT INTO alerts (incident_id, fingerprint, status, severity, summary, labels, annotations, source,
                                value, threshold, starts_at, ends_at, first_seen_at, last_seen_at, received_count)
            SELECT incident_id, fingerprint, status, severity, summary, labels, annotations, source,
                   value, threshold, starts_at, ends_at, first_seen_at, last_seen_at, received
            FROM jsonb_to_recordset($1::jsonb) AS j(
                incident_id bigint, fingerprint text, status text, severity text, summary text, labels jsonb,
                annotations jsonb, source text, value double precision, threshold double precision, starts_at bigint,
                ends_at bigint, first_seen_at bigint, last_seen_at bigint, received bigint)
            ON CONFLICT (incident_id, fingerprint) DO UPDATE SET \(AlertRowSQL.onConflictSet)
            """
    }

    static func write(_ db: PostgresConnection, alerts: [IngestPlanner.AlertChange], logger: Logger) async throws {
        guard !alerts.isEmpty else { return }
        _ = try await db.execute(WriteAlerts.self, JSONWriter.alerts(alerts), logger: logger)
    }

    enum MarkAlertsResolved: PreparedSQL {
        static let sql = """
            UPDATE alerts SET status = 'resolved' WHERE status = 'firing' AND incident_id = ANY($1::bigint[])
            """
    }

    static func markAlertsResolved(_ db: PostgresConnection, incidentIDs: [Int64], logger: Logger) async throws {
        guard !incidentIDs.isEmpty else { return }
        _ = try await db.execute(MarkAlertsResolved.self, incidentIDs, logger: logger)
    }

    enum AppendTimeline: PreparedSQL {
        static let sql = """
            INSERT INTO timeline (incident_id, at, kind, "by", detail)
            SELECT incident_id, at, kind, "by", detail
            FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
                            AS (incident_id bigint, at bigint, kind text, "by" text, detail text))
                 WITH ORDINALITY AS j(incident_id, at, kind, "by", detail, n)
            ORDER BY n
            """
    }

    static func append(_ db: PostgresConnection, timeline: [TimelineEntry], logger: Logger) async throws {
        guard !timeline.isEmpty else { return }
        _ = try await db.execute(AppendTimeline.self, JSONWriter.timeline(timeline), logger: logger)
    }

    static func incidentForUpdate(_ db: PostgresConnection, _ id: Int64, logger: Logger) async throws -> Incident? {
        try await incidentRows(db, "SELECT \(unescaped: incidentColumns) FROM incidents WHERE id = \(id) FOR NO KEY UPDATE",
                               logger: logger).first
    }

    // MARK: - Encoding parameters

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    // MARK: - Decoding rows

    static func decodeIncident(_ row: PostgresRow) throws -> Incident {
        let r = row.makeRandomAccess()
        return Incident(
            id: try r["id"].decode(Int64.self),
            dedupKey: try r["dedup_key"].decode(String.self),
            status: IncidentStatus(rawValue: try r["status"].decode(String.self)) ?? .triggered,
            title: try r["title"].decode(String.self),
            severity: Severity(rawValue: try r["severity"].decode(String.self)) ?? .critical,
            labels: labels(try r["labels"].decode(String?.self)),
            annotations: labels(try r["annotations"].decode(String?.self)),
            rule: try r["rule"].decode(String.self),
            policy: try r["policy"].decode(String.self),
            tier: try r["tier"].decode(Int.self),
            alertCount: try r["alert_count"].decode(Int.self),
            firingCount: try r["firing_count"].decode(Int.self),
            createdAt: Timestamp(milliseconds: try r["created_at"].decode(Int64.self)),
            lastAlertAt: Timestamp(milliseconds: try r["last_alert_at"].decode(Int64.self)),
            acknowledgedAt: try r["acknowledged_at"].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            acknowledgedBy: try r["acknowledged_by"].decode(String?.self),
            resolvedAt: try r["resolved_at"].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            resolvedBy: try r["resolved_by"].decode(String?.self),
            nextEscalationAt: try r["next_escalation_at"].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            escalation: try r["escalation"].decode(String?.self).flatMap {
                try? JSONDecoder().decode(EscalationState.self, from: Data($0.utf8))
            } ?? EscalationState())
    }

    static func decodeAlert(_ row: PostgresRow) throws -> StoredAlert {
        let r = row.makeRandomAccess()
        return StoredAlert(
            fingerprint: try r["fingerprint"].decode(String.self),
            status: AlertStatus(rawValue: try r["status"].decode(String.self)) ?? .firing,
            severity: Severity(rawValue: try r["severity"].decode(String.self)) ?? .critical,
            summary: try r["summary"].decode(String.self),
            labels: labels(try r["labels"].decode(String?.self)),
            annotations: labels(try r["annotations"].decode(String?.self)),
            source: try r["source"].decode(String.self),
            value: try r["value"].decode(Double?.self),
            threshold: try r["threshold"].decode(Double?.self),
            startsAt: try r["starts_at"].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            endsAt: try r["ends_at"].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            firstSeenAt: Timestamp(milliseconds: try r["first_seen_at"].decode(Int64.self)),
            lastSeenAt: Timestamp(milliseconds: try r["last_seen_at"].decode(Int64.self)),
            receivedCount: try r["received_count"].decode(Int.self))
    }

    static func decodeTimeline(_ row: PostgresRow) throws -> TimelineEntry {
        let r = row.makeRandomAccess()
        return TimelineEntry(
            incidentID: try r["incident_id"].decode(Int64.self),
            at: Timestamp(milliseconds: try r["at"].decode(Int64.self)),
            kind: TimelineEntry.Kind(rawValue: try r["kind"].decode(String.self)) ?? .note,
            by: try r["by"].decode(String?.self),
            detail: try r["detail"].decode(String?.self))
    }

    static func labels(_ text: String?) -> Labels {
        guard let text else { return [:] }
        return StringMapJSON.decode(text) ?? (try? JSONDecoder().decode(Labels.self, from: Data(text.utf8))) ?? [:]
    }
}
