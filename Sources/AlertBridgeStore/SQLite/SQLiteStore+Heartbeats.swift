import AlertBridgeCore
import SQLiteNIO

/// Heartbeats: one row each from its first ping, written on the writer.
extension SQLiteStore {
    public func heartbeats() async throws -> [HeartbeatState] {
        try await reader.run { db in
            try db.rows("SELECT name, last_ping_at, missed_at FROM heartbeats ORDER BY name").map { row in
                HeartbeatState(name: row.column("name")!.string!, lastPingAt: SQLiteSession.time(row.column("last_ping_at"))!,
                               missedAt: SQLiteSession.time(row.column("missed_at")))
            }
        }
    }

    public func pingHeartbeat(name: String, at now: Timestamp) async throws {
        try await writer.transaction { db in
            try db.run("""
                INSERT INTO heartbeats (name, last_ping_at) VALUES (?1, ?2)
                ON CONFLICT (name) DO UPDATE SET last_ping_at = ?2, missed_at = NULL
                """, [.text(name), SQLiteSession.data(now)])
        }
    }

    public func markHeartbeatsMissed(names: [String], at now: Timestamp) async throws {
        try await writer.transaction { db in
            for name in names {
                try db.run("UPDATE heartbeats SET missed_at = ?2 WHERE name = ?1", [.text(name), SQLiteSession.data(now)])
            }
        }
    }

    public func clearHeartbeatMissed(name: String, missedAt: Timestamp) async throws {
        try await writer.transaction { db in
            try db.run("UPDATE heartbeats SET missed_at = NULL WHERE name = ?1 AND missed_at = ?2",
                       [.text(name), SQLiteSession.data(missedAt)])
        }
    }
}
