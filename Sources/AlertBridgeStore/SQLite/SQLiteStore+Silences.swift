import AlertBridgeCore
import SQLiteNIO

/// Silences: written and expired on the writer, listed on the reader.
extension SQLiteStore {
    public func createSilence(_ silence: Silence) async throws -> Silence {
        try await writer.transaction { db in
            var stored = silence
            let row = try db.rows("""
                INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at)
                VALUES (?, ?, ?, ?, ?, ?) RETURNING id
                """, [.text(silence.matchersJSON), SQLiteSession.data(silence.startsAt), SQLiteSession.data(silence.endsAt),
                      .text(silence.createdBy), .text(silence.comment), SQLiteSession.data(silence.createdAt)])
            stored.id = Int64(row.first?.column("id")?.integer ?? 0)
            return stored
        }
    }

    public func silences(_ query: SilenceQuery) async throws -> [Silence] {
        try await reader.run { db in
            try db.silences(where: query.status.condition("?1"), [SQLiteSession.data(query.now)], limit: query.limit)
        }
    }

    public func expireSilence(id: Int64, by: String, now: Timestamp) async throws -> Silence {
        let cache = self.cache
        return try await writer.transaction { db in
            let silence = try db.silence(id)
            let expired = try silence.expired(by: by, at: now)
            try db.run("UPDATE silences SET starts_at = ?, ends_at = ?, expired_by = ? WHERE id = ?",
                       [SQLiteSession.data(expired.startsAt), SQLiteSession.data(expired.endsAt), .text(by), .integer(Int(id))])
            // The incidents it held wait for its old end: make them due now, and the engine
            // pages those no other silence still holds.
            let waiting = try db.rows("""
                SELECT \(SQLiteSession.incidentColumns) FROM incidents
                WHERE status IN ('triggered', 'acknowledged') AND next_escalation_at > ? AND json_extract(escalation, '$.silencedUntil') IS NOT NULL
                """, [SQLiteSession.data(now)]).map(SQLiteSession.decodeIncident)
            for incident in waiting where incident.isHeld {
                guard silence.endingWakes(incident, firing: try db.firingLabels(of: incident.id), now: now) else { continue }
                cache.forget(incident.dedupKey)
                try db.run("UPDATE incidents SET next_escalation_at = ? WHERE id = ?",
                           [SQLiteSession.data(now), .integer(Int(incident.id))])
            }
            return expired
        }
    }

    public func extendSilence(id: Int64, to end: Silence.End, by: String, comment: String?, now: Timestamp) async throws -> Silence {
        try await writer.transaction { db in
            let extended = try db.silence(id).extended(to: end, by: by, comment: comment, at: now)
            try db.run("UPDATE silences SET ends_at = ?, comment = ?, extended_by = ? WHERE id = ?",
                       [SQLiteSession.data(extended.endsAt), .text(extended.comment), .text(by), .integer(Int(id))])
            return extended
        }
    }
}

extension SQLiteSession {
    func silence(_ id: Int64) throws -> Silence {
        guard let silence = try silences(where: "id = ?1", [.integer(Int(id))], limit: 1).first else {
            throw StoreError.silenceNotFound(id)
        }
        return silence
    }

    /// Silences meeting an SQL condition on their columns (its parameters `?1`… bound to
    /// `binds`), newest first. One whose stored matchers no longer parse is left out: it
    /// must hold nothing rather than everything.
    func silences(where condition: String, _ binds: [SQLiteData], limit: Int) throws -> [Silence] {
        try rows("""
            SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at, expired_by, extended_by FROM silences
            WHERE \(condition) ORDER BY id DESC LIMIT ?\(binds.count + 1)
            """, binds + [.integer(limit)]).compactMap { row in
            guard let matchers = Silence.matchers(fromJSON: row.column("matchers")?.string ?? "") else { return nil }
            return Silence(
                id: Int64(row.column("id")!.integer!), matchers: matchers, startsAt: Self.time(row.column("starts_at"))!,
                endsAt: Self.time(row.column("ends_at"))!, createdBy: row.column("created_by")!.string!,
                comment: row.column("comment")!.string!, createdAt: Self.time(row.column("created_at"))!,
                expiredBy: row.column("expired_by")?.string, extendedBy: row.column("extended_by")?.string)
        }
    }

    /// The silences in force for an ingest batch or an engine pass at `now`.
    func activeSilences(at now: Timestamp) throws -> [Silence] {
        try silences(where: SilenceQuery.StatusFilter.active.condition("?1"), [Self.data(now)], limit: -1)
    }
}
