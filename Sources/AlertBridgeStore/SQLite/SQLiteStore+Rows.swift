import AlertBridgeCore
import Foundation
import SQLiteNIO

/// The statements behind ``SQLiteStore``: batch reads and writes through `json_each`.
extension SQLiteStore {
    static let incidentColumns = """
        id, dedup_key, status, title, severity, labels, annotations, rule, policy, tier, alert_count, \
        firing_count, created_at, last_alert_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, \
        next_escalation_at, escalation
        """

    /// The newest incident of each key, open or resolved (resolved ones matter for reopening).
    func latestIncidents(keys: [String]) async throws -> [String: Incident] {
        let rows = try await writer.rows("""
            SELECT \(Self.incidentColumns) FROM incidents WHERE id IN (
                SELECT MAX(id) FROM incidents WHERE dedup_key IN (SELECT value FROM json_each(?)) GROUP BY dedup_key)
            """, [try Self.json(keys)])
        var out: [String: Incident] = [:]
        for row in rows {
            let incident = Self.decodeIncident(row)
            out[incident.dedupKey] = incident
        }
        return out
    }

    /// Open incidents of the given rules: the sources that may inhibit alerts in a batch.
    func openIncidents(rules: [String]) async throws -> [Incident] {
        guard !rules.isEmpty else { return [] }
        return try await writer.rows("""
            SELECT \(Self.incidentColumns) FROM incidents
            WHERE status <> 'resolved' AND rule IN (SELECT value FROM json_each(?))
            """, [try Self.json(rules)]).map(Self.decodeIncident)
    }

    /// The stored status of the given alerts, and when the resolved ones ended.
    func alertStatuses(_ pairs: [IngestPlanner.AlertKey]) async throws
        -> (status: [IngestPlanner.AlertKey: AlertStatus], ends: [IngestPlanner.AlertKey: Timestamp]) {
        guard !pairs.isEmpty else { return ([:], [:]) }
        let rows = try await writer.rows("""
            SELECT a.incident_id, a.fingerprint, a.status, a.ends_at FROM json_each(?) j
            JOIN alerts a ON a.incident_id = j.value->>0 AND a.fingerprint = j.value->>1
            """, [try Self.json(pairs.map { [AnyCodable.int($0.incidentID), .string($0.fingerprint)] })])
        var status: [IngestPlanner.AlertKey: AlertStatus] = [:]
        var ends: [IngestPlanner.AlertKey: Timestamp] = [:]
        for row in rows {
            let key = IngestPlanner.AlertKey(incidentID: Int64(row.column("incident_id")!.integer!),
                                             fingerprint: row.column("fingerprint")!.string!)
            status[key] = AlertStatus(rawValue: row.column("status")!.string!)
            if status[key] == .resolved, let end = Self.time(row.column("ends_at")) { ends[key] = end }
        }
        return (status, ends)
    }

    func write(incidents: [Incident]) async throws {
        guard !incidents.isEmpty else { return }
        _ = try await writer.rows("""
            INSERT INTO incidents (\(Self.incidentColumns))
            SELECT j.value->>'id', j.value->>'dedup_key', j.value->>'status', j.value->>'title', j.value->>'severity',
                   j.value->'labels', j.value->'annotations', j.value->>'rule', j.value->>'policy', j.value->>'tier',
                   j.value->>'alert_count', j.value->>'firing_count', j.value->>'created_at', j.value->>'last_alert_at',
                   j.value->>'acknowledged_at', j.value->>'acknowledged_by', j.value->>'resolved_at',
                   j.value->>'resolved_by', j.value->>'next_escalation_at', j.value->'escalation'
            FROM json_each(?) j WHERE true
            ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, title = excluded.title, severity = excluded.severity,
                tier = excluded.tier, alert_count = excluded.alert_count, firing_count = excluded.firing_count,
                last_alert_at = excluded.last_alert_at, acknowledged_at = excluded.acknowledged_at,
                acknowledged_by = excluded.acknowledged_by, resolved_at = excluded.resolved_at,
                resolved_by = excluded.resolved_by, next_escalation_at = excluded.next_escalation_at,
                escalation = excluded.escalation
            """, [.text(JSONRowWriter.incidents(incidents))])
    }

    func write(alerts: [IngestPlanner.AlertChange]) async throws {
        guard !alerts.isEmpty else { return }
        _ = try await writer.rows("""
            INSERT INTO alerts (incident_id, fingerprint, status, severity, summary, labels, annotations, source,
                                value, threshold, starts_at, ends_at, first_seen_at, last_seen_at, received_count)
            SELECT j.value->>'incident_id', j.value->>'fingerprint', j.value->>'status', j.value->>'severity',
                   j.value->>'summary', j.value->'labels', j.value->'annotations', j.value->>'source',
                   j.value->>'value', j.value->>'threshold', j.value->>'starts_at', j.value->>'ends_at',
                   j.value->>'first_seen_at', j.value->>'last_seen_at', j.value->>'received'
            FROM json_each(?) j WHERE true
            ON CONFLICT (incident_id, fingerprint) DO UPDATE SET
                status = excluded.status, severity = excluded.severity, summary = excluded.summary,
                labels = excluded.labels, annotations = excluded.annotations, source = excluded.source,
                value = excluded.value, threshold = excluded.threshold, starts_at = excluded.starts_at,
                ends_at = excluded.ends_at, last_seen_at = excluded.last_seen_at,
                received_count = alerts.received_count + excluded.received_count
            """, [.text(JSONRowWriter.alerts(alerts))])
    }

    func markAlertsResolved(incidentIDs: [Int64]) async throws {
        guard !incidentIDs.isEmpty else { return }
        _ = try await writer.rows("""
            UPDATE alerts SET status = 'resolved'
            WHERE status = 'firing' AND incident_id IN (SELECT value FROM json_each(?))
            """, [try Self.json(incidentIDs)])
    }

    func append(timeline: [TimelineEntry]) async throws {
        guard !timeline.isEmpty else { return }
        _ = try await writer.rows("""
            INSERT INTO timeline (incident_id, at, kind, by, detail)
            SELECT j.value->>'incident_id', j.value->>'at', j.value->>'kind', j.value->>'by', j.value->>'detail'
            FROM json_each(?) j
            """, [.text(JSONRowWriter.timeline(timeline))])
    }

    // MARK: - Encoding parameters

    static func json<T: Encodable>(_ value: T) throws -> SQLiteData {
        .text(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    // MARK: - Decoding rows

    static func decodeIncident(_ row: SQLiteRow) -> Incident {
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

    static func decodeAlert(_ row: SQLiteRow) -> StoredAlert {
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

    static func decodeTimeline(_ row: SQLiteRow) -> TimelineEntry {
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

    private static func labels(_ data: SQLiteData?) -> Labels {
        guard let text = data?.string else { return [:] }
        return (try? JSONDecoder().decode(Labels.self, from: Data(text.utf8))) ?? [:]
    }
}

extension SQLiteConnection {
    /// Runs one statement on the connection's thread and collects its rows there,
    /// without the per-row event-loop hop of the generic `query` overload.
    func rows(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        nonisolated(unsafe) var rows: [SQLiteRow] = []
        try await query(sql, binds) { rows.append($0) }
        return rows
    }
}

/// A heterogeneous JSON array element for pair parameters.
enum AnyCodable: Encodable {
    case int(Int64)
    case string(String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        }
    }
}
