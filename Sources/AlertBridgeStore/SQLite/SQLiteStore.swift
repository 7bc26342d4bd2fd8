import AlertBridgeCore
import Foundation
import Logging
import SQLiteNIO

/// The embedded store: one SQLite file in WAL mode, one writer, one reader.
///
/// All writes go through one connection under ``AsyncMutex`` (SQLite has one writer
/// anyway); reads use a second connection so listing incidents never waits for a
/// commit. `synchronous=FULL` makes every commit durable before the 202 goes out;
/// group commit upstream keeps that cheap. Each batch is a constant number of
/// statements: rows travel as one JSON array parameter and `json_each` fans them out.
public final class SQLiteStore: IncidentStore {
    let writer: SQLiteConnection
    let reader: SQLiteConnection
    private let writeLock = AsyncMutex()

    private init(writer: SQLiteConnection, reader: SQLiteConnection) {
        self.writer = writer
        self.reader = reader
    }

    /// Opens (creating if needed) the database file and applies pending migrations.
    public static func open(path: String, logger: Logger) async throws -> SQLiteStore {
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"] {
            _ = try await writer.rows(pragma)
        }
        let store: SQLiteStore
        do {
            try await migrate(writer, logger: logger)
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.rows("PRAGMA query_only=ON")
            store = SQLiteStore(writer: writer, reader: reader)
        } catch {
            try? await writer.close()
            throw error
        }
        return store
    }

    static func migrate(_ db: SQLiteConnection, logger: Logger) async throws {
        _ = try await db.rows("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        let applied = Set(try await db.rows("SELECT version FROM schema_migrations").compactMap { $0.column("version")?.integer })
        for migration in SQLiteMigrations.all where !applied.contains(migration.version) {
            _ = try await db.rows("BEGIN IMMEDIATE")
            do {
                for statement in migration.statements { _ = try await db.rows(statement) }
                _ = try await db.rows("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                      [.integer(migration.version), .integer(Int(SystemClock().now().milliseconds))])
                _ = try await db.rows("COMMIT")
                logger.info("applied store migration", metadata: ["version": "\(migration.version)"])
            } catch {
                _ = try? await db.rows("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs `body` in an immediate transaction on the writer connection.
    func transaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await writeLock.withLock {
            _ = try await writer.rows("BEGIN IMMEDIATE")
            do {
                let result = try await body()
                _ = try await writer.rows("COMMIT")
                return result
            } catch {
                _ = try? await writer.rows("ROLLBACK")
                throw error
            }
        }
    }

    public func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome] {
        try await transaction {
            let keys = Array(Set(batch.map(\.dedupKey)))
            let current = try await latestIncidents(keys: keys)
            var pairs = Set<IngestPlanner.AlertKey>()
            for routed in batch {
                if let incident = current[routed.dedupKey] {
                    pairs.insert(.init(incidentID: incident.id, fingerprint: routed.alert.fingerprint))
                }
            }
            let statuses = try await alertStatuses(Array(pairs))
            let sourceRules = Set(batch.flatMap { $0.inhibitors.map(\.sourceRule) })
            let sources = try await openIncidents(rules: Array(sourceRules))
            var plan = IngestPlanner.plan(batch, current: current, alertStatus: statuses.status,
                                          inhibitSources: sources, alertEnds: statuses.ends, now: now)
            if plan.newIncidentCount > 0 {
                let maxID = try await writer.rows("SELECT COALESCE(MAX(id), 0) AS m FROM incidents").first?.column("m")?.integer ?? 0
                plan = plan.assigningIDs((1...plan.newIncidentCount).map { Int64(maxID + $0) })
            }
            try await write(incidents: plan.incidents)
            try await writeSnapshots(plan.policySnapshots)
            try await write(alerts: plan.alerts)
            try await markAlertsResolved(incidentIDs: plan.resolvedIncidentIDs)
            try await append(timeline: plan.timeline)
            try await enqueue(plan.pages, now: now)
            let resolved = Set(plan.resolvedIncidentIDs)
            try await notify(plan.incidents.filter { resolved.contains($0.id) && $0.status == .resolved }, event: .resolved, now: now)
            return plan.outcomes
        }
    }

    public func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident {
        try await transaction {
            guard let incident = try await incidentForUpdate(id) else { throw StoreError.notFound(id) }
            var (next, entry) = try action.apply(to: incident, now: now)
            let policy = try await snapshots(of: [id])[id]
            if let policy, next.status.isOpen {
                next.nextEscalationAt = EscalationPlanner.nextDue(next, policy: policy)
            }
            if next != incident { try await write(incidents: [next]) }
            try await append(timeline: [entry])
            switch action {
            case .acknowledge: try await notify([next], event: .acknowledged, now: now)
            case .resolve:
                try await markAlertsResolved(incidentIDs: [id])
                try await notify([next], event: .resolved, now: now)
            case .note: break
            }
            return next
        }
    }

    public func incidents(_ query: IncidentQuery) async throws -> [Incident] {
        let statuses = query.status.statuses.map { "'\($0.rawValue)'" }.joined(separator: ",")
        return try await reader.rows(
            "SELECT \(Self.incidentColumns) FROM incidents WHERE status IN (\(statuses)) ORDER BY id DESC LIMIT ?",
            [.integer(query.limit)]
        ).map(Self.decodeIncident)
    }

    public func incident(id: Int64) async throws -> IncidentDetail? {
        let bind: [SQLiteData] = [.integer(Int(id))]
        guard let incident = try await reader.rows("SELECT \(Self.incidentColumns) FROM incidents WHERE id = ?", bind)
            .first.map(Self.decodeIncident) else { return nil }
        let alerts = try await reader.rows(
            "SELECT * FROM alerts WHERE incident_id = ? ORDER BY first_seen_at, fingerprint", bind
        ).map(Self.decodeAlert)
        let timeline = try await reader.rows(
            "SELECT incident_id, at, kind, by, detail FROM timeline WHERE incident_id = ? ORDER BY id", bind
        ).map(Self.decodeTimeline)
        return IncidentDetail(incident: incident, alerts: alerts, timeline: timeline)
    }

    public func openIncident(dedupKey: String) async throws -> Incident? {
        try await reader.rows("SELECT \(Self.incidentColumns) FROM incidents WHERE dedup_key = ? AND status <> 'resolved'",
                              [.text(dedupKey)]).first.map(Self.decodeIncident)
    }

    public func ping() async throws {
        _ = try await reader.rows("SELECT 1")
    }

    public func close() async throws {
        try await reader.close()
        try await writer.close()
    }
}
