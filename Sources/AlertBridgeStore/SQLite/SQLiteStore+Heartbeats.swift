import AlertBridgeCore
import SQLiteNIO

/// Heartbeats: one row each from its first ping, written on the writer.
extension SQLiteStore {
    public func heartbeats() async throws -> [HeartbeatState] {
        try await reader.run { db in try db.heartbeats(where: "TRUE", []) }
    }

    public func pingHeartbeat(name: String, at now: Timestamp) async throws -> HeartbeatState? {
        try await writer.transaction { db in
            let before = try db.heartbeats(where: "name = ?1", [.text(name)]).first
            try db.run("""
                INSERT INTO heartbeats (name, last_ping_at) VALUES (?1, ?2)
                ON CONFLICT (name) DO UPDATE SET last_ping_at = ?2
                """, [.text(name), SQLiteSession.data(now)])
            return before
        }
    }

    public func beginHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await mark(states, column: "miss_started_at", at: now)
    }

    public func endHeartbeatMisses(_ states: [HeartbeatState], at now: Timestamp) async throws -> Set<String> {
        try await mark(states, column: "miss_sent_at", at: now)
    }

    /// Sets `column` to `now` for each state whose `last_ping_at` is still the one read.
    private func mark(_ states: [HeartbeatState], column: String, at now: Timestamp) async throws -> Set<String> {
        guard !states.isEmpty else { return [] }
        return try await writer.transaction { db in
            var marked: Set<String> = []
            for state in states {
                try db.run("UPDATE heartbeats SET \(column) = ?3 WHERE name = ?1 AND last_ping_at = ?2",
                           [.text(state.name), SQLiteSession.data(state.lastPingAt), SQLiteSession.data(now)])
                if db.changes == 1 { marked.insert(state.name) }
            }
            return marked
        }
    }

    public func clearHeartbeatMiss(_ state: HeartbeatState) async throws {
        try await writer.transaction { db in
            try db.run("""
                UPDATE heartbeats SET miss_started_at = NULL, miss_sent_at = NULL
                WHERE name = ?1 AND miss_started_at IS ?2 AND miss_sent_at IS ?3
                """, [.text(state.name), SQLiteSession.data(state.missStartedAt), SQLiteSession.data(state.missSentAt)])
        }
    }
}

extension SQLiteSession {
    func heartbeats(where condition: String, _ binds: [SQLiteData]) throws -> [HeartbeatState] {
        try rows("""
            SELECT name, last_ping_at, miss_started_at, miss_sent_at FROM heartbeats WHERE \(condition) ORDER BY name
            """, binds).map { row in
            HeartbeatState(name: row.column("name")!.string!, lastPingAt: Self.time(row.column("last_ping_at"))!,
                           missStartedAt: Self.time(row.column("miss_started_at")),
                           missSentAt: Self.time(row.column("miss_sent_at")))
        }
    }
}
