import AlertBridgeCore
import Logging
import PostgresNIO

/// Heartbeats: one row each from its first ping.
extension PostgresStore {
    public func heartbeats() async throws -> [HeartbeatState] {
        let logger = self.logger
        return try await withConnection { db in
            try await Self.decodeHeartbeats(db.query(
                "SELECT name, last_ping_at, miss_started_at, miss_sent_at FROM heartbeats ORDER BY name", logger: logger))
        }
    }

    public func pingHeartbeat(name: String, at now: Timestamp) async throws -> HeartbeatState? {
        let logger = self.logger
        return try await transaction { db in
            let before = try await Self.decodeHeartbeats(db.query("""
                SELECT name, last_ping_at, miss_started_at, miss_sent_at FROM heartbeats WHERE name = \(name) FOR UPDATE
                """, logger: logger)).first
            _ = try await db.query("""
                INSERT INTO heartbeats (name, last_ping_at) VALUES (\(name), \(now.milliseconds))
                ON CONFLICT (name) DO UPDATE SET last_ping_at = EXCLUDED.last_ping_at
                """, logger: logger)
            return before
        }
    }

    public func beginHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await mark(states, startedAt: now)
    }

    public func endHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await mark(states, sentAt: now)
    }

    /// Sets one miss column to `now` for each state whose `last_ping_at` is still the one read.
    private func mark(_ states: [HeartbeatState], startedAt: Timestamp? = nil, sentAt: Timestamp? = nil) async throws -> Set<String> {
        guard !states.isEmpty else { return [] }
        let logger = self.logger
        return try await transaction { db in
            var marked: Set<String> = []
            for state in states {
                let rows = try await db.query("""
                    UPDATE heartbeats SET miss_started_at = COALESCE(\(startedAt?.milliseconds), miss_started_at),
                                          miss_sent_at = COALESCE(\(sentAt?.milliseconds), miss_sent_at)
                    WHERE name = \(state.name) AND last_ping_at = \(state.lastPingAt.milliseconds) RETURNING name
                    """, logger: logger)
                for try await _ in rows { marked.insert(state.name) }
            }
            return marked
        }
    }

    public func clearHeartbeatMiss(_ state: HeartbeatState) async throws {
        let logger = self.logger
        try await transaction { db in
            _ = try await db.query("""
                UPDATE heartbeats SET miss_started_at = NULL, miss_sent_at = NULL
                WHERE name = \(state.name) AND miss_started_at IS NOT DISTINCT FROM \(state.missStartedAt?.milliseconds)
                  AND miss_sent_at IS NOT DISTINCT FROM \(state.missSentAt?.milliseconds)
                """, logger: logger)
        }
    }

    static func decodeHeartbeats<Rows: AsyncSequence>(_ rows: Rows) async throws -> [HeartbeatState] where Rows.Element == PostgresRow {
        var out: [HeartbeatState] = []
        for try await row in rows {
            let (name, lastPing, started, sent) = try row.decode((String, Int64, Int64?, Int64?).self)
            out.append(HeartbeatState(name: name, lastPingAt: Timestamp(milliseconds: lastPing),
                                      missStartedAt: started.map(Timestamp.init(milliseconds:)),
                                      missSentAt: sent.map(Timestamp.init(milliseconds:))))
        }
        return out
    }
}
