import AlertBridgeCore
import Logging
import PostgresNIO

/// Heartbeats: one row each from its first ping.
extension PostgresStore {
    public func pingHeartbeat(name: String, expiresAt: Timestamp, now: Timestamp) async throws -> HeartbeatState? {
        let logger = self.logger
        return try await transaction { db in
            let before = try await Self.decodeHeartbeats(db.query("""
                SELECT name, last_ping_at, expires_at, fired_for FROM heartbeats WHERE name = \(name) FOR UPDATE
                """, logger: logger)).first
            _ = try await db.query("""
                INSERT INTO heartbeats (name, last_ping_at, expires_at) VALUES (\(name), \(now.milliseconds), \(expiresAt.milliseconds))
                ON CONFLICT (name) DO UPDATE SET last_ping_at = EXCLUDED.last_ping_at, expires_at = EXCLUDED.expires_at
                """, logger: logger)
            return before
        }
    }

    public func heartbeats() async throws -> [HeartbeatState] {
        let logger = self.logger
        return try await withConnection { db in
            try await Self.decodeHeartbeats(db.query(
                "SELECT name, last_ping_at, expires_at, fired_for FROM heartbeats ORDER BY name", logger: logger))
        }
    }

    public func markHeartbeatFired(name: String, expiresAt: Timestamp) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            var marked = false
            for try await _ in try await db.query("""
                UPDATE heartbeats SET fired_for = \(expiresAt.milliseconds)
                WHERE name = \(name) AND expires_at = \(expiresAt.milliseconds) RETURNING name
                """, logger: logger) {
                marked = true
            }
            return marked
        }
    }

    public func clearHeartbeatFired(name: String, firedFor: Timestamp) async throws {
        let logger = self.logger
        try await transaction { db in
            _ = try await db.query(
                "UPDATE heartbeats SET fired_for = NULL WHERE name = \(name) AND fired_for = \(firedFor.milliseconds)",
                logger: logger)
        }
    }

    static func decodeHeartbeats<Rows: AsyncSequence>(_ rows: Rows) async throws -> [HeartbeatState] where Rows.Element == PostgresRow {
        var out: [HeartbeatState] = []
        for try await row in rows {
            let (name, lastPing, expires, fired) = try row.decode((String, Int64, Int64, Int64?).self)
            out.append(HeartbeatState(name: name, lastPingAt: Timestamp(milliseconds: lastPing),
                                      expiresAt: Timestamp(milliseconds: expires), firedFor: fired.map(Timestamp.init(milliseconds:))))
        }
        return out
    }
}
