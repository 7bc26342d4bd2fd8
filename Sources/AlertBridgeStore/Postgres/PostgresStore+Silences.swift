import AlertBridgeCore
import Logging
import PostgresNIO

/// Silences: created, listed and expired by operators; read by every ingest batch and
/// engine pass.
extension PostgresStore {
    static let silenceColumns = "id, matchers::text AS matchers, starts_at, ends_at, created_by, comment, created_at, expired_by, extended_by"

    enum ActiveSilences: PreparedSQL {
        static let sql = "SELECT \(silenceColumns) FROM silences WHERE \(SilenceQuery.StatusFilter.active.condition("$1"))"
    }

    /// The silences in force at `now`.
    static func activeSilences(_ db: PostgresConnection, at now: Timestamp, logger: Logger) async throws -> [Silence] {
        try await decodeSilences(db.execute(ActiveSilences.self, now.milliseconds, logger: logger))
    }

    /// For an expire or an extension, first thing in its transaction: the silences' lock,
    /// exclusive, which every ingest takes shared before it reads the silences
    /// (``PostgresStore/LockKeys``). So an expire waits for the ingests under way, and its
    /// scan for held incidents sees those they hold; a batch that comes after it waits for
    /// it and reads the silence as ended. An advisory lock, because PostgreSQL queues it
    /// fairly: with every ingest reading the silences `FOR SHARE`, an expire's `FOR UPDATE`
    /// waited behind a stream of overlapping share locks and failed after 15 seconds
    /// whenever alerts kept arriving.
    static func lockSilences(_ db: PostgresConnection, logger: Logger) async throws {
        _ = try await db.query("SELECT pg_advisory_xact_lock(\(PostgresMigrations.silenceLockClass), 0)", logger: logger)
    }

    public func createSilence(_ silence: Silence) async throws -> Silence {
        let logger = self.logger
        return try await transaction { db in
            var stored = silence
            for try await id in try await db.query("""
                INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at)
                VALUES (\(silence.matchersJSON)::jsonb, \(silence.startsAt.milliseconds), \(silence.endsAt.milliseconds),
                        \(silence.createdBy), \(silence.comment), \(silence.createdAt.milliseconds))
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                stored.id = id
            }
            return stored
        }
    }

    /// The silences' lock is taken, as an expire takes it. An ingest meanwhile waits and
    /// then reads the new end (the same row, still active), so it holds what it held. The
    /// incidents it holds are not touched: the engine finds it still active at the old
    /// end and holds them until the new one.
    public func extendSilence(id: Int64, to end: Silence.End, by: String, comment: String?, now: Timestamp) async throws -> Silence {
        let logger = self.logger
        return try await transaction { db in
            try await Self.lockSilences(db, logger: logger)
            let extended = try await Self.lockedSilence(id, db, logger: logger).extended(to: end, by: by, comment: comment, at: now)
            _ = try await db.query("""
                UPDATE silences SET ends_at = \(extended.endsAt.milliseconds), comment = \(extended.comment), extended_by = \(by)
                WHERE id = \(id)
                """, logger: logger)
            return extended
        }
    }

    static func lockedSilence(_ id: Int64, _ db: PostgresConnection, logger: Logger) async throws -> Silence {
        let found = try await decodeSilences(db.query(
            "SELECT \(unescaped: silenceColumns) FROM silences WHERE id = \(id) FOR UPDATE", logger: logger))
        guard let silence = found.first else { throw StoreError.silenceNotFound(id) }
        return silence
    }

    public func silences(_ query: SilenceQuery) async throws -> [Silence] {
        let logger = self.logger
        return try await withConnection { db in
            try await Self.decodeSilences(db.query("""
                SELECT \(unescaped: Self.silenceColumns) FROM silences
                WHERE \(unescaped: query.status.condition(String(query.now.milliseconds)))
                ORDER BY id DESC LIMIT \(query.limit)
                """, logger: logger))
        }
    }

    public func expireSilence(id: Int64, by: String, now: Timestamp) async throws -> Silence {
        let logger = self.logger
        return try await transaction { db in
            try await Self.lockSilences(db, logger: logger)
            let silence = try await Self.lockedSilence(id, db, logger: logger)
            let expired = try silence.expired(by: by, at: now)
            _ = try await db.query("""
                UPDATE silences SET starts_at = \(expired.startsAt.milliseconds), ends_at = \(expired.endsAt.milliseconds),
                    expired_by = \(by) WHERE id = \(id)
                """, logger: logger)
            // The incidents it held wait for its old end: make them due now, and the engine
            // pages those no other silence still holds. Only held ones are read (a storm's
            // thousands of paging incidents are not locked, nor do merges into them wait),
            // in id order as every other lock on incidents. Locked, and filtered again once
            // read: an engine pass holding one (it read this silence as active) is waited
            // for, and its hold is seen and made due.
            let waiting = try await Self.incidentRows(db, """
                SELECT \(unescaped: Self.incidentColumns) FROM incidents
                WHERE status IN ('triggered', 'acknowledged') AND next_escalation_at > \(now.milliseconds)
                    AND escalation->>'silencedUntil' IS NOT NULL
                ORDER BY id FOR NO KEY UPDATE
                """, logger: logger).filter(\.isHeld)
            let firing = try await Self.firingLabels(db, of: waiting.map(\.id), logger: logger)
            let held = waiting.filter { silence.endingWakes($0, firing: firing[$0.id] ?? [], now: now) }.map(\.id)
            if !held.isEmpty {
                _ = try await db.query("""
                    UPDATE incidents SET next_escalation_at = \(now.milliseconds)
                    WHERE id = ANY(\(held)::bigint[]) AND next_escalation_at > \(now.milliseconds)
                    """, logger: logger)
            }
            return expired
        }
    }

    /// Silences from rows of ``silenceColumns``. One whose stored matchers no longer parse
    /// is left out: it must hold nothing rather than everything.
    static func decodeSilences<Rows: AsyncSequence>(_ rows: Rows) async throws -> [Silence] where Rows.Element == PostgresRow {
        var out: [Silence] = []
        for try await row in rows {
            let (id, matchers, startsAt, endsAt, createdBy, comment, createdAt, expiredBy, extendedBy) =
                try row.decode((Int64, String, Int64, Int64, String, String, Int64, String?, String?).self)
            guard let parsed = Silence.matchers(fromJSON: matchers) else { continue }
            out.append(Silence(id: id, matchers: parsed, startsAt: Timestamp(milliseconds: startsAt),
                               endsAt: Timestamp(milliseconds: endsAt), createdBy: createdBy, comment: comment,
                               createdAt: Timestamp(milliseconds: createdAt), expiredBy: expiredBy, extendedBy: extendedBy))
        }
        return out
    }
}
