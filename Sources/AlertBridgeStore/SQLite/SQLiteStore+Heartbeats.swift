import AlertBridgeCore
import SQLiteNIO

/// Heartbeats: one row each from its first ping, written on the writer.
extension SQLiteStore {
    public func pingHeartbeat(name: String, expiresAt: Timestamp, now: Timestamp) async throws -> HeartbeatState? {
        try await writer.transaction { db in
            let before = try db.heartbeats(where: "name = ?1", [.text(name)]).first
            try db.run("""
                INSERT INTO heartbeats (name, last_ping_at, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (name) DO UPDATE SET last_ping_at = ?2, expires_at = ?3
                """, [.text(name), SQLiteSession.data(now), SQLiteSession.data(expiresAt)])
            return before
        }
    }

    public func heartbeats() async throws -> [HeartbeatState] {
        try await reader.run { db in try db.heartbeats(where: "TRUE", []) }
    }

    public func markHeartbeatFired(name: String, expiresAt: Timestamp) async throws -> Bool {
        try await writer.transaction { db in
            try db.run("UPDATE heartbeats SET fired_for = ?2 WHERE name = ?1 AND expires_at = ?2",
                       [.text(name), SQLiteSession.data(expiresAt)])
            return db.changes == 1
        }
    }

    public func clearHeartbeatFired(name: String, firedFor: Timestamp) async throws {
        try await writer.transaction { db in
            try db.run("UPDATE heartbeats SET fired_for = NULL WHERE name = ?1 AND fired_for = ?2",
                       [.text(name), SQLiteSession.data(firedFor)])
        }
    }
}

extension SQLiteSession {
    func heartbeats(where condition: String, _ binds: [SQLiteData]) throws -> [HeartbeatState] {
        try rows("SELECT name, last_ping_at, expires_at, fired_for FROM heartbeats WHERE \(condition) ORDER BY name", binds).map { row in
            HeartbeatState(name: row.column("name")!.string!, lastPingAt: Self.time(row.column("last_ping_at"))!,
                           expiresAt: Self.time(row.column("expires_at"))!, firedFor: Self.time(row.column("fired_for")))
        }
    }
}
